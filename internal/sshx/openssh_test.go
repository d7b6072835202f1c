//go:build linux

package sshx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// TestAgainstOpenSSH dials a real sshd: it must answer our keepalives (OpenSSH refuses
// keepalive@openssh.com, which still counts as an answer), and a frozen one (SIGSTOP)
// must be declared dead by them. Skipped where the harness cannot run sshd.
func TestAgainstOpenSSH(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{})
	cvm := cl.CVMs[0]
	d, err := sshx.NewDialer(sshx.Options{
		User:                cl.User,
		Port:                cl.Port,
		IdentityFiles:       []string{cl.KeyFile},
		ConfigFile:          cl.SSHConfig,
		KnownHostsFile:      cl.KnownHosts,
		HomeDir:             t.TempDir(),
		ConnectTimeout:      5 * time.Second,
		ServerAliveInterval: 200 * time.Millisecond,
		ServerAliveCountMax: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Dial(context.Background(), cvm.Addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer func() { _ = c.Close() }()

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo alive")
	if err != nil || strings.TrimSpace(string(out)) != "alive" {
		t.Fatalf("echo: %q, %v", out, err)
	}
	select {
	case <-c.Done():
		t.Fatalf("live sshd declared dead: %v", c.Err())
	case <-time.After(time.Second):
	}

	cvm.Stop(t)
	defer cvm.Cont(t)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("frozen sshd not detected within 5s")
	}
	if c.Err() == nil || !strings.Contains(c.Err().Error(), "no answer to keepalive") {
		t.Errorf("Err() = %v, want no answer to keepalive", c.Err())
	}
}
