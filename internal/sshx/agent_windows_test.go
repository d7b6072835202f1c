package sshx

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/sys/windows"
)

// An agent on a named pipe of its own, served as the OpenSSH agent service would: the
// client opens it by name, lists the key, and deadlines work on it.
func TestDialAgentNamedPipe(t *testing.T) {
	name := fmt.Sprintf(`\\.\pipe\cvmtail-test-agent-%d`, os.Getpid())
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateNamedPipe(name16, windows.PIPE_ACCESS_DUPLEX,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT, 1, 4096, 4096, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	server := os.NewFile(uintptr(h), name)
	defer server.Close()
	go func() {
		if err := windows.ConnectNamedPipe(h, nil); err != nil && !errors.Is(err, windows.ERROR_PIPE_CONNECTED) {
			return
		}
		_ = agent.ServeAgent(keyring, server)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := dialAgent(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Errorf("SetDeadline on the pipe: %v", err)
	}
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("agent lists %d keys, want 1", len(keys))
	}
}

// No agent service running: the pipe does not exist, which connectAgent treats as "no
// agent" without a warning when it is the default.
func TestDialAgentNoPipe(t *testing.T) {
	_, err := dialAgent(context.Background(), `\\.\pipe\cvmtail-test-no-such-agent`)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dialAgent to a missing pipe: %v, want an fs.ErrNotExist", err)
	}
}
