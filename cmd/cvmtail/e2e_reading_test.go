//go:build linux

package main_test

// End-to-end tests of the reading flags (--grep, --exclude, --level, --since, --template,
// --log-time, --merge-window) against real sshd CVMs.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

func TestE2EGrepExcludeLevelTemplate(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	for i, c := range cl.CVMs {
		c.Write(t, "stargate.INFO", fmt.Sprintf(`I1122 10:00:00.000000 1 a.cc:1] heartbeat ok cvm%d
E1122 10:00:01.000000 1 a.cc:2] vdisk 17 op failed cvm%d
  continuation of the failure
W1122 10:00:02.000000 1 a.cc:3] heartbeat slow cvm%d
I1122 10:00:03.000000 1 a.cc:4] vdisk 18 ok cvm%d
F1122 10:00:04.000000 1 a.cc:5] Check failed cvm%d
`, i, i, i, i, i))
	}
	cases := []struct {
		name string
		args []string
		want func(cvm int) []string
	}{
		{"grep and exclude", []string{"--grep", `vdisk \d+`, "--grep", "heartbeat", "--exclude", "ok cvm"},
			func(i int) []string {
				return []string{fmt.Sprintf("E1122 10:00:01.000000 1 a.cc:2] vdisk 17 op failed cvm%d", i),
					fmt.Sprintf("W1122 10:00:02.000000 1 a.cc:3] heartbeat slow cvm%d", i)}
			}},
		{"level", []string{"--level", "error"},
			func(i int) []string {
				return []string{fmt.Sprintf("E1122 10:00:01.000000 1 a.cc:2] vdisk 17 op failed cvm%d", i),
					"  continuation of the failure",
					fmt.Sprintf("F1122 10:00:04.000000 1 a.cc:5] Check failed cvm%d", i)}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, append(append([]string{"tail", "stargate.INFO", "-n", "100", "--no-follow", "-o", "raw"}, tc.args...), cl.Args()...)...)
			if code := r.Wait(30 * time.Second); code != 0 {
				t.Fatalf("status %d; stderr:\n%s", code, r.Stderr())
			}
			// raw output interleaves the CVMs: every expected line must be there, and nothing else.
			n := 0
			for i := range cl.CVMs {
				for _, l := range tc.want(i) {
					n++
					if !contains(r.Lines(), l+"\n") {
						t.Errorf("missing %q in %q", l, r.Lines())
					}
				}
			}
			if len(r.Lines()) != n {
				t.Errorf("%d lines, want %d: %q", len(r.Lines()), n, r.Lines())
			}
		})
	}

	t.Run("template and log time in json", func(t *testing.T) {
		r := start(t, append([]string{"tail", "stargate.INFO", "-n", "100", "--no-follow", "--level", "F",
			"--template", `{{upper .log}}|{{.cvm}}|{{.log_time}}|{{.line}}`}, cl.Args()...)...)
		if code := r.Wait(30 * time.Second); code != 0 {
			t.Fatalf("status %d; stderr:\n%s", code, r.Stderr())
		}
		year := time.Now().UTC().Year()
		if time.Now().UTC().Before(time.Date(year, 11, 22, 10, 0, 4, 0, time.UTC).Add(-24 * time.Hour)) {
			year--
		}
		for _, c := range cl.CVMs {
			want := fmt.Sprintf("STARGATE.INFO|%s|%d-11-22T10:00:04.000Z|F1122 10:00:04.000000 1 a.cc:5] Check failed cvm%d\n", c.Addr, year, c.Index)
			if !contains(r.Lines(), want) {
				t.Errorf("missing %q in %q", want, r.Lines())
			}
		}
		r = start(t, append([]string{"tail", "stargate.INFO", "-n", "100", "--no-follow", "--grep", "Check", "-o", "json", "--log-time"}, cl.Args()...)...)
		if code := r.Wait(30 * time.Second); code != 0 {
			t.Fatalf("status %d; stderr:\n%s", code, r.Stderr())
		}
		if len(r.Lines()) != 2 {
			t.Fatalf("lines %q", r.Lines())
		}
		for _, l := range r.Lines() {
			var v map[string]string
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatal(err)
			}
			if v["log_time"] != fmt.Sprintf("%d-11-22T10:00:04.000Z", year) || v["log"] != "stargate.INFO" || !strings.HasPrefix(v["line"], "F1122") {
				t.Errorf("json %v", v)
			}
		}
	})
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestE2ESinceOnAGibibyteFile starts --since-time in a 1 GiB file and checks that the agent
// read only a sliver of it: /proc/<agent>/io's rchar, while it follows the file afterwards.
func TestE2ESinceOnAGibibyteFile(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "")
	const (
		blockSize = 1 << 20
		blocks    = 1024 // 1 GiB: one second of log per MiB
		from      = 1000 // start here: the last 24 MiB
	)
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	line := []byte("2026-11-20 00:00:00,000Z INFO node_manager.py:1234 " + strings.Repeat("x", 128-52-1) + "\n")
	block := make([]byte, 0, blockSize)
	for len(block)+len(line) <= blockSize {
		block = append(block, line...)
	}
	linesPerBlock := len(block) / len(line)
	began := time.Now()
	f, err := os.OpenFile(c.Path("genesis.out"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 4<<20)
	for i := 0; i < blocks; i++ {
		stamp := base.Add(time.Duration(i) * time.Second).Format("2006-01-02 15:04:05")
		for off := 0; off < len(block); off += len(line) {
			copy(block[off:], stamp)
		}
		if _, err := w.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote 1 GiB in %v", time.Since(began))

	since := base.Add(from*time.Second - 500*time.Millisecond).Format(time.RFC3339Nano)
	began = time.Now()
	r := start(t, append([]string{"tail", "genesis", "--since-time", since, "-o", "raw"}, cl.Args()...)...)
	wantLines := (blocks - from) * linesPerBlock
	r.WaitLines("the lines since "+since, 60*time.Second, func(l []string) bool { return len(l) >= wantLines })
	t.Logf("%d lines since %s in %v", wantLines, since, time.Since(began))

	// The agent is still following: its read count says how much of the file it touched.
	var agentRead int64 = -1
	procs, err := c.UserProcesses()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if !strings.Contains(p.Cmdline, "cvmtail remote agent") || !strings.Contains(p.Cmdline, "python") {
			continue
		}
		io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.PID))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(io), "\n") {
			if v, ok := strings.CutPrefix(l, "rchar: "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				agentRead = max(agentRead, n)
			}
		}
	}
	if agentRead < 0 {
		t.Fatalf("no agent process found among %v", procs)
	}
	t.Logf("the agent read %d bytes of a %d-byte file", agentRead, blocks*len(block))
	if agentRead > 96<<20 {
		t.Errorf("the agent read %d MiB to start near the end of a 1 GiB file", agentRead>>20)
	}

	c.Append(t, "genesis.out", "2026-11-20 00:20:00,000Z INFO after the backlog\n")
	r.WaitLines("the followed line", 10*time.Second, func(l []string) bool { return len(l) >= wantLines+1 })
	lines := r.Lines()
	wantFirst := base.Add(from*time.Second).Format("2006-01-02 15:04:05") + ",000Z INFO"
	if len(lines) != wantLines+1 || !strings.HasPrefix(lines[0], wantFirst) || lines[wantLines] != "2026-11-20 00:20:00,000Z INFO after the backlog\n" {
		t.Errorf("%d lines, first %.40q, last %q; want %d, %q..., the appended line", len(lines), lines[0], lines[len(lines)-1], wantLines+1, wantFirst)
	}
	if err := r.Cmd().Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := r.Wait(3 * time.Second); code != 130 {
		t.Errorf("exit status %d after SIGINT, want 130", code)
	}
	noLeftovers(t, cl)
}

// TestE2EMergeWindowOrdersFourCVMs writes events of one global sequence to four CVMs, each
// batch CVM by CVM in a rotating order (so arrival order is not the global order), and
// expects --merge-window to print them in the global order, records whole.
func TestE2EMergeWindowOrdersFourCVMs(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 4})
	for _, c := range cl.CVMs {
		c.Write(t, "acropolis.out", "")
	}
	r := start(t, append([]string{"tail", "acropolis", "-n", "0", "--merge-window", "3s"}, cl.Args()...)...)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	// With -n 0 a line written before a stream opened its file is not shown: write a marker to
	// every CVM until each one has come through, then start the sequence.
	marker := base.Add(-time.Minute).Format("2006-01-02 15:04:05") + ",000Z INFO ready"
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := map[string]bool{}
		for _, l := range r.Lines() {
			if f := strings.Fields(l); len(f) > 0 && strings.HasSuffix(l, " ready\n") {
				seen[f[0]] = true
			}
		}
		if len(seen) == len(cl.CVMs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every stream is following: %v; stderr:\n%s", seen, r.Stderr())
		}
		for _, c := range cl.CVMs {
			if !seen[c.Addr] {
				c.Append(t, "acropolis.out", marker+"\n")
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	events := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if !strings.HasSuffix(l, " ready\n") { // markers sent while others were held
				out = append(out, strings.TrimSuffix(l, "\n"))
			}
		}
		return out
	}
	const batches, perBatch = 8, 24
	var want []string
	seq := 0
	for b := 0; b < batches; b++ {
		var perCVM [4][]string
		for k := 0; k < perBatch; k++ {
			ci := (seq*7 + seq/3) % 4
			stamp := base.Add(time.Duration(seq) * 10 * time.Millisecond).Format("2006-01-02 15:04:05.000")
			rec := fmt.Sprintf("%sZ ERROR event %d", strings.Replace(stamp, ".", ",", 1), seq)
			perCVM[ci] = append(perCVM[ci], rec, fmt.Sprintf("  traceback %d", seq))
			want = append(want, cl.CVMs[ci].Addr+" acropolis "+rec, cl.CVMs[ci].Addr+" acropolis   traceback "+strconv.Itoa(seq))
			seq++
		}
		for k := 0; k < 4; k++ {
			ci := (b + k) % 4
			if len(perCVM[ci]) > 0 {
				cl.CVMs[ci].Append(t, "acropolis.out", strings.Join(perCVM[ci], "\n")+"\n")
			}
			time.Sleep(40 * time.Millisecond)
		}
	}
	r.WaitLines("every event", 30*time.Second, func(l []string) bool { return len(events(l)) >= len(want) })
	if err := r.Cmd().Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r.Wait(3 * time.Second)
	got := events(r.Lines())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		for i := range want {
			if i >= len(got) || got[i] != want[i] {
				t.Fatalf("line %d: got %q, want %q (of %d lines)", i, got[min(i, len(got)-1)], want[i], len(want))
			}
		}
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	noLeftovers(t, cl)
}
