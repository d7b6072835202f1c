//go:build linux

package main_test

// The fault-injection suite: each fault (sshd killed or frozen, rotation while connected or
// not, a burst, a stalled reader) asserts the exact lines delivered (count, order, no
// duplicates) and that nothing is left running on the CVMs. Each logs a "FAULT |" row:
// go test -v -run Fault ./cmd/cvmtail | grep 'FAULT |' prints the table.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// seq returns lines "L<from>" .. "L<to>", each with a newline.
func seq(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "L%d\n", i)
	}
	return b.String()
}

// numbers extracts the sequence numbers of "<...> L<n>" lines of one stream (prefix).
func numbers(t *testing.T, lines []string, prefix string) []int {
	t.Helper()
	var out []int
	for _, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(l, prefix))
		if len(f) != 1 || !strings.HasPrefix(f[0], "L") {
			t.Fatalf("unexpected line %q", l)
		}
		n, err := strconv.Atoi(f[0][1:])
		if err != nil {
			t.Fatalf("unexpected line %q", l)
		}
		out = append(out, n)
	}
	return out
}

// exactly asserts that got is want..., reporting the first gap, repeat or reordering.
func exactly(t *testing.T, what string, got []int, want []int) {
	t.Helper()
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d is L%d, want L%d (lost, repeated or reordered); got %d lines", what, i+1, got[i], want[i], len(got))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, want %d", what, len(got), len(want))
	}
}

// table logs one row of the fault table: expected and delivered lines, duplicates, and
// how long recovery took (0 when there was nothing to recover from).
func table(t *testing.T, fault string, got, want []int, recovered time.Duration) {
	t.Helper()
	seen := map[int]bool{}
	dups := 0
	for _, n := range got {
		if seen[n] {
			dups++
		}
		seen[n] = true
	}
	rec := "-"
	if recovered > 0 {
		rec = recovered.Round(10 * time.Millisecond).String()
	}
	t.Logf("FAULT | %s | %d | %d | %d | %s |", fault, len(want), len(got), dups, rec)
}

func span(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestFaultSSHDKilledAndRestarted(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", seq(1, 50))
	cl.CVMs[1].Write(t, "genesis.out", seq(1, 5))
	r := start(t, append([]string{"tail", "genesis", "-n", "1000"}, cl.Args()...)...)
	prefix := c.Addr + " genesis "
	have := func(n int) func([]string) bool {
		return func(l []string) bool { return len(numbers(t, l, prefix)) >= n }
	}
	r.WaitLines("backlog", 20*time.Second, have(50))

	c.Kill(t)
	killed := time.Now()
	c.Append(t, "genesis.out", seq(51, 100))
	// cvmtail sees the loss before sshd is back (one "connection lost" line), and the CVM
	// stays down for the 1.5 s this fault is about.
	waitStderr(t, r, "the lost connection", 20*time.Second, c.Addr+": connection lost", 1)
	time.Sleep(time.Until(killed.Add(1500 * time.Millisecond)))
	c.Restart(t)
	restarted := time.Now()
	c.Append(t, "genesis.out", seq(101, 150))
	r.WaitLines("lines after the restart", 60*time.Second, have(150))
	recovered := time.Since(restarted)
	cl.CVMs[1].Append(t, "genesis.out", seq(6, 7))
	r.WaitLines("the other CVM", 10*time.Second, func(l []string) bool { return len(numbers(t, l, cl.CVMs[1].Addr+" genesis ")) >= 7 })
	_ = r.Cmd().Process.Signal(os.Interrupt)
	if code := r.Wait(3 * time.Second); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	table(t, "sshd killed mid-stream, restarted 1.5 s later", numbers(t, r.Lines(), prefix), span(1, 150), recovered)
	exactly(t, "killed CVM", numbers(t, r.Lines(), prefix), span(1, 150))
	exactly(t, "healthy CVM", numbers(t, r.Lines(), cl.CVMs[1].Addr+" genesis "), span(1, 7))
	stderr := r.Stderr()
	if strings.Count(stderr, c.Addr+": connection lost") != 1 || strings.Count(stderr, c.Addr+": reconnected") != 1 {
		t.Errorf("want one 'connection lost' and one 'reconnected' line, got:\n%s", stderr)
	}
	t.Logf("recovered %v after sshd came back", recovered)
	noLeftovers(t, cl)
}

func TestFaultFrozenCVMIsDeclaredDeadWithin30s(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 30 s")
	}
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", seq(1, 10))
	r := start(t, append([]string{"tail", "genesis"}, cl.Args()...)...) // default keepalives
	prefix := c.Addr + " genesis "
	r.WaitLines("backlog", 20*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= 10 })

	c.Stop(t)
	frozen := time.Now()
	c.Append(t, "genesis.out", seq(11, 20))
	r.WaitLines("lost connection", 35*time.Second, func([]string) bool {
		return strings.Contains(r.Stderr(), "connection lost")
	})
	detected := time.Since(frozen)
	if detected > 30*time.Second {
		t.Errorf("a frozen CVM was declared dead after %v, want within 30 s", detected)
	}
	c.Cont(t)
	thawed := time.Now()
	c.Append(t, "genesis.out", seq(21, 30))
	r.WaitLines("resumed", 60*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= 30 })
	table(t, fmt.Sprintf("sshd frozen (SIGSTOP), declared dead after %s, thawed", detected.Round(100*time.Millisecond)), numbers(t, r.Lines(), prefix), span(1, 30), time.Since(thawed))
	_ = r.Cmd().Process.Signal(os.Interrupt)
	r.Wait(3 * time.Second)
	exactly(t, "frozen CVM", numbers(t, r.Lines(), prefix), span(1, 30))
	t.Logf("declared dead after %v", detected)
	noLeftovers(t, cl)
}

func TestFaultRotationWhileDisconnected(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	tests := []struct {
		name     string
		log      string // catalog name
		file     string // what the log name points at on the CVM
		followed string // the name the log follows, in the log directory
		setup    func(t *testing.T)
		rotate   func(t *testing.T) // while sshd is down, after L21-25 were appended
		want     []int
		notice   string
	}{
		{
			name: "rename", log: "genesis", file: "genesis.out", followed: "genesis.out",
			rotate: func(t *testing.T) {
				must(t, os.Rename(c.Path("genesis.out"), c.Path("genesis.out.20261122-100000")))
				c.Write(t, "genesis.out", seq(26, 30))
			},
			want: span(1, 30),
		},
		{
			name: "glog symlink switch", log: "stargate.INFO", file: "stargate.a.log.INFO.1", followed: "stargate.INFO",
			setup: func(t *testing.T) {
				must(t, os.Symlink("stargate.a.log.INFO.1", c.Path("stargate.INFO")))
			},
			rotate: func(t *testing.T) {
				c.Write(t, "stargate.a.log.INFO.2", seq(26, 30))
				must(t, os.Symlink("stargate.a.log.INFO.2", c.Path("stargate.INFO.tmp")))
				must(t, os.Rename(c.Path("stargate.INFO.tmp"), c.Path("stargate.INFO")))
			},
			want: span(1, 30),
		},
		{
			name: "copy and truncate", log: "acropolis", file: "acropolis.out", followed: "acropolis.out",
			rotate: func(t *testing.T) {
				data, err := os.ReadFile(c.Path("acropolis.out"))
				must(t, err)
				must(t, os.WriteFile(c.Path("acropolis.out.1"), data, 0o644))
				must(t, os.Truncate(c.Path("acropolis.out"), 0))
				c.Append(t, "acropolis.out", seq(26, 30))
			},
			// What was appended while away went to the copy: said on stderr, not hidden.
			want: append(span(1, 20), span(26, 30)...), notice: "truncated",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.Write(t, tc.file, seq(1, 20))
			if tc.setup != nil {
				tc.setup(t)
			}
			r := start(t, append([]string{"tail", tc.log, "-n", "100"}, cl.Args()...)...)
			prefix := c.Addr + " " + tc.log + " "
			r.WaitLines("backlog", 20*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= 20 })
			c.Kill(t)
			c.Append(t, tc.file, seq(21, 25))
			tc.rotate(t)
			c.Restart(t)
			restarted := time.Now()
			r.WaitLines("after reconnect", 60*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= len(tc.want) })
			recovered := time.Since(restarted)
			// A line repeated or delivered late would come before a marker appended now.
			c.Append(t, tc.followed, seq(31, 31))
			want := append(append([]int(nil), tc.want...), 31)
			r.WaitLines("the marker line", 10*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= len(want) })
			_ = r.Cmd().Process.Signal(os.Interrupt)
			r.Wait(3 * time.Second)
			table(t, tc.name+" while disconnected", numbers(t, r.Lines(), prefix), want, recovered)
			exactly(t, tc.name, numbers(t, r.Lines(), prefix), want)
			if tc.notice != "" && !strings.Contains(r.Stderr(), tc.notice) {
				t.Errorf("stderr lacks %q:\n%s", tc.notice, r.Stderr())
			}
			noLeftovers(t, cl)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFaultRotationWhileConnectedAndRecreate(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", seq(1, 10))
	r := start(t, append([]string{"tail", "genesis", "-n", "100"}, cl.Args()...)...)
	prefix := c.Addr + " genesis "
	have := func(n int) func([]string) bool {
		return func(l []string) bool { return len(numbers(t, l, prefix)) >= n }
	}
	r.WaitLines("backlog", 20*time.Second, have(10))
	// Rename rotation while connected, with a last write to the old file.
	c.Append(t, "genesis.out", seq(11, 12))
	must(t, os.Rename(c.Path("genesis.out"), c.Path("genesis.out.1")))
	c.Append(t, "genesis.out.1", seq(13, 13))
	c.Write(t, "genesis.out", seq(14, 15))
	r.WaitLines("rename", 10*time.Second, have(15))
	// Copy and truncate while connected, refilled to the size it had (L14-15, L16-17): only
	// a refill after cvmtail saw the truncation can be told from no change at all.
	must(t, os.Truncate(c.Path("genesis.out"), 0))
	waitStderr(t, r, "the truncation notice", 10*time.Second, "genesis: file truncated", 1)
	c.Append(t, "genesis.out", seq(16, 17))
	r.WaitLines("truncate", 10*time.Second, have(17))
	// Delete, and recreate once cvmtail has said the file is gone.
	must(t, os.Remove(c.Path("genesis.out")))
	waitStderr(t, r, "the notice that the file is gone", 10*time.Second, "genesis: file disappeared", 1)
	c.Write(t, "genesis.out", seq(18, 20))
	r.WaitLines("recreate", 10*time.Second, have(20))
	// A line repeated or delivered late would come before a marker appended now.
	c.Append(t, "genesis.out", seq(21, 21))
	r.WaitLines("the marker line", 10*time.Second, have(21))
	_ = r.Cmd().Process.Signal(os.Interrupt)
	r.Wait(3 * time.Second)
	table(t, "rename, truncate, delete and recreate while connected", numbers(t, r.Lines(), prefix), span(1, 21), 0)
	exactly(t, "while connected", numbers(t, r.Lines(), prefix), span(1, 21))
	noLeftovers(t, cl)
}

func TestFaultBurstOfAMillionLines(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	// L0 is the backlog: once it is out, the stream follows the file and the burst comes
	// after it.
	c.Write(t, "genesis.out", seq(0, 0))
	r := start(t, append([]string{"tail", "genesis", "-o", "raw"}, cl.Args()...)...)
	r.WaitLines("the backlog", 20*time.Second, func(l []string) bool { return len(l) >= 1 })
	const n = 1_000_000
	c.Append(t, "genesis.out", seq(1, n))
	r.WaitLines("a million lines", 120*time.Second, func(l []string) bool { return len(l) >= n+1 })
	// A line repeated or delivered late would come before a marker appended now.
	c.Append(t, "genesis.out", seq(n+1, n+1))
	r.WaitLines("the marker line", 20*time.Second, func(l []string) bool { return len(l) >= n+2 })
	_ = r.Cmd().Process.Signal(os.Interrupt)
	r.Wait(3 * time.Second)
	table(t, "burst of a million lines", numbers(t, r.Lines(), ""), span(0, n+1), 0)
	exactly(t, "burst", numbers(t, r.Lines(), ""), span(0, n+1))
	noLeftovers(t, cl)
}

func TestFaultStalledReaderLosesNothingAndStaysBounded(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	pad := strings.Repeat("p", 120)
	c.Write(t, "genesis.out", fmt.Sprintf("L0 %s\n", pad))
	pr, pw, err := os.Pipe()
	must(t, err)
	cmd := exec.Command(binary, append([]string{"tail", "genesis", "-o", "raw"}, cl.Args()...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SSH_AUTH_SOCK=")
	cmd.Stdout = pw
	var stderr strings.Builder
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	pw.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The backlog line L0: once it is read, the stream follows the file.
	br := bufio.NewReaderSize(pr, 1<<20)
	readLine := make(chan error, 1)
	go func() {
		line, err := br.ReadString('\n')
		if err == nil && line != fmt.Sprintf("L0 %s\n", pad) {
			err = fmt.Errorf("first line %.30q, want L0", line)
		}
		readLine <- err
	}()
	select {
	case err := <-readLine:
		must(t, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("no backlog line after 20 s; stderr %s", stderr.String())
	}

	// Nobody reads stdout for 10 s while the CVM writes 300k lines (about 40 MB).
	var b strings.Builder
	for i := 1; i <= 300_000; i++ {
		fmt.Fprintf(&b, "L%d %s\n", i, pad)
	}
	c.Append(t, "genesis.out", b.String())
	time.Sleep(10 * time.Second)
	rss := peakRSS(t, cmd.Process.Pid)

	next := 1
	for next <= 300_000 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after L%d: %v; stderr %s", next-1, err, stderr.String())
		}
		if want := fmt.Sprintf("L%d %s\n", next, pad); line != want {
			t.Fatalf("line %d is %.30q", next, line)
		}
		next++
	}
	t.Logf("FAULT | reader stalled 10 s while 300000 lines waited (peak RSS %d MiB) | 300000 | %d | 0 | - |", rss>>20, next-1)
	_ = cmd.Process.Signal(os.Interrupt)
	go func() { _, _ = io.Copy(io.Discard, br) }()
	_ = cmd.Wait()
	// The bound: one stream's credit window (256 KiB) plus the output queue, far below what
	// was written. Leave room for the Go runtime and the race detector.
	if rss > 120<<20 {
		t.Errorf("peak RSS %d MiB while the reader stalled", rss>>20)
	}
	t.Logf("peak RSS %d MiB while 40 MB waited", rss>>20)
	noLeftovers(t, cl)
}

// peakRSS reads VmHWM of a process.
func peakRSS(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func TestSecurityTerminalEscapesAreShownEscaped(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not installed: no pseudo-terminal to test with")
	}
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "before \x1b]0;pwned\x07\x1b[2J\x1b[31mred\r\x9b end\n")
	args := append([]string{"tail", "genesis", "--no-follow"}, cl.Args()...)
	// Without colour, so that any escape sequence in the output came from the log line.
	cmdline := binary + " " + strings.Join(quoteAll(append(args, "--color", "never")), " ")
	out, err := exec.Command(script, "-qfec", cmdline, "/dev/null").Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	shown := strings.ReplaceAll(string(out), "\r\n", "\n")
	for _, c := range []string{"\x1b", "\x07", "\x9b", "\r"} { // bytes, not runes: 0x9b alone is no UTF-8
		if strings.Contains(shown, c) {
			t.Errorf("control character %q reached the terminal: %q", c, out)
		}
	}
	if !strings.Contains(string(out), `before \x1b]0;pwned\x07\x1b[2J\x1b[31mred\x0d\x9b end`) {
		t.Errorf("escaped line not shown: %q", out)
	}
	// Into a pipe the bytes pass unchanged.
	r := start(t, append(args, "-o", "raw")...)
	r.Wait(20 * time.Second)
	if got := strings.Join(r.Lines(), ""); got != "before \x1b]0;pwned\x07\x1b[2J\x1b[31mred\r\x9b end\n" {
		t.Errorf("pipe output changed: %q", got)
	}
}

func TestSecurityChangedHostKeyRefusedEvenWithAcceptNew(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "x\n")
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	pub, _ := os.ReadFile(other + ".pub")
	f := strings.Fields(string(pub))
	kh := filepath.Join(dir, "known_hosts")
	must(t, os.WriteFile(kh, []byte(fmt.Sprintf("[%s]:%d %s %s\n", c.Addr, cl.Port, f[0], f[1])), 0o600))
	before, _ := os.ReadFile(kh)
	for _, policy := range []string{"strict", "accept-new"} {
		args := append([]string{"tail", "genesis", "--no-follow"}, cl.Args()...)
		for i := range args {
			if args[i] == "--known-hosts" {
				args[i+1] = kh
			}
		}
		r := start(t, append(args, "--host-key-check", policy)...)
		if code := r.Wait(20 * time.Second); code != 3 {
			t.Errorf("%s: exit %d, want 3", policy, code)
		}
		if !strings.Contains(r.Stderr(), "CHANGED") || !strings.Contains(r.Stderr(), "cvmtail: hint:") || len(r.Lines()) != 0 {
			t.Errorf("%s: stdout %q stderr %q", policy, r.Lines(), r.Stderr())
		}
	}
	if after, _ := os.ReadFile(kh); string(after) != string(before) {
		t.Errorf("known_hosts was changed: %q", after)
	}
}

func TestSecurityNoSecretInOutputOrArguments(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "x\n")
	key, err := os.ReadFile(cl.KeyFile)
	must(t, err)
	keyBody := strings.Split(string(key), "\n")[1] // a line of the private key's base64
	const password = "S3cret-Pa55-Do-Not-Print"
	r := startEnv(t, []string{"CVMTAIL_PASSWORD=" + password}, append([]string{"tail", "genesis"}, cl.Args()...)...)
	r.WaitLines("a line", 20*time.Second, func(l []string) bool { return len(l) == 1 })
	procs, err := c.UserProcesses()
	must(t, err)
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", r.Cmd().Process.Pid))
	_ = r.Cmd().Process.Signal(syscall.SIGTERM)
	r.Wait(3 * time.Second)
	everything := strings.Join(r.Lines(), "") + r.Stderr() + string(cmdline)
	for _, p := range procs {
		everything += p.Cmdline
	}
	for _, secret := range []string{password, keyBody, "PRIVATE KEY"} {
		if strings.Contains(everything, secret) {
			t.Errorf("%q appears in output, errors or process arguments", secret)
		}
	}
	if len(procs) == 0 {
		t.Error("no remote process seen: the test proves nothing")
	}
}

// TestFaultRollingRestart is an AOS upgrade as cvmtail sees it: the CVMs go down one after
// the other (sshd killed for a few seconds) while every CVM's log keeps being written, and
// one is rotated while its CVM is down. tail starts while the first is down, as one started
// during an upgrade does. Every line of every file arrives exactly once, in order.
func TestFaultRollingRestart(t *testing.T) {
	const down = 3 * time.Second
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 4})
	const rotating = 2 // the CVM whose log is rotated while it is down
	var (
		mu      sync.Mutex
		written = make([]int, len(cl.CVMs)) // the last line number written to each CVM
	)
	for i, c := range cl.CVMs {
		c.Write(t, "genesis.out", seq(1, 20))
		written[i] = 20
	}
	cl.CVMs[0].Kill(t) // the upgrade has begun
	r := start(t, append([]string{"tail", "genesis", "-n", "all"}, cl.Args()...)...)
	prefix := func(c *sshdcvm.CVM) string { return c.Addr + " genesis " }
	upTo := func(i, n int) func([]string) bool {
		return func(l []string) bool { return len(numbers(t, l, prefix(cl.CVMs[i]))) >= n }
	}
	for i := range cl.CVMs[1:] {
		r.WaitLines("backlog", 20*time.Second, upTo(i+1, 20))
	}
	waitStderr(t, r, "the CVM down at start", 20*time.Second, cl.CVMs[0].Addr+": unreachable (", 1)

	// The logs keep being written, on every CVM, down or not.
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				writerDone <- nil
				return
			case <-tick.C:
			}
			mu.Lock()
			for i, c := range cl.CVMs {
				if err := appendLine(c.Path("genesis.out"), written[i]+1); err != nil {
					mu.Unlock()
					writerDone <- err
					return
				}
				written[i]++
			}
			mu.Unlock()
		}
	}()
	lastWritten := func(i int) int {
		mu.Lock()
		defer mu.Unlock()
		return written[i]
	}

	var slowest time.Duration
	for i, c := range cl.CVMs {
		killed := time.Now()
		if i > 0 {
			c.Kill(t)
			waitStderr(t, r, "the lost connection", 20*time.Second, c.Addr+": connection lost", 1)
		}
		if i == rotating {
			time.Sleep(down / 2)
			mu.Lock()
			must(t, os.Rename(c.Path("genesis.out"), c.Path("genesis.out.20261202-010000")))
			c.Write(t, "genesis.out", "")
			mu.Unlock()
		}
		time.Sleep(time.Until(killed.Add(down)))
		c.Restart(t)
		restarted := time.Now()
		// Back once every line written before the restart has arrived.
		r.WaitLines("the CVM back after its restart", 60*time.Second, upTo(i, lastWritten(i)))
		slowest = max(slowest, time.Since(restarted))
	}
	close(stop)
	must(t, <-writerDone)
	// A line repeated or delivered late would come before a marker appended now.
	want := make([][]int, len(cl.CVMs))
	for i, c := range cl.CVMs {
		n := lastWritten(i) + 1
		c.Append(t, "genesis.out", seq(n, n))
		want[i] = span(1, n)
	}
	for i := range cl.CVMs {
		r.WaitLines("the marker lines", 20*time.Second, upTo(i, len(want[i])))
	}
	_ = r.Cmd().Process.Signal(os.Interrupt)
	if code := r.Wait(3 * time.Second); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	var got, wantAll []int
	for i, c := range cl.CVMs {
		// Each CVM's numbers, offset so that one table row counts duplicates across all.
		for _, n := range numbers(t, r.Lines(), prefix(c)) {
			got = append(got, i*1_000_000+n)
		}
		for _, n := range want[i] {
			wantAll = append(wantAll, i*1_000_000+n)
		}
	}
	table(t, fmt.Sprintf("rolling restart: 4 CVMs, sshd of each down %s in turn (the first at start) while written, one rotated while down", down), got, wantAll, slowest)
	stderr := r.Stderr()
	for i, c := range cl.CVMs {
		exactly(t, c.Addr, numbers(t, r.Lines(), prefix(c)), want[i])
		downLine, backLine := c.Addr+": connection lost", c.Addr+": reconnected"
		if i == 0 {
			downLine, backLine = c.Addr+": unreachable (", c.Addr+": reached"
		}
		if strings.Count(stderr, downLine) != 1 || strings.Count(stderr, backLine) != 1 {
			t.Errorf("%s: want one %q and one %q line, got:\n%s", c.Addr, downLine, backLine, stderr)
		}
	}
	if strings.Contains(stderr, "missing") || strings.Contains(stderr, "failed") {
		t.Errorf("stderr says lines may be missing:\n%s", stderr)
	}
	noLeftovers(t, cl)
}

// appendLine appends "L<n>" to an existing file (its owner stays the SSH user).
func appendLine(path string, n int) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "L%d\n", n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
