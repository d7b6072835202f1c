//go:build linux

package sshdcvm_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// ssh runs remote on c with the system ssh client and returns its stdout.
func ssh(t *testing.T, c *sshdcvm.CVM, timeout time.Duration, remote string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stderr strings.Builder
	cmd := c.Command(ctx, remote)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s %q: %v: %s", c.Addr, remote, err, stderr.String())
	}
	return string(out), nil
}

func mustSSH(t *testing.T, c *sshdcvm.CVM, remote string) string {
	t.Helper()
	out, err := ssh(t, c, 20*time.Second, remote)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEachCVMSeesItsOwnLogs(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	for _, c := range cl.CVMs {
		c.Write(t, "x", "log of "+c.Addr+"\n")
		c.Append(t, "sub/dir/y.out", "nested\n")
	}
	for _, c := range cl.CVMs {
		if got, want := mustSSH(t, c, "cat "+c.RemotePath("x")), "log of "+c.Addr+"\n"; got != want {
			t.Errorf("%s: cat x = %q, want %q", c.Addr, got, want)
		}
		if got := mustSSH(t, c, "cat /home/nutanix/data/logs/sub/dir/y.out; id -un"); got != "nested\nnutanix\n" {
			t.Errorf("%s: nested file and user = %q", c.Addr, got)
		}
		// Its own PID namespace: sshd is PID 1 and ps shows nothing of the host.
		if got := mustSSH(t, c, "tr '\\0' ' ' </proc/1/cmdline; echo; ps -e -o comm= | sort -u | tr '\\n' ' '"); !strings.HasPrefix(got, "sshd: /usr/sbin/sshd") ||
			strings.Contains(got, ".test") {
			t.Errorf("%s: PID 1 and processes as the CVM sees them: %q", c.Addr, got)
		}
		if procs, err := c.WaitNoUserProcesses(5 * time.Second); err != nil || len(procs) > 0 {
			t.Errorf("%s: user processes after the sessions ended: %v (%v)", c.Addr, procs, err)
		}
	}

	want := []string{
		"--cvm", "127.0.0.11,127.0.0.12", "--ssh-port", fmt.Sprint(cl.Port), "-i", cl.KeyFile,
		"--known-hosts", cl.KnownHosts, "--ssh-user", "nutanix", "--ssh-config", cl.SSHConfig,
	}
	if got := cl.Args(); !slices.Equal(got, want) {
		t.Errorf("Args() = %q, want %q", got, want)
	}
}

func TestUserProcessesShowsOpenSessions(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	c := cl.CVMs[0]
	cmd := c.Command(context.Background(), "exec cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The echo proves cat runs.
	if _, err := io.WriteString(stdin, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo %q, %v", line, err)
	}
	procs, err := c.UserProcesses()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(procs, func(p sshdcvm.Proc) bool { return p.Cmdline == "cat" }) {
		t.Errorf("UserProcesses during the session = %v, want a cat among them", procs)
	}
	stdin.Close() // cat ends on EOF, and so does the session
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if procs, err := c.WaitNoUserProcesses(5 * time.Second); err != nil || len(procs) > 0 {
		t.Errorf("user processes after the session ended: %v (%v)", procs, err)
	}
}

func TestKillRestartStopCont(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, MaxSessions: 3})
	c0, c1 := cl.CVMs[0], cl.CVMs[1]
	c0.Write(t, "x", "kept\n")

	c0.Kill(t)
	if _, err := ssh(t, c0, 10*time.Second, "true"); err == nil {
		t.Errorf("%s answers after Kill", c0.Addr)
	}
	if got := mustSSH(t, c1, "echo alive"); got != "alive\n" {
		t.Errorf("%s after killing its neighbour: %q", c1.Addr, got)
	}
	c0.Restart(t)
	// Same host key: known_hosts still matches, and the logs are still there.
	if got := mustSSH(t, c0, "cat "+c0.RemotePath("x")); got != "kept\n" {
		t.Errorf("%s after Restart: %q", c0.Addr, got)
	}

	c1.Stop(t)
	if _, err := ssh(t, c1, 2*time.Second, "true"); err == nil {
		t.Errorf("%s answers while stopped", c1.Addr)
	}
	c1.Cont(t)
	if got := mustSSH(t, c1, "echo thawed"); got != "thawed\n" {
		t.Errorf("%s after Cont: %q", c1.Addr, got)
	}
}

func TestOldCVM(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2, OldCVM: []int{1}})
	normal, old := cl.CVMs[0], cl.CVMs[1]
	if normal.Old || !old.Old {
		t.Fatalf("Old = %v, %v; want false, true", normal.Old, old.Old)
	}

	if got := mustSSH(t, normal, "command -v python3"); !strings.Contains(got, "python3") {
		t.Errorf("normal CVM: command -v python3 = %q", got)
	}
	if got, err := ssh(t, old, 20*time.Second, "command -v python3 || command -v python || command -v python3.11"); err == nil {
		t.Errorf("old CVM: a python is available: %q", got)
	}
	if got := mustSSH(t, old, "printf 'a\\nb\\n' | tail -n 1"); got != "b\n" {
		t.Errorf("old CVM: tail does not work: %q", got)
	}
	// Its exit status and errors are tail's own.
	if got, err := ssh(t, old, 20*time.Second, "tail -n 1 /nonexistent 2>&1; echo status $?"); err != nil ||
		!strings.Contains(got, "tail: cannot open '/nonexistent'") || !strings.HasSuffix(got, "status 1\n") {
		t.Errorf("old CVM: tail on a missing file: %q, %v", got, err)
	}

	for _, c := range cl.CVMs {
		c.Write(t, "f", "one\n")
		cmd := c.Command(context.Background(), "tail -F "+c.RemotePath("f"))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "one\n" {
			t.Fatalf("%s: first line %q, %v", c.Addr, line, err)
		}
		// Drop the connection the way a client that goes away does.
		_ = cmd.Process.Kill()
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}

	if procs, err := normal.WaitNoUserProcesses(5 * time.Second); err != nil || len(procs) > 0 {
		t.Errorf("normal CVM: processes left after the session closed: %v (%v)", procs, err)
	}

	time.Sleep(time.Second)
	procs, err := old.UserProcesses()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(procs, func(p sshdcvm.Proc) bool { return p.Cmdline == "tail -F "+old.RemotePath("f") }) {
		t.Fatalf("old CVM: no tail left running after the session closed: %v", procs)
	}
	// Like the old tail, it goes once it writes into the closed channel.
	deadline := time.Now().Add(10 * time.Second)
	for len(procs) > 0 && time.Now().Before(deadline) {
		old.Append(t, "f", "more\n")
		time.Sleep(100 * time.Millisecond)
		if procs, err = old.UserProcesses(); err != nil {
			t.Fatal(err)
		}
	}
	if len(procs) > 0 {
		t.Errorf("old CVM: tail still running after writes into the closed channel: %v", procs)
	}

	// A client that remembers the PID of its tail can still kill it, and that ends it all.
	old.Write(t, "g", "only line\n")
	cmd := old.Command(context.Background(), "echo $$; exec tail -F "+old.RemotePath("g"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	pidLine, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(pidLine)
	// Only once tail's backlog came through is it idle; closing earlier makes it write
	// into the closed channel, and go.
	if line, err := r.ReadString('\n'); err != nil || line != "only line\n" {
		t.Fatalf("old CVM: backlog %q, %v", line, err)
	}
	_ = cmd.Process.Kill()
	_, _ = io.Copy(io.Discard, stdout)
	_ = cmd.Wait()
	isTail := func(p sshdcvm.Proc) bool {
		return fmt.Sprint(p.CVMPID) == pid && strings.HasPrefix(p.Cmdline, "tail -F")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if procs, err = old.UserProcesses(); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(procs, isTail) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old CVM: PID %s is not the lingering tail: %v", pid, procs)
		}
	}
	mustSSH(t, old, "kill "+pid)
	if procs, err := old.WaitNoUserProcesses(5 * time.Second); err != nil || len(procs) > 0 {
		t.Errorf("old CVM: processes left after killing tail %s: %v (%v)", pid, procs, err)
	}
}

func TestStartFourCVMs(t *testing.T) {
	start := time.Now()
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 4, FirstAddr: "127.0.0.31"})
	t.Logf("4 CVMs up in %s", time.Since(start).Round(time.Millisecond))
	for i, c := range cl.CVMs {
		if want := fmt.Sprintf("127.0.0.%d", 31+i); c.Addr != want {
			t.Errorf("CVM %d address %s, want %s", i, c.Addr, want)
		}
		c.Write(t, "genesis.out", c.Addr+"\n")
	}
	for _, c := range cl.CVMs {
		if got := mustSSH(t, c, "cat "+c.RemotePath("genesis.out")); got != c.Addr+"\n" {
			t.Errorf("%s: %q", c.Addr, got)
		}
	}
}
