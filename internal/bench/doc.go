// Package bench holds cvmtail's benchmark suite (bench_test.go): cvmtail against what
// administrators use today (ssh loops, sed prefixes, clush, parallel-ssh), measured in one
// run against real OpenSSH sshd CVMs on loopback. `make bench` runs it with CVMTAIL_BENCH=1;
// it needs root, like the end-to-end tests. See docs/benchmarks.md.
package bench
