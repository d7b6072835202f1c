//go:build linux

package main_test

// A cluster that changes while it is followed: CVMs down when tail starts (an upgrade
// reboots them one at a time), a rolling restart, membership changes seen through Prism.

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

func TestE2EDownAtStartIsFollowedOnceReached(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 3})
	up, refused, frozen := cl.CVMs[0], cl.CVMs[1], cl.CVMs[2]
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", seq(1, 20))
	}
	refused.Kill(t) // nothing listens: connection refused
	frozen.Stop(t)  // the port accepts, sshd never answers
	r := start(t, append([]string{"tail", "genesis", "-n", "5", "--connect-timeout", "1s"}, cl.Args()...)...)
	r.WaitLines("the CVM that is up", 20*time.Second, func(l []string) bool { return len(numbers(t, l, up.Addr+" genesis ")) >= 5 })
	waitStderr(t, r, "the refused CVM found down", 20*time.Second, "cvmtail: "+refused.Addr+": unreachable (", 1)
	waitStderr(t, r, "the frozen CVM found down", 20*time.Second, "cvmtail: "+frozen.Addr+": unreachable (", 1)
	for _, c := range []*sshdcvm.CVM{refused, frozen} {
		c.Append(t, "genesis.out", seq(21, 25))
	}
	time.Sleep(3 * time.Second) // down for a while: several retries
	refused.Restart(t)
	frozen.Cont(t)
	for _, c := range []*sshdcvm.CVM{refused, frozen} {
		prefix := c.Addr + " genesis "
		// The usual backlog (-n 5) of the file as it is when reached, then what is appended.
		r.WaitLines("the backlog once reached", 60*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= 5 })
		c.Append(t, "genesis.out", seq(26, 30))
		r.WaitLines("lines appended once reached", 20*time.Second, func(l []string) bool { return len(numbers(t, l, prefix)) >= 10 })
	}
	_ = r.Cmd().Process.Signal(os.Interrupt)
	if code := r.Wait(3 * time.Second); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	stderr := r.Stderr()
	for _, c := range []*sshdcvm.CVM{refused, frozen} {
		exactly(t, c.Addr, numbers(t, r.Lines(), c.Addr+" genesis "), span(21, 30))
		if strings.Count(stderr, "cvmtail: "+c.Addr+": unreachable (") != 1 || strings.Count(stderr, "cvmtail: "+c.Addr+": reached") != 1 {
			t.Errorf("%s: want one 'unreachable' and one 'reached' line, got:\n%s", c.Addr, stderr)
		}
	}
	exactly(t, up.Addr, numbers(t, r.Lines(), up.Addr+" genesis "), span(16, 20))
	if strings.Contains(stderr, "failed") {
		t.Errorf("stderr:\n%s", stderr)
	}
	noLeftovers(t, cl)
}

func TestE2EStopWhileRetryingADownCVM(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	cl.CVMs[0].Write(t, "genesis.out", seq(1, 1))
	cl.CVMs[1].Kill(t)
	r := start(t, append([]string{"tail", "genesis"}, cl.Args()...)...)
	waitStderr(t, r, "the CVM found down", 20*time.Second, "cvmtail: "+cl.CVMs[1].Addr+": unreachable (", 1)
	time.Sleep(2 * time.Second) // into the backoff between retries
	stopped := time.Now()
	_ = r.Cmd().Process.Signal(os.Interrupt)
	code := r.Wait(5 * time.Second)
	if took := time.Since(stopped); code != 130 || took > 2*time.Second {
		t.Errorf("exit %d after %v, want 130 within 2 s", code, took)
	}
	noLeftovers(t, cl)
}

// Where retrying cannot help, or the run must end on its own, a CVM down at start fails
// for good: one line, the stream ends, status 1 (3 when nothing was delivered). (A missing
// file stays as it was: an error without follow, waited for when following.)
func TestE2EDownAtStartFailsForGoodWhenItMust(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	up, down := cl.CVMs[0], cl.CVMs[1]
	up.Write(t, "genesis.out", "ok line\n")
	down.Kill(t)
	both := cl.Args()
	onlyDown := replaceFlag(cl.Args(), "--cvm", down.Addr)
	emptyKnown := t.TempDir() + "/known_hosts"
	must(t, os.WriteFile(emptyKnown, nil, 0o600))
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"--no-follow", append([]string{"tail", "genesis", "--no-follow"}, both...), 1, "cvmtail: " + down.Addr + ": "},
		{"--no-follow, nothing delivered", append([]string{"tail", "genesis", "--no-follow"}, onlyDown...), 3, "cvmtail: " + down.Addr + ": "},
		{"--duration", append([]string{"tail", "genesis", "--duration", "3s"}, both...), 1, "cvmtail: " + down.Addr + ": "},
		{"--duration, nothing delivered", append([]string{"tail", "genesis", "--duration", "3s"}, onlyDown...), 3, "cvmtail: " + down.Addr + ": "},
		{"following, unknown host key", append([]string{"tail", "genesis"}, replaceFlag(replaceFlag(cl.Args(), "--cvm", up.Addr), "--known-hosts", emptyKnown)...), 3, "unknown host key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.args...)
			code := r.Wait(30 * time.Second)
			stderr := r.Stderr()
			if code != tc.status || !strings.Contains(stderr, tc.stderr) || strings.Contains(stderr, "retrying") {
				t.Errorf("exit %d, want %d, failing for good (%q); stderr:\n%s", code, tc.status, tc.stderr, stderr)
			}
		})
	}
	noLeftovers(t, cl)
}

// replaceFlag returns args with flag's value replaced.
func replaceFlag(args []string, flag, value string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == flag && i+1 < len(out) {
			out[i+1] = value
		}
	}
	return out
}

// TestE2EPrismMembershipChangesWhileFollowing changes the simulator's host list while tail
// follows its cluster: a CVM that appears is followed from its backlog, one that leaves is
// stopped, one whose address changes is reached at the new one without losing or repeating
// a line, and a Prism gone at refresh time changes nothing and is said once.
func TestE2EPrismMembershipChangesWhileFollowing(t *testing.T) {
	const moved = "127.0.0.61" // CVM 1 listens there too: the same CVM at a new address
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 3, ExtraAddrs: map[int][]string{1: {moved}}})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", seq(1, 20))
	}
	srv, ca, sim := startPrismSim(t, cl, nil)
	const leaving, moving, coming = "NTNX-21AB0001-A", "NTNX-21AB0001-B", "NTNX-21AB0001-C"
	sim.SetHostListed(coming, false) // not in the cluster yet
	args := append([]string{"tail", "genesis", "-n", "5", "--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01",
		"--refresh-interval", "1s", "--template", "{{.cvm}} {{.address}} {{.line}}"}, sshArgs(cl)...)
	r := startEnv(t, prismEnv, args...)
	name := func(host string) string { return host + "-CVM" }
	// lines are the numbers of a CVM's lines, from any address, in order.
	lines := func(l []string, host string) []int {
		var out []int
		for _, line := range l {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == name(host) {
				out = append(out, numbers(t, []string{f[2]}, "")...)
			}
		}
		return out
	}
	has := func(host string, n int) func([]string) bool {
		return func(l []string) bool { return len(lines(l, host)) >= n }
	}
	r.WaitLines("the backlogs", 20*time.Second, func(l []string) bool { return has(leaving, 5)(l) && has(moving, 5)(l) })
	if got := lines(r.Lines(), coming); len(got) != 0 {
		t.Fatalf("a CVM not in Prism's list was followed: %v", got)
	}

	// A node added: followed from its backlog.
	sim.SetHostListed(coming, true)
	waitStderr(t, r, "the new CVM", 20*time.Second, "cvmtail: "+name(coming)+": new in Prism's CVM list ("+cl.CVMs[2].Addr+"); following it", 1)
	r.WaitLines("the new CVM's backlog", 20*time.Second, has(coming, 5))

	// A node removed: stopped, with nothing left running on it.
	sim.SetHostListed(leaving, false)
	waitStderr(t, r, "the CVM that left", 20*time.Second, "cvmtail: "+name(leaving)+": no longer in Prism's CVM list; stopped following it", 1)
	if left, err := cl.CVMs[0].WaitNoUserProcesses(5 * time.Second); err != nil || len(left) > 0 {
		t.Errorf("processes left on the CVM that left: %v (%v)", left, err)
	}
	cl.CVMs[0].Append(t, "genesis.out", seq(21, 25)) // not followed any more

	// A new address: reconnected there, each file resuming after its last line.
	cl.CVMs[1].Append(t, "genesis.out", seq(21, 25))
	r.WaitLines("lines before the move", 20*time.Second, has(moving, 10))
	sim.SetHostState(moving, prismsim.HostState{CVMAddress: moved})
	waitStderr(t, r, "the move", 20*time.Second, "cvmtail: "+name(moving)+": Prism gives it a new address, "+moved+" (was "+cl.CVMs[1].Addr+"); reconnecting there", 1)
	cl.CVMs[1].Append(t, "genesis.out", seq(26, 30))
	r.WaitLines("lines from the new address", 20*time.Second, func(l []string) bool {
		return has(moving, 15)(l) && strings.HasPrefix(l[len(l)-1], name(moving)+" "+moved+" ")
	})

	// Prism gone at refresh time: nothing changes, said once; then back.
	sim.SetDown(true)
	waitStderr(t, r, "Prism gone", 20*time.Second, "cannot refresh the CVM list", 1)
	calls := sim.Total()
	r.WaitLines("more refreshes", 20*time.Second, func([]string) bool { return sim.Total() >= calls+2 })
	cl.CVMs[2].Append(t, "genesis.out", seq(21, 21))
	r.WaitLines("the CVMs still followed", 20*time.Second, has(coming, 6))
	sim.SetDown(false)
	waitStderr(t, r, "Prism back", 20*time.Second, "answering again", 1)

	_ = r.Cmd().Process.Signal(os.Interrupt)
	if code := r.Wait(3 * time.Second); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	stderr := r.Stderr()
	exactly(t, "the CVM that left", lines(r.Lines(), leaving), span(16, 20))
	exactly(t, "the moved CVM", lines(r.Lines(), moving), span(16, 30))
	exactly(t, "the new CVM", lines(r.Lines(), coming), span(16, 21))
	for _, w := range []string{"cannot refresh the CVM list", name(moving) + ": reconnected", "answering again"} {
		if n := strings.Count(stderr, w); n != 1 {
			t.Errorf("%q said %d times, want once:\n%s", w, n, stderr)
		}
	}
	if strings.Contains(stderr, "connection lost") || strings.Contains(stderr, "failed") {
		t.Errorf("stderr:\n%s", stderr)
	}
	noLeftovers(t, cl)
}
