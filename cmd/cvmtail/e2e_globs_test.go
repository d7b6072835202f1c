//go:build linux

package main_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// 'stargate*' on a healthy CVM takes in stargate.FATAL, which it does not have: that is no
// error. A name typed exactly still is.
func TestE2EGlobSelectedFilesThatAreMissingAreNoError(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, OldCVM: []int{1}})
	for _, c := range cl.CVMs {
		c.Write(t, "stargate.INFO", "info line\n")
		c.Write(t, "stargate.out", "out line\n")
	}
	r := start(t, append([]string{"tail", "stargate*", "--no-follow"}, cl.Args()...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, r.Stderr())
	}
	if n := len(r.Lines()); n != 4 {
		t.Errorf("%d lines, want the 2 files of each CVM:\n%s", n, strings.Join(r.Lines(), ""))
	}
	stderr := r.Stderr()
	if strings.Contains(stderr, "no such file") || strings.Contains(stderr, "hint") {
		t.Errorf("missing glob-selected files reported as errors:\n%s", stderr)
	}
	if want := "cvmtail: skipped, not on the CVM: stargate.ERROR (2 CVMs), stargate.FATAL (2 CVMs), stargate.WARNING (2 CVMs)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}

	r = start(t, append([]string{"tail", "stargate.FATAL", "--no-follow"}, cl.Args()...)...)
	if code := r.Wait(30 * time.Second); code != 3 || !strings.Contains(r.Stderr(), "stargate.FATAL: no such file") {
		t.Errorf("a missing file named exactly: exit %d, stderr %q; want exit 3 naming it", code, r.Stderr())
	}
}

// In follow mode a glob-selected file that appears later is followed, without a notice
// that it is missing meanwhile.
func TestE2EGlobSelectedFileThatAppearsLaterIsFollowedQuietly(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "stargate.INFO", "info line\n")
	r := start(t, append([]string{"tail", "stargate.[IF]*"}, cl.Args()...)...)
	r.WaitTextLines("the INFO line", 20*time.Second, func(l []string) bool { return len(l) == 1 })
	c.Write(t, "stargate.FATAL", "fatal line\n")
	r.WaitTextLines("the FATAL file's line", 20*time.Second, func(l []string) bool {
		return len(l) == 2 && strings.HasSuffix(l[1], "stargate.FATAL fatal line")
	})
	if strings.Contains(r.Stderr(), "no such file") {
		t.Errorf("stderr %q: a glob-selected file is waited for quietly", r.Stderr())
	}
}

// A file name from `cvmtail logs --remote` is a file of the log directory.
func TestE2EFileNameFromTheListing(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "current\n")
	c.Write(t, "genesis.out.20261122-100000", "rotated\n")
	r := start(t, append([]string{"tail", "genesis.out", "genesis.out.20261122-100000", "--no-follow"}, cl.Args()...)...)
	if code := r.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr())
	}
	got := strings.Join(r.TextLines(), "\n")
	if !strings.Contains(got, c.Addr+" genesis current") || !strings.Contains(got, c.Addr+" genesis.out.20261122-100000 rotated") {
		t.Errorf("output %q", got)
	}
}

// A glob in a path is expanded on the CVM by the agent: each match is a log of its own,
// named by its base name, and in follow mode a file that matches later is followed too.
// A reconnect resumes every match where it stopped. A name that only a shell would make
// something of is just a name, and a file that does not match is not followed.
func TestE2EGlobInAPathIsExpandedOnTheCVM(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "svc.a.log", "a1\n")
	c.Write(t, "svc.$(touch pwned) b.log", "b1\n")
	c.Write(t, "svc.other", "not matched\n")
	r := start(t, append([]string{"tail", c.RemotePath("svc.*.log")}, cl.Args()...)...)
	r.WaitTextLines("the two matches' backlogs", 20*time.Second, func(l []string) bool { return len(l) == 2 })
	c.Write(t, "svc.c.log", "c1\n")
	r.WaitTextLines("the file that matched later", 20*time.Second, func(l []string) bool { return len(l) == 3 })

	c.Kill(t)
	c.Append(t, "svc.a.log", "a2\n")
	waitStderr(t, r, "the lost connection", 20*time.Second, c.Addr+": connection lost", 1)
	c.Restart(t)
	c.Append(t, "svc.c.log", "c2\n")
	r.WaitTextLines("the lines written while away", 60*time.Second, func(l []string) bool { return len(l) == 5 })
	_ = r.Cmd().Process.Signal(os.Interrupt)
	if code := r.Wait(5 * time.Second); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	got := r.TextLines()
	sort.Strings(got)
	want := []string{
		c.Addr + " svc.$(touch_pwned)_b.log b1", // the text format shows a space in a log name as _
		c.Addr + " svc.a.log a1",
		c.Addr + " svc.a.log a2",
		c.Addr + " svc.c.log c1",
		c.Addr + " svc.c.log c2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.Stderr())
	}
	if _, err := os.Stat(c.Path("pwned")); err == nil {
		t.Error("a name in the glob's directory ran a command")
	}
	noLeftovers(t, cl)
}

// With --no-follow a glob's matches are read once; a glob that matches nothing is no
// error, said once at the end; a CVM without Python cannot expand it and says so.
func TestE2EGlobInAPathWithoutFollow(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, OldCVM: []int{1}})
	c, old := cl.CVMs[0], cl.CVMs[1]
	for _, name := range []string{"svc.1.log", "svc.2.log", "svc.3.log"} {
		c.Write(t, name, name+" line\n")
		old.Write(t, name, name+" line\n")
	}
	capture := t.TempDir() + "/cap"
	r := start(t, append([]string{"tail", "--no-follow", "--output-dir", capture,
		c.RemotePath("svc.[12].log"), c.RemotePath("svc.3*"), c.RemotePath("none*")}, cl.Args()...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, r.Stderr())
	}
	got := r.TextLines()
	sort.Strings(got)
	want := []string{
		c.Addr + " svc.1.log svc.1.log line",
		c.Addr + " svc.2.log svc.2.log line",
		c.Addr + " svc.3.log svc.3.log line",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.Stderr())
	}
	stderr := r.Stderr()
	if n := strings.Count(stderr, old.Addr+": svc.[12].log: no python on the CVM: the glob cannot be expanded there; skipped"); n != 1 {
		t.Errorf("the CVM without Python: said %d times, want once:\n%s", n, stderr)
	}
	if n := strings.Count(stderr, "cvmtail: skipped, not on the CVM: none* (1 CVM)\n"); n != 1 {
		t.Errorf("the glob that matches nothing: want one summary line:\n%s", stderr)
	}
	for _, name := range []string{"svc.1.log", "svc.2.log", "svc.3.log"} {
		// Each match is captured as a path is: DIR/<cvm>/paths/<path>.log.
		f := filepath.Join(capture, c.Addr, "paths", filepath.FromSlash(c.RemotePath(name))+".log")
		if b, err := os.ReadFile(f); err != nil || string(b) != name+" line\n" {
			t.Errorf("capture %s: %q, %v", f, b, err)
		}
	}

	// Run again, as cron does, after the files grew: each match resumes where its capture
	// stopped, so only the new lines come, and no capture holds a line twice.
	for _, name := range []string{"svc.1.log", "svc.2.log", "svc.3.log"} {
		c.Append(t, name, name+" more\n")
	}
	r = start(t, append([]string{"tail", "--no-follow", "--output-dir", capture,
		c.RemotePath("svc.[12].log"), c.RemotePath("svc.3*"), c.RemotePath("none*")}, cl.Args()...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("again: exit %d, want 0; stderr:\n%s", code, r.Stderr())
	}
	got = r.TextLines()
	sort.Strings(got)
	want = []string{
		c.Addr + " svc.1.log svc.1.log more",
		c.Addr + " svc.2.log svc.2.log more",
		c.Addr + " svc.3.log svc.3.log more",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("again, lines:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.Stderr())
	}
	for _, name := range []string{"svc.1.log", "svc.2.log", "svc.3.log"} {
		f := filepath.Join(capture, c.Addr, "paths", filepath.FromSlash(c.RemotePath(name))+".log")
		if b, err := os.ReadFile(f); err != nil || string(b) != name+" line\n"+name+" more\n" {
			t.Errorf("again, capture %s: %q, %v", f, b, err)
		}
	}
}
