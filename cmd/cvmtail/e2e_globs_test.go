//go:build linux

package main_test

import (
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
