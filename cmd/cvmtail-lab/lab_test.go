//go:build unix

package main

// The lab as cvmtail sees it: the built cvmtail binary against a lab started in-process
// (and once the built lab binary), on 127.0.0.101+ so as not to meet the sshd CVMs of
// other packages' tests on 127.0.0.11+, with free ports and temporary directories.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/lab"
	"github.com/cvmtail/cvmtail/internal/logtime"
	"github.com/cvmtail/cvmtail/internal/testenv/binrun"
)

var binDir, cvmtailBin string

func TestMain(m *testing.M) {
	binrun.Main(m, func(dir string) (err error) {
		binDir = dir
		// CVMTAIL_BIN tests a cvmtail built elsewhere (another version, or while the tree
		// does not build).
		cvmtailBin, err = binrun.Build(dir, "../cvmtail", "CVMTAIL_BIN")
		return err
	})
}

func startLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	cfg.Dir = t.TempDir()
	cfg.FirstAddr = "127.0.0.101"
	cfg.PrismAddr = "127.0.0.1:0"
	if cfg.CVMs == 0 {
		cfg.CVMs = 2
	}
	cfg.Errorf = t.Logf
	l, err := lab.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// startCvmtail runs the cvmtail binary; tests read its stdout with TextLines.
func startCvmtail(t *testing.T, args ...string) *binrun.Run {
	t.Helper()
	// Nothing of the user's: no agent, no ~/.ssh, no CVM list cached by an earlier run.
	home := t.TempDir()
	return binrun.Start(t, cvmtailBin, []string{"NO_COLOR=1", "SSH_AUTH_SOCK=", "HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "CVMTAIL_PRISM=", "CVMTAIL_PASSWORD="}, args...)
}

// fromEvery holds when each CVM has given a line of log.
func fromEvery(l *lab.Lab, log string) func([]string) bool {
	return func(lines []string) bool {
		for _, c := range l.CVMs {
			if !slices.ContainsFunc(lines, func(s string) bool { return strings.HasPrefix(s, c.Name+" "+log+" ") }) {
				return false
			}
		}
		return true
	}
}

func TestListCVMs(t *testing.T) {
	for _, mode := range []string{"pe", "pc"} {
		t.Run(mode, func(t *testing.T) {
			l := startLab(t, lab.Config{Mode: mode, Rate: 1})
			r := startCvmtail(t, append([]string{"list-cvms", "-o", "json"}, l.PrismArgs()...)...)
			if code := r.Wait(30 * time.Second); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
			}
			var got []struct{ Name, Address, Cluster string }
			if err := json.Unmarshal([]byte(strings.Join(r.TextLines(), "\n")), &got); err != nil {
				t.Fatalf("%v in %q", err, r.TextLines())
			}
			// In PC mode, Args selects the first of the two clusters.
			var want []lab.CVM
			for _, c := range l.CVMs {
				if c.Cluster == l.Clusters[0] {
					want = append(want, c)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d CVMs %+v, want %d %+v", len(got), got, len(want), want)
			}
			for i, c := range want {
				if got[i].Name != c.Name || got[i].Address != c.Address || got[i].Cluster != c.Cluster {
					t.Errorf("CVM %d: %+v, want %s %s %s", i, got[i], c.Name, c.Address, c.Cluster)
				}
			}
		})
	}
}

func TestTailNoFollowGivesEveryCVM(t *testing.T) {
	l := startLab(t, lab.Config{Rate: 1, Backlog: 50})
	r := startCvmtail(t, append([]string{"tail", "genesis", "--no-follow", "-n", "5"}, l.Args()...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
	}
	lines := r.TextLines()
	for _, c := range l.CVMs {
		n := 0
		for _, s := range lines {
			if strings.HasPrefix(s, c.Name+" genesis ") {
				n++
			}
		}
		if n != 5 {
			t.Errorf("%s: %d genesis lines, want 5", c.Name, n)
		}
	}
	if len(lines) != 5*len(l.CVMs) {
		t.Errorf("%d lines, want %d:\n%s", len(lines), 5*len(l.CVMs), strings.Join(lines, "\n"))
	}
	for _, s := range lines {
		// <cvm> genesis 2026-11-22 10:00:00,123Z INFO file.py:123 message
		f := strings.Fields(s)
		if len(f) < 6 || !strings.HasSuffix(f[3], "Z") || !strings.Contains(f[5], ".py:") {
			t.Errorf("not a genesis line: %q", s)
		}
	}
}

func TestInterruptLeavesNothingOnTheCVMs(t *testing.T) {
	// A long grace: only cvmtail closing its channels, and the agent noticing, may end the
	// remote commands within the time checked here.
	l := startLab(t, lab.Config{Grace: 30 * time.Second})
	r := startCvmtail(t, append([]string{"tail", "genesis", "stargate.INFO", "-n", "1"}, l.Args()...)...)
	r.WaitTextLines("lines from every CVM", 20*time.Second, fromEvery(l, "stargate.INFO"))
	// One agent per CVM follows both files.
	if n := len(l.Leftovers()); n != len(l.CVMs) {
		t.Fatalf("%d remote commands run for %d CVMs x 2 files, want one per CVM", n, len(l.CVMs))
	}
	sent := time.Now()
	if err := r.Cmd().Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := r.Wait(2 * time.Second); code != 130 {
		t.Errorf("exit %d after SIGINT, want 130; stderr:\n%s", code, r.Stderr())
	}
	t.Logf("cvmtail exited %s after SIGINT", time.Since(sent).Round(time.Millisecond))
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := l.Leftovers()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left on the CVMs 2s after cvmtail exited: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGlogRotationIsFollowed(t *testing.T) {
	l := startLab(t, lab.Config{Rate: 2})
	r := startCvmtail(t, append([]string{"tail", "stargate.INFO", "-n", "1"}, l.Args()...)...)
	r.WaitTextLines("lines from every CVM", 20*time.Second, fromEvery(l, "stargate.INFO"))
	path, err := l.Rotate(context.Background(), 1, "stargate")
	if err != nil {
		t.Fatal(err)
	}
	marker := "I1122 10:00:00.000000 12345 lab_test.go:1] written after the rotation"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(marker + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := l.CVMs[1].Name + " stargate.INFO " + marker
	r.WaitTextLines("the line written to the new file", 10*time.Second, func(lines []string) bool {
		return slices.Contains(lines, want)
	})
}

// labProcess is a run of the built cvmtail-lab binary.
type labProcess struct{ *binrun.Run }

// startLabBinary runs the lab binary and waits for its "ready".
func startLabBinary(t *testing.T, args ...string) *labProcess {
	t.Helper()
	buildLab.Do(func() {
		labBin, buildErr = binrun.Build(binDir, ".", "")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	p := &labProcess{binrun.Start(t, labBin, nil, args...)}
	p.WaitLines("ready", 20*time.Second, func(l []string) bool { return len(l) > 0 })
	if l := p.Lines(); l[0] != "ready\n" {
		t.Fatalf("stdout %q, want ready; stderr:\n%s", l[0], p.Stderr())
	}
	// stderr comes through a pipe of its own: its last line may still be on the way.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Stderr(), "Stop with Ctrl-C.") {
		if time.Now().After(deadline) {
			t.Fatalf("ready, but no instructions; stderr:\n%s", p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p
}

// stop signals the lab and expects a clean exit.
func (p *labProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd().Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(5 * time.Second); code != 0 {
		t.Fatalf("exit %d after %v; stderr:\n%s", code, sig, p.Stderr())
	}
}

var (
	buildLab sync.Once
	labBin   string
	buildErr error
)

// The binary: flags, the files it writes, "ready", rotation, and a clean stop on SIGTERM.
func TestLabBinary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	p := startLabBinary(t, "--cvms", "2", "--first-addr", "127.0.0.111", "--ssh-port", "0",
		"--prism-addr", "127.0.0.1:0", "--mode", "pc", "--dir", dir, "--rate", "1", "--rotate-every", "1s")
	for _, f := range []string{"prism-ca.pem", "id_ed25519", "known_hosts", "ssh_config", "env", "password", "cvmtail-flags", "config.yaml",
		"cvm1/logs/genesis.out", "cvm4/logs/stargate.INFO"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "id_ed25519")); err == nil && st.Mode().Perm() != 0o600 {
		t.Errorf("id_ed25519 mode %v, want 0600", st.Mode().Perm())
	}
	// Rotations every second or so.
	deadline := time.Now().Add(10 * time.Second)
	for {
		old, _ := filepath.Glob(filepath.Join(dir, "cvm1/logs/genesis.out.2*"))
		if len(old) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("genesis.out did not rotate in 10s with --rotate-every 1s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(t, syscall.SIGTERM)
	for _, want := range []string{"--cluster cluster-01", "--ssh-config /dev/null", "NTNX-GEN02002-A-CVM",
		"CVMTAIL_CONFIG=" + filepath.Join(dir, "config.yaml") + " cvmtail --context lab tail"} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("instructions lack %q:\n%s", want, p.Stderr())
		}
	}
	// --dir given: the lab leaves it (only a temporary directory of its own is removed).
	if _, err := os.Stat(filepath.Join(dir, "env")); err != nil {
		t.Errorf("--dir was removed: %v", err)
	}
}

// Without --dir the lab works in a temporary directory and removes it when stopped.
func TestLabBinaryRemovesItsTemporaryDirectory(t *testing.T) {
	p := startLabBinary(t, "--cvms", "1", "--first-addr", "127.0.0.115", "--ssh-port", "0", "--prism-addr", "127.0.0.1:0")
	_, after, ok := strings.Cut(p.Stderr(), "files in ")
	dir, _, _ := strings.Cut(after, "\n")
	if !ok || dir == "" {
		t.Fatalf("no directory named in:\n%s", p.Stderr())
	}
	if _, err := os.Stat(filepath.Join(dir, "cvm1", "logs", "genesis.out")); err != nil {
		t.Fatal(err)
	}
	p.stop(t, syscall.SIGINT)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after the lab stopped (%v)", dir, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage: cvmtail-lab"},
		{[]string{"--mode", "xx"}, 2, `--mode "xx": want pe or pc`},
		{[]string{"--cvms", "0"}, 2, "--cvms 0: want at least 1"},
		{[]string{"--rate", "-1"}, 2, "--rate -1"},
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%q: stdout %q, want nothing", tc.args, stdout.String())
		}
	}
}

// The lab's context reaches it from every command, with nothing else on the command line.
func TestLabContextWorksForEveryCommand(t *testing.T) {
	for _, mode := range []string{"pe", "pc"} {
		t.Run(mode, func(t *testing.T) {
			l := startLab(t, lab.Config{Mode: mode, Rate: 1, Backlog: 5})
			env := "CVMTAIL_CONFIG=" + l.ConfigFile
			for _, args := range [][]string{
				{"list-cvms", "-o", "address"},
				{"logs", "--remote"},
				{"tail", "genesis", "--no-follow", "-n", "1"},
			} {
				home := t.TempDir()
				r := binrun.Start(t, cvmtailBin, []string{"NO_COLOR=1", "SSH_AUTH_SOCK=", "HOME=" + home,
					"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "CVMTAIL_PRISM=", "CVMTAIL_PASSWORD=", env},
					append([]string{"--context", "lab"}, args...)...)
				if code := r.Wait(30 * time.Second); code != 0 || len(r.TextLines()) == 0 {
					t.Errorf("%s: exit %d, %d lines; stderr:\n%s", args, code, len(r.TextLines()), r.Stderr())
				}
			}
		})
	}
}

// TestSinceReadsTheLabsRotatedHistory is issue 18's "done when": on the lab, --since 2h
// --no-follow returns the two hours, most of them from rotated and compressed files.
func TestSinceReadsTheLabsRotatedHistory(t *testing.T) {
	l := startLab(t, lab.Config{Rate: 1, Backlog: 20})
	began := time.Now()
	r := startCvmtail(t, append([]string{"tail", "genesis", "stargate.INFO", "--since", "2h", "--no-follow", "-o", "json"}, l.Args()...)...)
	if code := r.Wait(60 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
	}
	type stream struct{ cvm, log string }
	first, last := map[stream]time.Time{}, map[stream]time.Time{}
	files := map[stream]map[string]bool{}
	for _, s := range r.TextLines() {
		var m map[string]string
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		k := stream{m["cvm"], m["log"]}
		if files[k] == nil {
			files[k] = map[string]bool{}
		}
		files[k][filepath.Base(m["file"])] = true
		st, ok := logtime.Parse([]byte(m["line"]), began, nil)
		if !ok {
			continue
		}
		at := st.Time
		if first[k].IsZero() {
			first[k] = at
		}
		last[k] = at
	}
	for _, c := range l.CVMs {
		for _, log := range []string{"genesis", "stargate.INFO"} {
			k := stream{c.Name, log}
			// The first line is within a line interval (10s) after two hours ago.
			if age := began.Sub(first[k]); age > 2*time.Hour+time.Minute || age < 2*time.Hour-time.Minute {
				t.Errorf("%s %s: first line at %v, %v ago; want about 2h", c.Name, log, first[k], age)
			}
			if began.Sub(last[k]) > 5*time.Minute {
				t.Errorf("%s %s: last line at %v", c.Name, log, last[k])
			}
			compressed := 0
			for f := range files[k] {
				if strings.HasSuffix(f, ".xz") || strings.HasSuffix(f, ".gz") {
					compressed++
				}
			}
			if len(files[k]) < 4 || compressed == 0 {
				t.Errorf("%s %s: lines from %v; want rotated and compressed files too", c.Name, log, files[k])
			}
		}
	}
	if s := r.Stderr(); s != "" {
		t.Errorf("stderr %q", s)
	}
}
