//go:build linux

package main_test

// Prism end to end: the built binary resolves CVMs through the Prism simulator (serving the
// shared fixtures), whose 10.x CVM addresses are rewritten to the loopback sshd CVMs.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// startPrism serves the fixtures' PC (alpha-pe01: 10.20.1.31-33, bravo-pe02: 10.20.2.31)
// with CVM addresses mapped onto the cluster's CVMs, in order.
func startPrism(t *testing.T, cl *sshdcvm.Cluster, hosts []string) (*prismsim.Server, string) {
	t.Helper()
	srv, ca, _ := startPrismSim(t, cl, hosts)
	return srv, ca
}

// startPrismSim is startPrism, with the simulator, for a test that changes the cluster.
func startPrismSim(t *testing.T, cl *sshdcvm.Cluster, hosts []string) (*prismsim.Server, string, *prismsim.Sim) {
	t.Helper()
	mapping := map[string]string{}
	for i, a := range []string{"10.20.1.31", "10.20.1.32", "10.20.1.33", "10.20.2.31"} {
		if i < len(cl.CVMs) {
			mapping[a] = cl.CVMs[i].Addr
		} else {
			mapping[a] = "127.0.0.254" // never dialled in these tests
		}
	}
	sim := prismsim.New(prismsim.Options{Mode: prismsim.PC, RewriteAddress: func(a string) string {
		if m, ok := mapping[a]; ok {
			return m
		}
		return a
	}})
	var srv *prismsim.Server
	if hosts == nil {
		srv, _ = prismsim.StartTLS(t, sim, "127.0.0.1:0")
	} else {
		srv, _ = prismsim.StartTLSFor(t, sim, "127.0.0.1:0", hosts)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(ca, srv.CAPEM, 0o644))
	return srv, ca, sim
}

// sshArgs drops --cvm from the cluster's flags: Prism chooses the CVMs.
func sshArgs(cl *sshdcvm.Cluster) []string {
	a := cl.Args()
	for i := 0; i < len(a); i++ {
		if a[i] == "--cvm" {
			return append(append([]string(nil), a[:i]...), a[i+2:]...)
		}
	}
	return a
}

var prismEnv = []string{"CVMTAIL_PASSWORD=" + prismsim.DefaultPassword}

func TestPrismListCVMsAndTailByCluster(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 3})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", "hello from "+c.Addr+"\n")
	}
	srv, ca := startPrism(t, cl, nil)

	// Several clusters and no --cluster: a usage error that lists them.
	r := startEnv(t, prismEnv, "list-cvms", "--prism", srv.Addr, "--ca-cert", ca)
	if code := r.Wait(20 * time.Second); code != 2 || !strings.Contains(r.Stderr(), "alpha-pe01") || !strings.Contains(r.Stderr(), "bravo-pe02") {
		t.Errorf("exit %d, stderr %q", code, r.Stderr())
	}

	r = startEnv(t, prismEnv, "list-cvms", "--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01", "-o", "address")
	if code := r.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr())
	}
	if got, want := strings.Join(r.Lines(), ""), strings.Join(cl.Addrs(), "\n")+"\n"; got != want {
		t.Errorf("list-cvms -o address:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(r.Stderr(), "compute-only") {
		t.Errorf("no note about the compute-only host: %q", r.Stderr())
	}

	r = startEnv(t, prismEnv, append([]string{"tail", "genesis", "--no-follow", "--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01"}, sshArgs(cl)...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr())
	}
	out := strings.Join(r.Lines(), "")
	for _, c := range cl.CVMs {
		// The CVM's name from Prism, not its address, prefixes its lines.
		if !strings.Contains(out, "-CVM genesis hello from "+c.Addr+"\n") {
			t.Errorf("no line of %s named by Prism in:\n%s", c.Addr, out)
		}
	}

	// --cvm with --prism narrows to one CVM, matched by IP.
	r = startEnv(t, prismEnv, append([]string{"tail", "genesis", "--no-follow", "--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01", "--cvm", cl.CVMs[1].Addr}, sshArgs(cl)...)...)
	if code := r.Wait(30 * time.Second); code != 0 || len(r.Lines()) != 1 || !strings.Contains(r.Lines()[0], cl.CVMs[1].Addr) {
		t.Errorf("exit %d, lines %q, stderr %s", code, r.Lines(), r.Stderr())
	}
}

func TestPrismErrorsTellWhatToDo(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	srv, ca := startPrism(t, cl, nil)
	wrongName, wrongCA := startPrism(t, cl, []string{"prism.example.com"})
	const password = "Wr0ng-But-Secret"
	tests := []struct {
		name   string
		env    []string
		args   []string
		status int
		stderr []string
	}{
		{"wrong password", []string{"CVMTAIL_PASSWORD=" + password}, []string{"list-cvms", "--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01"}, 3,
			[]string{"401", "cvmtail: hint:"}},
		{"unverified certificate", prismEnv, []string{"list-cvms", "--prism", srv.Addr, "--cluster", "alpha-pe01"}, 3,
			[]string{"--ca-cert", "--insecure"}},
		{"certificate for another name", prismEnv, []string{"list-cvms", "--prism", wrongName.Addr, "--ca-cert", wrongCA, "--cluster", "alpha-pe01"}, 3,
			[]string{"certificate", "cvmtail: hint:"}},
		{"unreachable prism", prismEnv, []string{"list-cvms", "--prism", "127.0.0.1:1", "--ca-cert", ca}, 3,
			[]string{"127.0.0.1:1"}},
		{"insecure warns", prismEnv, []string{"list-cvms", "--prism", srv.Addr, "--insecure", "--cluster", "alpha-pe01"}, 0,
			[]string{"warning"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := startEnv(t, tc.env, tc.args...)
			code := r.Wait(60 * time.Second)
			if code != tc.status {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.status, r.Stderr())
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.Stderr(), w) {
					t.Errorf("stderr lacks %q: %s", w, r.Stderr())
				}
			}
			if strings.Contains(r.Stderr()+strings.Join(r.Lines(), ""), password) {
				t.Error("the password was printed")
			}
		})
	}
}
