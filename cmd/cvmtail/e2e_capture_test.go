//go:build linux

package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// --output-dir as a root cron job meets it: a directory others may have written into, two
// runs that overlap, two files with one base name.

func TestE2ECaptureNeverWritesThroughAPlantedSymlink(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "line from the CVM\n")
	for _, plant := range []string{"genesis.log", ".genesis.log.pos"} {
		t.Run(plant, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "shadow")
			must(t, os.WriteFile(victim, []byte("root:x:0:0\n"), 0o600))
			must(t, os.MkdirAll(filepath.Join(dir, c.Addr), 0o750))
			must(t, os.Symlink(victim, filepath.Join(dir, c.Addr, plant)))

			r := start(t, append([]string{"tail", "genesis", "--no-follow", "-o", "none", "--output-dir", dir}, cl.Args()...)...)
			code := r.Wait(20 * time.Second)
			if got, _ := os.ReadFile(victim); string(got) != "root:x:0:0\n" {
				t.Errorf("the file behind the planted symlink became %q", got)
			}
			switch plant {
			case "genesis.log": // refused before anything is followed
				if code != 2 || !strings.Contains(r.Stderr(), "is a symlink; refusing to write through it") {
					t.Errorf("exit %d, stderr %q: want exit 2 refusing the symlink", code, r.Stderr())
				}
			default: // the position file is replaced, never written through
				if code != 0 {
					t.Errorf("exit %d, stderr %q", code, r.Stderr())
				}
				if st, err := os.Lstat(filepath.Join(dir, c.Addr, plant)); err != nil || st.Mode()&os.ModeSymlink != 0 {
					t.Errorf("the position file is still the planted symlink (%v)", err)
				}
			}
		})
	}
}

func TestE2ECapturesOfTwoFilesWithOneBaseNameStayApart(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "current 1\ncurrent 2\n")
	c.Write(t, "old/genesis.out", "old 1\n")
	c.Write(t, "stargate.INFO", "info 1\n")
	dir := t.TempDir()
	r := start(t, append([]string{"tail", c.RemotePath("genesis.out"), c.RemotePath("old/genesis.out"), "stargate.INFO",
		"--no-follow", "-o", "none", "--output-dir", dir}, cl.Args()...)...)
	if code := r.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr())
	}
	for name, want := range map[string]string{
		"paths/home/nutanix/data/logs/genesis.out.log":     "current 1\ncurrent 2\n",
		"paths/home/nutanix/data/logs/old/genesis.out.log": "old 1\n",
		"stargate.INFO.log": "info 1\n",
	} {
		if got, err := os.ReadFile(filepath.Join(dir, c.Addr, filepath.FromSlash(name))); string(got) != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
}

// Cron's */15 with --duration 15m: the next run starts while the last one is still closing.
// The second waits for the first's lock and resumes where it stopped: every line once.
func TestE2EOverlappingCaptureRunsNeitherRepeatNorSkip(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "")
	dir := t.TempDir()
	capture := filepath.Join(dir, c.Addr, "genesis.log")
	// The whole file: lines written before the first run connects are captured too.
	args := append([]string{"tail", "genesis", "-n", "1000000", "-o", "none", "--output-dir", dir}, cl.Args()...)

	var wg sync.WaitGroup
	stopWriting := make(chan struct{})
	var written int
	wg.Add(1)
	go func() { // a steady log, as genesis is during an upgrade
		defer wg.Done()
		for {
			select {
			case <-stopWriting:
				return
			case <-time.After(2 * time.Millisecond):
			}
			written++
			c.Append(t, "genesis.out", fmt.Sprintf("line %06d\n", written))
		}
	}()

	first := start(t, args...)
	waitFile(t, capture, func(s string) bool { return strings.Count(s, "\n") >= 50 }, "the first run's capture")
	second := start(t, args...)
	waitFor(t, "the second run to wait for the first", func() bool {
		return strings.Contains(second.Stderr(), "is being captured by another cvmtail (pid ")
	})
	must(t, first.Cmd().Process.Signal(syscall.SIGTERM))
	if code := first.Wait(10 * time.Second); code != 143 {
		t.Errorf("first run exit %d: %s", code, first.Stderr())
	}
	time.Sleep(300 * time.Millisecond) // the second run takes over and captures some more
	close(stopWriting)
	wg.Wait()
	want := written
	waitFile(t, capture, func(s string) bool { return strings.Count(s, "\n") >= want }, fmt.Sprintf("all %d lines in the capture (second run's stderr: %q)", want, second.Stderr()))
	must(t, second.Cmd().Process.Signal(syscall.SIGTERM))
	second.Wait(10 * time.Second)

	got, _ := os.ReadFile(capture)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != want {
		t.Errorf("capture has %d lines for %d written", len(lines), want)
	}
	for i, l := range lines {
		if l != fmt.Sprintf("line %06d", i+1) {
			t.Fatalf("capture line %d is %q: repeated or skipped around there", i+1, l)
		}
	}
}

func TestE2ECaptureLockTimeoutNamesTheOtherRun(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "one\n")
	dir := t.TempDir()
	args := append([]string{"tail", "genesis", "-o", "none", "--output-dir", dir}, cl.Args()...)
	first := start(t, args...)
	waitFile(t, filepath.Join(dir, c.Addr, "genesis.log"), func(s string) bool { return s == "one\n" }, "the first capture")
	second := start(t, append(args, "--lock-timeout", "1s")...)
	code := second.Wait(15 * time.Second)
	pid := fmt.Sprintf("pid %d", first.Cmd().Process.Pid)
	if code != 3 || !strings.Contains(second.Stderr(), pid) || !strings.Contains(second.Stderr(), "cvmtail: hint: ") {
		t.Errorf("exit %d, stderr %q: want exit 3 naming %s, with a hint", code, second.Stderr(), pid)
	}
	must(t, first.Cmd().Process.Signal(syscall.SIGINT))
	first.Wait(10 * time.Second)
}

func waitFile(t *testing.T, path string, ok func(string) bool, what string) {
	t.Helper()
	waitFor(t, what, func() bool {
		b, _ := os.ReadFile(path)
		return ok(string(b))
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
