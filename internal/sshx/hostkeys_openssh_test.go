package sshx_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/sshx/sshxtest"
)

// Host keys as OpenSSH checks them: the system's known_hosts too, HostKeyAlias, and
// accept-new never recording a key for a host some file already knows.
func TestHostKeysAsOpenSSHChecksThem(t *testing.T) {
	t.Parallel()
	t.Run("GlobalKnownHostsFile is read", func(t *testing.T) {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{})
		global := filepath.Join(f.home, "ssh_known_hosts")
		writeFile(t, global, srv.KnownHostsLine(srv.HostKeys[0].PublicKey())+"\n")
		f.writeConfig(t, "Host *\n  GlobalKnownHostsFile "+global+"\n")
		opts := f.options()
		opts.Port = srv.Port
		mustDial(t, opts, "127.0.0.1")
	})

	t.Run("the default global files are read", func(t *testing.T) {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{})
		global := filepath.Join(f.home, "etc_ssh_known_hosts")
		writeFile(t, global, srv.KnownHostsLine(srv.HostKeys[0].PublicKey())+"\n")
		opts := f.options()
		opts.Port, opts.GlobalKnownHostsFiles = srv.Port, []string{filepath.Join(f.home, "missing"), global}
		mustDial(t, opts, "127.0.0.1")
	})

	t.Run("accept-new refuses a key the global file knows otherwise, and records nothing", func(t *testing.T) {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{})
		global := filepath.Join(f.home, "ssh_known_hosts")
		writeFile(t, global, srv.KnownHostsLine(sshxtest.NewKey(t, "ed25519").PublicKey())+"\n")
		f.writeConfig(t, "Host *\n  GlobalKnownHostsFile "+global+"\n")
		opts := f.options()
		opts.Port, opts.HostKeyCheck = srv.Port, sshx.HostKeyAcceptNew
		_, err := dial(t, opts, "127.0.0.1")
		var hkErr *sshx.HostKeyError
		if !errors.As(err, &hkErr) || !hkErr.Changed || hkErr.KnownHostsFile != global {
			t.Errorf("err = %v, want a changed key found in %s", err, global)
		}
		if data, _ := os.ReadFile(f.knownHosts); len(data) != 0 {
			t.Errorf("accept-new recorded a key the global file knows otherwise:\n%s", data)
		}
	})

	t.Run("accept-new records nothing for a key the second user file knows", func(t *testing.T) {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{})
		second := filepath.Join(f.home, ".ssh", "known_hosts2")
		writeFile(t, second, srv.KnownHostsLine(srv.HostKeys[0].PublicKey())+"\n")
		opts := f.options()
		opts.Port, opts.HostKeyCheck = srv.Port, sshx.HostKeyAcceptNew
		mustDial(t, opts, "127.0.0.1")
		if data, _ := os.ReadFile(f.knownHosts); len(data) != 0 {
			t.Errorf("accept-new recorded a key known_hosts2 holds:\n%s", data)
		}
	})

	t.Run("HostKeyAlias names the key", func(t *testing.T) {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{})
		key := srv.HostKeys[0].PublicKey()
		writeFile(t, f.knownHosts, knownhosts.Line([]string{"ntnx-cvm-a"}, key)+"\n")
		f.writeConfig(t, fmt.Sprintf("Host cvm-a\n  HostName 127.0.0.1\n  Port %d\n  HostKeyAlias ntnx-cvm-a\n", srv.Port))
		mustDial(t, f.options(), "cvm-a")

		// A key known under the address only does not count for the alias.
		writeFile(t, f.knownHosts, srv.KnownHostsLine(key)+"\n")
		if _, err := dial(t, f.options(), "cvm-a"); err == nil {
			t.Error("the key was found under the address although HostKeyAlias names another entry")
		}
		// accept-new records it under the alias.
		opts := f.options()
		opts.HostKeyCheck = sshx.HostKeyAcceptNew
		mustDial(t, opts, "cvm-a")
		data, _ := os.ReadFile(f.knownHosts)
		if !strings.Contains(string(data), knownhosts.Line([]string{"ntnx-cvm-a"}, key)) {
			t.Errorf("known_hosts after accept-new:\n%s", data)
		}
	})
}

func TestHostKeyCheckOffWarnsOnce(t *testing.T) {
	t.Parallel()
	for _, viaConfig := range []bool{false, true} {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{})
		var warnings []string
		opts := f.options()
		opts.Port = srv.Port
		opts.Warn = func(msg string) { warnings = append(warnings, msg) }
		want := "(as asked)"
		if viaConfig {
			want = "(StrictHostKeyChecking no in " + f.writeConfig(t, "Host *\n  StrictHostKeyChecking no\n") + ")"
		} else {
			opts.HostKeyCheck = sshx.HostKeyOff
		}
		d, err := sshx.NewDialer(opts)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			c, err := d.Dial(t.Context(), "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
		}
		if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "warning: not checking the CVMs' SSH host keys "+want) {
			t.Errorf("warnings %q, want one naming %s", warnings, want)
		}
	}
}

func TestIdentitiesOnly(t *testing.T) {
	t.Parallel()
	f := emptyHome(t)
	sock, agentKey := startAgent(t, nil)
	fileKey := sshxtest.WriteKey(t, filepath.Join(f.home, "keys", "cvm_key"), "")
	// The CVM takes the agent's key only: with IdentitiesOnly the agent's other keys are not
	// offered, so the login fails, as with OpenSSH.
	srv := sshxtest.Start(t, sshxtest.Config{User: "nutanix", AuthorizedKeys: []ssh.PublicKey{agentKey.PublicKey()}})
	f.trust(t, srv, srv.HostKeys[0].PublicKey())
	for _, only := range []string{"no", "yes"} {
		f.writeConfig(t, fmt.Sprintf("Host cvm\n  HostName 127.0.0.1\n  Port %d\n  IdentityFile ~/keys/cvm_key\n  IdentitiesOnly %s\n", srv.Port, only))
		opts := f.options()
		opts.AgentSocket = sock
		_, err := dial(t, opts, "cvm")
		var authErr *sshx.AuthError
		switch only {
		case "no":
			if err != nil {
				t.Errorf("IdentitiesOnly no: %v", err)
			}
		case "yes":
			if !errors.As(err, &authErr) || authErr.Offered != 1 {
				t.Errorf("IdentitiesOnly yes: err = %v, want an AuthError after offering the file's key alone", err)
			}
		}
	}
	_ = fileKey

	// The agent still signs for a configured key it holds.
	f.writeConfig(t, fmt.Sprintf("Host cvm\n  HostName 127.0.0.1\n  Port %d\n  IdentityFile ~/keys/agent_key\n  IdentitiesOnly yes\n", srv.Port))
	writeFile(t, filepath.Join(f.home, "keys", "agent_key.pub"), string(ssh.MarshalAuthorizedKey(agentKey.PublicKey())))
	opts := f.options()
	opts.AgentSocket = sock
	mustDial(t, opts, "cvm")
}
