//go:build linux

package main_test

// End-to-end tests: the built binary against real OpenSSH sshd CVMs on loopback addresses
// (internal/testenv/sshdcvm). They need root and sshd; without them they skip, unless
// CVMTAIL_E2E=1 (set by .ci/run) makes that a failure.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/binrun"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

func start(t *testing.T, args ...string) *binrun.Run {
	t.Helper()
	return startEnv(t, nil, args...)
}

// startEnv starts cvmtail with extra environment variables; the user's cache and agent
// never take part.
func startEnv(t *testing.T, env []string, args ...string) *binrun.Run {
	t.Helper()
	return binrun.Start(t, binary, append([]string{"NO_COLOR=1", "SSH_AUTH_SOCK=", "XDG_CACHE_HOME=" + t.TempDir(),
		"CVMTAIL_CONFIG=" + os.DevNull}, env...), args...)
}

// noLeftovers asserts that no process of the SSH user remains on any CVM within 2 s.
func noLeftovers(t *testing.T, cl *sshdcvm.Cluster) {
	t.Helper()
	for _, c := range cl.CVMs {
		if left, err := c.WaitNoUserProcesses(2 * time.Second); err != nil || len(left) > 0 {
			t.Errorf("%s: processes left after stopping: %v (err %v)", c.Addr, left, err)
		}
	}
}

// waitStderr waits until stderr holds n lines containing what: the event a step must
// follow (a notice that cvmtail saw a change), instead of a sleep that guesses how long
// seeing it takes.
func waitStderr(t *testing.T, r *binrun.Run, name string, d time.Duration, what string, n int) {
	t.Helper()
	r.WaitLines(name, d, func([]string) bool { return strings.Count(r.Stderr(), what) >= n })
}

func TestE2EManyCVMsAndFilesUnderLoad(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 4})
	files := []string{"genesis.out", "stargate.out", "acropolis.out"}
	for _, c := range cl.CVMs {
		for _, f := range files {
			c.Write(t, f, "start\n")
		}
	}
	r := start(t, append([]string{"tail", "genesis", "stargate", "acropolis"}, cl.Args()...)...)
	r.WaitLines("the first line of 12 streams", 20*time.Second, func(l []string) bool { return len(l) >= 12 })

	const perFile = 4000
	var wg sync.WaitGroup
	for ci, c := range cl.CVMs {
		for _, f := range files {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fh, err := os.OpenFile(c.Path(f), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
					return
				}
				defer fh.Close()
				w := bufio.NewWriterSize(fh, 4096) // flushes mid-line, as a busy service does
				for i := 1; i <= perFile; i++ {
					fmt.Fprintf(w, "cvm%d %s %d %s\n", ci, f, i, strings.Repeat("x", (i*53)%900))
				}
				_ = w.Flush()
			}()
		}
	}
	wg.Wait()
	r.WaitLines("every line", 60*time.Second, func(l []string) bool { return len(l) >= 12*(perFile+1) })
	if err := r.Cmd().Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := r.Wait(3 * time.Second); code != 130 {
		t.Errorf("exit status %d after SIGINT, want 130", code)
	}
	next := map[string]int{}
	for _, line := range r.Lines() {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("short line %q", line)
		}
		cvm, log := f[0], f[1]
		if len(f) == 3 && f[2] == "start" {
			continue
		}
		// "<cvm> <log> cvmN file.out i xxx": the prefix must name where the line came from.
		var ci, i int
		var file, xs string
		if _, err := fmt.Sscanf(strings.Join(f[2:], " "), "cvm%d %s %d %s", &ci, &file, &i, &xs); err != nil && !strings.HasSuffix(line, fmt.Sprintf(" %d \n", i)) {
			if _, err2 := fmt.Sscanf(strings.Join(f[2:], " "), "cvm%d %s %d", &ci, &file, &i); err2 != nil {
				t.Fatalf("mangled line %.100q: %v", line, err)
			}
		}
		if cvm != cl.CVMs[ci].Addr || log+".out" != file {
			t.Fatalf("mislabelled line: prefix %s %s, content from cvm%d %s", cvm, log, ci, file)
		}
		if want := strings.Repeat("x", (i*53)%900); xs != want || !strings.HasSuffix(line, "\n") {
			t.Fatalf("cut line %s %s %d: %d x's, want %d", cvm, log, i, len(xs), len(want))
		}
		k := cvm + " " + log
		if i != next[k]+1 {
			t.Fatalf("%s: line %d after %d", k, i, next[k])
		}
		next[k] = i
	}
	for k, n := range next {
		if n != perFile {
			t.Errorf("%s: %d lines, want %d", k, n, perFile)
		}
	}
	noLeftovers(t, cl)
}

func TestE2EMoreFilesThanMaxSessions(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1, MaxSessions: 10})
	c := cl.CVMs[0]
	var args []string
	for i := 0; i < 14; i++ {
		name := fmt.Sprintf("svc%02d.out", i)
		c.Write(t, name, fmt.Sprintf("line of %s\n", name))
		args = append(args, c.RemotePath(name))
	}
	r := start(t, append(append([]string{"tail", "--no-follow"}, args...), cl.Args()...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
	}
	if n := len(r.Lines()); n != 14 {
		t.Errorf("%d lines from 14 files, want 14:\n%s\nstderr:\n%s", n, strings.Join(r.Lines(), ""), r.Stderr())
	}
	noLeftovers(t, cl)
}

func TestE2ERotationByRenameTruncationAndSymlink(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "g1\n")
	c.Write(t, "stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-100000.1", "s1\n")
	if err := os.Symlink("stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-100000.1", c.Path("stargate.INFO")); err != nil {
		t.Fatal(err)
	}
	r := start(t, append([]string{"tail", "genesis", "stargate.INFO", "-o", "raw"}, cl.Args()...)...)
	r.WaitLines("backlog", 20*time.Second, func(l []string) bool { return len(l) == 2 })

	c.Append(t, "genesis.out", "g2\n")
	if err := os.Rename(c.Path("genesis.out"), c.Path("genesis.out.20261122-100500")); err != nil {
		t.Fatal(err)
	}
	c.Write(t, "genesis.out", "g3\n")
	r.WaitLines("renamed", 10*time.Second, func(l []string) bool { return len(l) == 4 })

	// Copy-truncate, refilled to the size it had ("g3\n", "g4\n"): only a refill after
	// cvmtail saw the truncation can be told from no change at all.
	if err := os.Truncate(c.Path("genesis.out"), 0); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, r, "the truncation notice", 10*time.Second, "genesis: file truncated", 1)
	c.Append(t, "genesis.out", "g4\n")
	r.WaitLines("truncated", 10*time.Second, func(l []string) bool { return len(l) == 5 })

	c.Append(t, "stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-100000.1", "s2\n")
	c.Write(t, "stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-110000.2", "s3\n")
	if err := os.Symlink("stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-110000.2", c.Path("stargate.INFO.new")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(c.Path("stargate.INFO.new"), c.Path("stargate.INFO")); err != nil {
		t.Fatal(err)
	}
	r.WaitLines("symlink switch", 10*time.Second, func(l []string) bool { return len(l) == 7 })
	_ = r.Cmd().Process.Signal(syscall.SIGTERM)
	if code := r.Wait(3 * time.Second); code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}
	var g, s []string
	for _, l := range r.Lines() {
		if strings.HasPrefix(l, "g") {
			g = append(g, strings.TrimSpace(l))
		} else {
			s = append(s, strings.TrimSpace(l))
		}
	}
	if strings.Join(g, ",") != "g1,g2,g3,g4" || strings.Join(s, ",") != "s1,s2,s3" {
		t.Errorf("genesis %v, stargate %v", g, s)
	}
	noLeftovers(t, cl)
}

func TestE2EEveryWayOfStoppingLeavesNothing(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, OldCVM: []int{1}})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", "one\ntwo\n")
		c.Write(t, "zookeeper.out", "z\n")
	}
	args := append([]string{"tail", "genesis", "zookeeper"}, cl.Args()...)
	ready := func(r *binrun.Run) {
		r.WaitLines("backlog", 20*time.Second, func(l []string) bool { return len(l) == 6 })
	}
	for _, tc := range []struct {
		name string
		sig  os.Signal
		want int
	}{{"SIGINT", os.Interrupt, 130}, {"SIGTERM", syscall.SIGTERM, 143}} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, args...)
			ready(r)
			_ = r.Cmd().Process.Signal(tc.sig)
			if code := r.Wait(2 * time.Second); code != tc.want {
				t.Errorf("exit %d, want %d", code, tc.want)
			}
			noLeftovers(t, cl)
		})
	}
	t.Run("SIGINT while a CVM is frozen", func(t *testing.T) {
		r := start(t, args...)
		ready(r)
		cl.CVMs[0].Stop(t)
		defer cl.CVMs[0].Cont(t)
		start := time.Now()
		_ = r.Cmd().Process.Signal(os.Interrupt)
		if code := r.Wait(2 * time.Second); code != 130 {
			t.Errorf("exit %d, want 130", code)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v to stop", d)
		}
		cl.CVMs[0].Cont(t)
		noLeftovers(t, cl)
	})
	t.Run("a second signal skips the clean shutdown", func(t *testing.T) {
		// With a CVM frozen, the clean shutdown waits its 500 ms grace for the CVM to confirm
		// the close. A second signal during it exits at once, with the second signal's status
		// (143 here, where the clean shutdown would end with the first's, 130).
		r := start(t, args...)
		ready(r)
		cl.CVMs[0].Stop(t)
		defer cl.CVMs[0].Cont(t)
		_ = r.Cmd().Process.Signal(os.Interrupt)
		time.Sleep(50 * time.Millisecond)
		_ = r.Cmd().Process.Signal(syscall.SIGTERM)
		if code := r.Wait(2 * time.Second); code != 143 {
			t.Errorf("exit %d, want 143 (the second signal's); stderr %s", code, r.Stderr())
		}
		// Even so nothing is left: the agents exit when their channel's stdin closes, which
		// the thawed CVM sees as soon as it runs again.
		cl.CVMs[0].Cont(t)
		noLeftovers(t, cl)
	})
	t.Run("duration", func(t *testing.T) {
		// Long enough for every backlog to arrive first under -race on a loaded 2-core
		// machine (at 2 s, four streams were seen to miss it); it must end by D plus a margin.
		r := start(t, append(args, "--duration", "5s")...)
		ready(r)
		if code := r.Wait(9 * time.Second); code != 0 {
			t.Errorf("exit %d, want 0; stderr %s", code, r.Stderr())
		}
		noLeftovers(t, cl)
	})
	t.Run("no-follow", func(t *testing.T) {
		r := start(t, append(args, "--no-follow")...)
		if code := r.Wait(20 * time.Second); code != 0 {
			t.Errorf("exit %d, want 0; stderr %s", code, r.Stderr())
		}
		if len(r.Lines()) != 6 {
			t.Errorf("lines %q", r.Lines())
		}
		noLeftovers(t, cl)
	})
	t.Run("reader closes stdout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sh := fmt.Sprintf("%s %s | head -1", binary, strings.Join(quoteAll(args), " "))
		cmd := exec.CommandContext(ctx, "bash", "-c", "set -o pipefail; "+sh)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		cmd.WaitDelay = 3 * time.Second // a cvmtail that lingers holds the pipe: fail, do not hang
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		// Quiet and status 0: pipefail would report cvmtail's status otherwise.
		if err != nil || stderr.Len() != 0 || strings.Count(string(out), "\n") != 1 {
			t.Errorf("err %v, stdout %q, stderr %q", err, out, stderr.String())
		}
		noLeftovers(t, cl)
	})
}

func TestE2EReaderGoneOnAQuietLog(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, OldCVM: []int{1}})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", "one\ntwo\nthree\n")
	}
	for _, c := range cl.CVMs {
		t.Run(fmt.Sprintf("old=%v", c.Old), func(t *testing.T) {
			// The whole backlog leaves in one write and the log stays quiet: no later write
			// would ever see EPIPE. cvmtail must notice head leaving all the same.
			args := append([]string{"tail", "genesis"}, cl.Args()...)
			for i := range args {
				if args[i] == "--cvm" {
					args[i+1] = c.Addr
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sh := fmt.Sprintf("%s %s | head -1", binary, strings.Join(quoteAll(args), " "))
			cmd := exec.CommandContext(ctx, "bash", "-c", "set -o pipefail; "+sh)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			cmd.WaitDelay = 3 * time.Second // a cvmtail that lingers holds the pipe: fail, do not hang
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			out, err := cmd.Output()
			if err != nil || stderr.Len() != 0 || string(out) != c.Addr+" genesis one\n" {
				t.Errorf("err %v, stdout %q, stderr %q", err, out, stderr.String())
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v to notice the reader left", d)
			}
			noLeftovers(t, cl)
		})
	}
}

func TestE2EContextFromConfigFile(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", "from "+c.Addr+"\n")
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	content := fmt.Sprintf(`contexts:
  lab:
    cvm: [%s]
    ssh-port: %d
    identity: %s
    known-hosts: %s
    ssh-user: %s
    ssh-config: %s
`, strings.Join(cl.Addrs(), ", "), cl.Port, cl.KeyFile, cl.KnownHosts, cl.User, cl.SSHConfig)
	must(t, os.WriteFile(cfg, []byte(content), 0o600))
	r := startEnv(t, []string{"CVMTAIL_CONFIG=" + cfg}, "--context", "lab", "tail", "genesis", "--no-follow")
	if code := r.Wait(20 * time.Second); code != 0 || len(r.Lines()) != 2 {
		t.Errorf("exit %d, lines %q, stderr %s", code, r.Lines(), r.Stderr())
	}
	r = startEnv(t, []string{"CVMTAIL_CONFIG=" + cfg}, "--context", "prod", "tail", "genesis")
	if code := r.Wait(20 * time.Second); code != 2 || !strings.Contains(r.Stderr(), `unknown context "prod"`) {
		t.Errorf("exit %d, stderr %s", code, r.Stderr())
	}
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

func TestE2EHostilePathIsJustAPath(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	name := `we ird 'q' "d" ;touch pwned; $(touch pwned2) ` + "`touch pwned3`" + ` & | > x`
	c.Write(t, name, "hostile but fine\n")
	r := start(t, append([]string{"tail", "--no-follow", c.RemotePath(name)}, cl.Args()...)...)
	if code := r.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
	}
	if got := strings.Join(r.Lines(), ""); !strings.HasSuffix(got, " hostile but fine\n") {
		t.Errorf("stdout %q", got)
	}
	for _, p := range []string{"pwned", "pwned2", "pwned3"} {
		for _, dir := range []string{c.LogDir, "/home/nutanix"} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				t.Errorf("the path was run by a shell: %s exists", filepath.Join(dir, p))
			}
		}
	}
}

func TestE2EFailuresAreLocalAndExplained(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", "ok line\n")
	}
	secret := cl.CVMs[1].Path("secret.out")
	if err := os.WriteFile(secret, []byte("secret\n"), 0o600); err != nil { // root-owned
		t.Fatal(err)
	}
	base := func(extra ...string) []string {
		return append(append([]string{"tail", "--no-follow"}, extra...), cl.Args()...)
	}
	withFlag := func(args []string, flag, value string) []string {
		out := append([]string(nil), args...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	dir := t.TempDir()
	emptyKnown := filepath.Join(dir, "empty_known_hosts")
	_ = os.WriteFile(emptyKnown, nil, 0o600)
	kh, _ := os.ReadFile(cl.KnownHosts)
	// Another key for CVM 0: a changed host key.
	otherKey := filepath.Join(dir, "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	otherPub, _ := os.ReadFile(otherKey + ".pub")
	changed := filepath.Join(dir, "changed_known_hosts")
	var lines []string
	for _, l := range strings.Split(string(kh), "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("[%s]:", cl.CVMs[0].Addr)) {
			f := strings.Fields(l)
			p := strings.Fields(string(otherPub))
			l = f[0] + " " + p[0] + " " + p[1]
		}
		lines = append(lines, l)
	}
	_ = os.WriteFile(changed, []byte(strings.Join(lines, "\n")), 0o600)

	tests := []struct {
		name   string
		args   []string
		status int
		stderr []string
		outHas string
	}{
		{"missing file on one, fine elsewhere", base("genesis", "/home/nutanix/data/logs/nope.out"), 1,
			[]string{"cvmtail: " + cl.CVMs[0].Addr + ": nope.out: /home/nutanix/data/logs/nope.out: no such file"}, "ok line"},
		{"permission denied", base("genesis", "/home/nutanix/data/logs/secret.out"), 1,
			[]string{"secret.out: /home/nutanix/data/logs/secret.out: permission denied"}, "ok line"},
		{"unknown host key", withFlag(base("genesis"), "--known-hosts", emptyKnown), 3,
			[]string{"unknown host key", "cvmtail: hint:"}, ""},
		{"changed host key", withFlag(base("genesis"), "--known-hosts", changed), 1,
			[]string{"cvmtail: " + cl.CVMs[0].Addr + ":", "CHANGED"}, "ok line"},
		{"refused key", withFlag(base("genesis"), "-i", otherKey), 3,
			[]string{"permission denied", "cvmtail: hint:"}, ""},
		{"unreachable CVM", withFlag(base("genesis"), "--cvm", cl.CVMs[0].Addr+",127.0.0.99"), 1,
			[]string{"cvmtail: 127.0.0.99:", "refused"}, "ok line"},
		{"unreadable key file", withFlag(base("genesis"), "-i", filepath.Join(dir, "no-such-key")), 2,
			[]string{"no-such-key"}, ""},
		{"unknown log name", withFlag(base("stargat"), "-i", cl.KeyFile), 2,
			[]string{`unknown log "stargat"`, "stargate"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.args...)
			code := r.Wait(30 * time.Second)
			stderr := r.Stderr()
			if code != tc.status {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.status, stderr)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if l != "" && !strings.HasPrefix(l, "cvmtail: ") {
					t.Errorf("stderr line without the cvmtail: prefix: %q", l)
				}
			}
			out := strings.Join(r.Lines(), "")
			if tc.outHas != "" && !strings.Contains(out, tc.outHas) {
				t.Errorf("stdout %q lacks %q", out, tc.outHas)
			}
			if tc.outHas == "" && out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	noLeftovers(t, cl)
}

func TestE2ESyslogWithoutSudoRightsIsAClearPerCVMError(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	cl.CVMs[0].Write(t, "genesis.out", "fine\n")
	r := start(t, append([]string{"tail", "syslog", "genesis", "--no-follow"}, cl.Args()...)...)
	code := r.Wait(20 * time.Second)
	stderr := r.Stderr()
	// The nutanix user of the test CVMs has no sudo rights (or no sudo at all): syslog fails
	// alone, with a way forward, and genesis is delivered.
	if code != 1 || !strings.Contains(stderr, "cvmtail: "+cl.CVMs[0].Addr+": syslog: /home/log/messages: ") || !strings.Contains(stderr, "sudo") || !strings.Contains(stderr, "cvmtail: hint:") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if got := strings.Join(r.Lines(), ""); got != cl.CVMs[0].Addr+" genesis fine\n" {
		t.Errorf("stdout %q", got)
	}
}
