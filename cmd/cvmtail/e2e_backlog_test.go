//go:build linux

package main_test

// End-to-end tests of the backlog's counts (issue 19, point 10) and of tail's keys in a
// config context (point 8), against real sshd CVMs: one with the Python agent, one old
// CVM without Python that gets the tail -F fallback.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

func TestE2EWholeFileAndLinesBeforeGrep(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, OldCVM: []int{1}})
	var content strings.Builder
	for i := 1; i <= 25; i++ {
		fmt.Fprintf(&content, "line %02d\n", i)
	}
	for _, c := range cl.CVMs {
		c.Write(t, "svc.out", content.String())
	}
	path := cl.CVMs[0].RemotePath("svc.out") // the same path on every CVM
	// linesByCVM runs tail with args and returns each CVM's lines.
	linesByCVM := func(args ...string) map[string][]string {
		t.Helper()
		r := start(t, append(append([]string{"tail", path, "--no-follow", "-o", "json"}, args...), cl.Args()...)...)
		if code := r.Wait(30 * time.Second); code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, code, r.Stderr())
		}
		got := map[string][]string{}
		for _, l := range r.Lines() {
			var rec struct{ CVM, Line string }
			must(t, json.Unmarshal([]byte(l), &rec))
			got[rec.CVM] = append(got[rec.CVM], rec.Line)
		}
		return got
	}
	for _, n := range []string{"all", "+1"} {
		got := linesByCVM("-n", n)
		for _, a := range cl.Addrs() {
			if len(got[a]) != 25 || got[a][0] != "line 01" || got[a][24] != "line 25" {
				t.Errorf("-n %s: %s gave %d lines %q, want the whole file", n, a, len(got[a]), got[a])
			}
		}
	}
	// -n counts in the file, before --grep: the last 3 lines hold no "line 0".
	got := linesByCVM("-n", "3", "--grep", "line 0")
	if len(got) != 0 {
		t.Errorf("-n 3 --grep 'line 0': %v, want nothing (not the last 3 matches)", got)
	}
	got = linesByCVM("-n", "3", "--grep", "line 2[45]")
	for _, a := range cl.Addrs() {
		if !slices.Equal(got[a], []string{"line 24", "line 25"}) {
			t.Errorf("-n 3 --grep 'line 2[45]': %s gave %q", a, got[a])
		}
	}
}

// A context's tail keys apply to a real run as the flags would: lines, grep, output.
func TestE2EContextSetsTailFlags(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	c.Write(t, "genesis.out", "one ERROR\ntwo\nthree error\nfour ERROR\n")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`default: lab
contexts:
  lab:
    cvm: %s
    ssh-port: %d
    identity: %s
    known-hosts: %s
    ssh-user: %s
    ssh-config: %s
    lines: all
    grep: error
    ignore-case: true
    output: raw
`, c.Addr, cl.Port, cl.KeyFile, cl.KnownHosts, cl.User, cl.SSHConfig)), 0o600))
	r := startEnv(t, []string{"CVMTAIL_CONFIG=" + cfg}, "tail", "genesis", "--no-follow")
	if code := r.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
	}
	if got := strings.Join(r.Lines(), ""); got != "one ERROR\nthree error\nfour ERROR\n" {
		t.Errorf("stdout %q, want the three error lines, raw", got)
	}
	// The command line wins.
	r = startEnv(t, []string{"CVMTAIL_CONFIG=" + cfg}, "tail", "genesis", "--no-follow", "-n", "1", "--grep", "four")
	if code := r.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, r.Stderr())
	}
	if got := strings.Join(r.Lines(), ""); got != "four ERROR\n" {
		t.Errorf("stdout %q, want four ERROR", got)
	}
}
