package sshx_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/sshx/sshxtest"
)

// fixture is a home directory with a default key (~/.ssh/id_ed25519) and known_hosts path.
type fixture struct {
	home       string
	key        ssh.Signer
	knownHosts string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	home := t.TempDir()
	return &fixture{
		home:       home,
		key:        sshxtest.WriteKey(t, filepath.Join(home, ".ssh", "id_ed25519"), ""),
		knownHosts: filepath.Join(home, ".ssh", "known_hosts"),
	}
}

// emptyHome is a home directory without keys.
func emptyHome(t *testing.T) *fixture {
	t.Helper()
	home := t.TempDir()
	return &fixture{home: home, knownHosts: filepath.Join(home, ".ssh", "known_hosts")}
}

// options keep the machine's own /etc/ssh/ssh_known_hosts out of the tests.
func (f *fixture) options() sshx.Options {
	return sshx.Options{HomeDir: f.home, ConnectTimeout: 5 * time.Second, GlobalKnownHostsFiles: []string{}}
}

func (f *fixture) writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(f.home, ".ssh", "config")
	writeFile(t, path, text)
	return path
}

// trust records key for srv in known_hosts.
func (f *fixture) trust(t *testing.T, srv *sshxtest.Server, key ssh.PublicKey) {
	t.Helper()
	appendFile(t, f.knownHosts, srv.KnownHostsLine(key)+"\n")
}

// server starts a CVM that accepts the fixture's key for user nutanix.
func (f *fixture) server(t *testing.T, cfg sshxtest.Config) *sshxtest.Server {
	t.Helper()
	if cfg.AuthorizedKeys == nil && f.key != nil {
		cfg.AuthorizedKeys = []ssh.PublicKey{f.key.PublicKey()}
	}
	if cfg.User == "" {
		cfg.User = "nutanix"
	}
	return sshxtest.Start(t, cfg)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func dial(t *testing.T, opts sshx.Options, host string) (*sshx.Client, error) {
	t.Helper()
	d, err := sshx.NewDialer(opts)
	if err != nil {
		t.Fatalf("NewDialer: %v", err)
	}
	c, err := d.Dial(context.Background(), host)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func mustDial(t *testing.T, opts sshx.Options, host string) *sshx.Client {
	t.Helper()
	c, err := dial(t, opts, host)
	if err != nil {
		t.Fatalf("Dial(%s): %v", host, err)
	}
	return c
}

func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	const config = `
Host cvm1
  HostName 127.0.0.5
  User cfguser
  Port 2222
  IdentityFile ~/.ssh/cfg_key
  UserKnownHostsFile ~/.ssh/cfg_known_hosts ~/.ssh/second_known_hosts
  StrictHostKeyChecking accept-new
  ConnectTimeout 7
  ServerAliveInterval 15
  ServerAliveCountMax 5
  ProxyJump bastion,jumper@other:2200

Host cvm2
  HostName %h.cluster.example
  StrictHostKeyChecking no

Host *
  User star
`
	home := t.TempDir()
	inHome := func(p string) string { return filepath.Join(home, p) }
	defaultKeys := []string{inHome(".ssh/id_ed25519"), inHome(".ssh/id_ecdsa"), inHome(".ssh/id_rsa")}
	globalFiles := []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	defaults := sshx.HostConfig{
		User: "nutanix", Port: 22, IdentityFiles: defaultKeys,
		KnownHostsFile:  inHome(".ssh/known_hosts"),
		KnownHostsFiles: []string{inHome(".ssh/known_hosts"), inHome(".ssh/known_hosts2")}, GlobalKnownHostsFiles: globalFiles,
		HostKeyCheck:   sshx.HostKeyStrict,
		ConnectTimeout: 10 * time.Second, ServerAliveInterval: sshx.DefaultServerAliveInterval, ServerAliveCountMax: sshx.DefaultServerAliveCountMax,
	}
	fromConfig := sshx.HostConfig{
		Host: "cvm1", HostName: "127.0.0.5", User: "cfguser", Port: 2222,
		IdentityFiles:   []string{inHome(".ssh/cfg_key")},
		ProxyJump:       []string{"bastion", "jumper@other:2200"},
		KnownHostsFile:  inHome(".ssh/cfg_known_hosts"),
		KnownHostsFiles: []string{inHome(".ssh/cfg_known_hosts"), inHome(".ssh/second_known_hosts")}, GlobalKnownHostsFiles: globalFiles,
		HostKeyCheck:   sshx.HostKeyAcceptNew,
		ConnectTimeout: 7 * time.Second, ServerAliveInterval: 15 * time.Second, ServerAliveCountMax: 5,
	}
	flagKey := filepath.Join(t.TempDir(), "flag_key")
	sshxtest.WriteKey(t, flagKey, "")
	flags := sshx.Options{
		User: "flaguser", Port: 2022, IdentityFiles: []string{flagKey},
		KnownHostsFile: "/kh/flag_known_hosts", HostKeyCheck: sshx.HostKeyStrict,
		ConnectTimeout: 3 * time.Second, ServerAliveInterval: 200 * time.Millisecond, ServerAliveCountMax: 2,
	}
	with := func(base sshx.HostConfig, change func(*sshx.HostConfig)) sshx.HostConfig {
		change(&base)
		return base
	}

	tests := []struct {
		name   string
		config string // "" = no ~/.ssh/config
		opts   sshx.Options
		host   string
		want   sshx.HostConfig
	}{
		{
			name: "defaults without ssh_config", host: "10.1.1.12",
			want: with(defaults, func(h *sshx.HostConfig) { h.Host, h.HostName = "10.1.1.12", "10.1.1.12" }),
		},
		{
			name: "ssh_config over defaults", config: config, host: "cvm1",
			want: fromConfig,
		},
		{
			name: "flags over ssh_config", config: config, opts: flags, host: "cvm1",
			want: with(fromConfig, func(h *sshx.HostConfig) {
				h.User, h.Port = "flaguser", 2022
				h.IdentityFiles = []string{flagKey, inHome(".ssh/cfg_key")} // -i first, as OpenSSH
				h.KnownHostsFile, h.HostKeyCheck = "/kh/flag_known_hosts", sshx.HostKeyStrict
				h.KnownHostsFiles = []string{"/kh/flag_known_hosts"}
				h.ConnectTimeout, h.ServerAliveInterval, h.ServerAliveCountMax = 3*time.Second, 200*time.Millisecond, 2
			}),
		},
		{
			name: "flags over defaults", opts: flags, host: "10.1.1.13",
			want: with(defaults, func(h *sshx.HostConfig) {
				h.Host, h.HostName = "10.1.1.13", "10.1.1.13"
				h.User, h.Port = "flaguser", 2022
				h.IdentityFiles = []string{flagKey} // no default keys once one is given
				h.KnownHostsFile, h.KnownHostsFiles = "/kh/flag_known_hosts", []string{"/kh/flag_known_hosts"}
				h.ConnectTimeout, h.ServerAliveInterval, h.ServerAliveCountMax = 3*time.Second, 200*time.Millisecond, 2
			}),
		},
		{
			name: "Host * fills what the host block leaves", config: config, host: "10.1.1.14",
			want: with(defaults, func(h *sshx.HostConfig) { h.Host, h.HostName, h.User = "10.1.1.14", "10.1.1.14", "star" }),
		},
		{
			name: "HostName tokens and StrictHostKeyChecking no", config: config, host: "cvm2",
			want: with(defaults, func(h *sshx.HostConfig) {
				h.Host, h.HostName, h.User, h.HostKeyCheck = "cvm2", "cvm2.cluster.example", "star", sshx.HostKeyOff
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.RemoveAll(filepath.Join(home, ".ssh"))
			if tt.config != "" {
				writeFile(t, filepath.Join(home, ".ssh", "config"), tt.config)
			}
			opts := tt.opts
			opts.HomeDir = home
			d, err := sshx.NewDialer(opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Resolve(tt.host); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve(%s)\n got %+v\nwant %+v", tt.host, got, tt.want)
			}
		})
	}
}

func TestNewDialerConfigErrors(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "garbage_key"), "not a key\n")
	// A legacy encrypted PEM header is enough to be refused, and costs no bcrypt rounds.
	writeFile(t, filepath.Join(home, "encrypted_key"), "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
	writeFile(t, filepath.Join(home, "match_exec_config"), "Match exec \"true\"\n  User x\n")
	unreadable := filepath.Join(home, "unreadable_key")
	sshxtest.WriteKey(t, unreadable, "")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		opts     sshx.Options
		wantMsg  []string // all in Error()
		wantHint string
	}{
		{"missing ssh config given", sshx.Options{ConfigFile: filepath.Join(home, "nope")}, []string{"ssh config", "nope", "no such file"}, ""},
		{"ssh config the parser rejects", sshx.Options{ConfigFile: filepath.Join(home, "match_exec_config")}, []string{"match_exec_config"}, ""},
		{"missing key file", sshx.Options{IdentityFiles: []string{filepath.Join(home, "missing_key")}}, []string{"identity file", "missing_key", "no such file"}, ""},
		{"unparsable key file", sshx.Options{IdentityFiles: []string{filepath.Join(home, "garbage_key")}}, []string{"garbage_key", "not a private key"}, ""},
		{"encrypted key file", sshx.Options{IdentityFiles: []string{filepath.Join(home, "encrypted_key")}}, []string{"encrypted_key", "encrypted"}, "ssh-add " + filepath.Join(home, "encrypted_key")},
		{"bad host key policy", sshx.Options{HostKeyCheck: "maybe"}, []string{"maybe"}, ""},
	}
	if os.Geteuid() != 0 { // root reads anything
		tests = append(tests, struct {
			name     string
			opts     sshx.Options
			wantMsg  []string
			wantHint string
		}{"unreadable key file", sshx.Options{IdentityFiles: []string{unreadable}}, []string{"unreadable_key", "permission denied"}, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.HomeDir = home
			_, err := sshx.NewDialer(tt.opts)
			var cfgErr *sshx.ConfigError
			if !errors.As(err, &cfgErr) {
				t.Fatalf("NewDialer error = %v (%T), want *sshx.ConfigError", err, err)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			// The way forward (ssh-add for an encrypted key) is the command line's to say:
			// here, that the error tells what it needs.
			var kfErr *sshx.KeyFileError
			if encrypted := errors.As(err, &kfErr) && kfErr.Encrypted; encrypted != (tt.wantHint != "") {
				t.Errorf("error %v: encrypted %v, want %v", err, encrypted, tt.wantHint != "")
			}
		})
	}

	t.Run("missing default ssh config is fine", func(t *testing.T) {
		if _, err := sshx.NewDialer(sshx.Options{HomeDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDialRejectsBadSSHConfigValues(t *testing.T) {
	f := emptyHome(t)
	f.writeConfig(t, "Host cvm\n  Port twenty-two\n")
	_, err := dial(t, f.options(), "cvm")
	var cfgErr *sshx.ConfigError
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), `bad Port "twenty-two"`) {
		t.Fatalf("Dial error = %v, want *ConfigError naming the bad Port", err)
	}
}

func TestHostKeyPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		policy  sshx.HostKeyPolicy
		config  string // StrictHostKeyChecking through ssh_config instead of the option
		known   string // what known_hosts holds for the server: "none", "same" or "other"
		wantErr string // "", "unknown" or "changed"
	}{
		{name: "strict known", policy: sshx.HostKeyStrict, known: "same"},
		{name: "strict unknown", policy: sshx.HostKeyStrict, known: "none", wantErr: "unknown"},
		{name: "strict changed", policy: sshx.HostKeyStrict, known: "other", wantErr: "changed"},
		{name: "default policy is strict", known: "none", wantErr: "unknown"},
		{name: "accept-new unknown records", policy: sshx.HostKeyAcceptNew, known: "none"},
		{name: "accept-new changed", policy: sshx.HostKeyAcceptNew, known: "other", wantErr: "changed"},
		{name: "off changed", policy: sshx.HostKeyOff, known: "other"},
		{name: "off unknown", policy: sshx.HostKeyOff, known: "none"},
		{name: "ssh_config accept-new", config: "accept-new", known: "none"},
		{name: "ssh_config no", config: "no", known: "other"},
		{name: "option strict over ssh_config no", policy: sshx.HostKeyStrict, config: "no", known: "other", wantErr: "changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			srv := f.server(t, sshxtest.Config{})
			hostKey := srv.HostKeys[0].PublicKey()
			switch tt.known {
			case "same":
				f.trust(t, srv, hostKey)
			case "other":
				f.trust(t, srv, sshxtest.NewKey(t, "ed25519").PublicKey())
			}
			if tt.config != "" {
				f.writeConfig(t, "Host *\n  StrictHostKeyChecking "+tt.config+"\n")
			}
			var warnings []string
			opts := f.options()
			opts.Port = srv.Port
			opts.HostKeyCheck = tt.policy
			opts.Warn = func(msg string) { warnings = append(warnings, msg) }

			_, err := dial(t, opts, "127.0.0.1")
			fp := ssh.FingerprintSHA256(hostKey)
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
			case "unknown", "changed":
				var hkErr *sshx.HostKeyError
				if !errors.As(err, &hkErr) {
					t.Fatalf("Dial error = %v (%T), want *sshx.HostKeyError", err, err)
				}
				if hkErr.Changed != (tt.wantErr == "changed") || hkErr.Fingerprint != fp || hkErr.Host != "127.0.0.1" {
					t.Errorf("HostKeyError = %+v, want changed=%v fingerprint %s", hkErr, tt.wantErr == "changed", fp)
				}
				wantMsg := "127.0.0.1: unknown host key " + fp
				if tt.wantErr == "changed" {
					wantMsg = fmt.Sprintf("127.0.0.1: HOST KEY CHANGED (now %s; %s:1 has another)", fp, f.knownHosts)
				}
				if err.Error() != wantMsg {
					t.Errorf("error %q, want %q", err, wantMsg)
				}
				// What the hint is made of (internal/cmdutil/hints.go).
				if hkErr.KnownHostsFile != f.knownHosts || hkErr.KnownAs() != fmt.Sprintf("[127.0.0.1]:%d", srv.Port) ||
					hkErr.KeyscanArgs() != "-p "+strconv.Itoa(srv.Port)+" 127.0.0.1" {
					t.Errorf("HostKeyError %+v: known as %q, keyscan %q", hkErr, hkErr.KnownAs(), hkErr.KeyscanArgs())
				}
				if len(srv.Logins()) != 0 {
					t.Errorf("refused host key, yet %d logins", len(srv.Logins()))
				}
			}

			recorded := tt.wantErr == "" && tt.known == "none" && tt.policy != sshx.HostKeyOff
			data, _ := os.ReadFile(f.knownHosts)
			wantLine := srv.KnownHostsLine(hostKey) // [127.0.0.1]:port form
			if got := strings.Contains(string(data), wantLine); tt.known == "none" && got != recorded {
				t.Errorf("known_hosts has the new key: %v, want %v\n%s", got, recorded, data)
			}
			if recorded {
				want := fmt.Sprintf("127.0.0.1: added host key %s to %s", fp, f.knownHosts)
				if len(warnings) != 1 || warnings[0] != want {
					t.Errorf("warnings %q, want [%q]", warnings, want)
				}
				// Recorded, so now even strict accepts it.
				opts.HostKeyCheck = sshx.HostKeyStrict
				mustDial(t, opts, "127.0.0.1")
			}
		})
	}
}

func TestAcceptNewCreatesKnownHostsFile(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, sshxtest.Config{})
	knownHosts := filepath.Join(f.home, "fresh", "dir", "known_hosts")
	opts := f.options()
	opts.Port = srv.Port
	opts.HostKeyCheck = sshx.HostKeyAcceptNew
	opts.KnownHostsFile = knownHosts
	mustDial(t, opts, "127.0.0.1")

	for path, want := range map[string]os.FileMode{knownHosts: 0o600, filepath.Dir(knownHosts): 0o700} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}

// A CVM has several host keys; the client must ask for the type known_hosts holds, or a
// good key of another type would look changed.
func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	t.Parallel()
	for _, known := range []int{0, 1} {
		t.Run(strconv.Itoa(known), func(t *testing.T) {
			f := newFixture(t)
			// The library prefers ecdsa over ed25519 when free to choose.
			srv := f.server(t, sshxtest.Config{HostKeys: []ssh.Signer{sshxtest.NewKey(t, "ecdsa"), sshxtest.NewKey(t, "ed25519")}})
			f.trust(t, srv, srv.HostKeys[known].PublicKey())
			opts := f.options()
			opts.Port = srv.Port
			mustDial(t, opts, "127.0.0.1")
		})
	}
}

// startAgent serves an ssh-agent holding priv (nil: a new key) on a unix socket and
// returns the socket and the key.
func startAgent(t *testing.T, priv crypto.PrivateKey) (string, ssh.Signer) {
	t.Helper()
	if priv == nil {
		var err error
		if _, priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "agent") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = agent.ServeAgent(keyring, c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait(); _ = os.RemoveAll(dir) })
	return sock, signer
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	t.Run("ssh-agent key", func(t *testing.T) {
		f := emptyHome(t)
		sock, agentKey := startAgent(t, nil)
		srv := sshxtest.Start(t, sshxtest.Config{User: "nutanix", AuthorizedKeys: []ssh.PublicKey{agentKey.PublicKey()}})
		f.trust(t, srv, srv.HostKeys[0].PublicKey())
		opts := f.options()
		opts.Port, opts.AgentSocket = srv.Port, sock
		mustDial(t, opts, "127.0.0.1")
		want := []sshxtest.Login{{User: "nutanix", Fingerprint: ssh.FingerprintSHA256(agentKey.PublicKey())}}
		waitFor(t, "the server to record the login", func() bool { return len(srv.Logins()) > 0 })
		if got := srv.Logins(); !reflect.DeepEqual(got, want) {
			t.Errorf("logins %+v, want %+v", got, want)
		}
	})

	t.Run("encrypted -i key held by ssh-agent", func(t *testing.T) {
		f := emptyHome(t)
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sock, agentKey := startAgent(t, priv) // as after ssh-add
		block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		keyPath := filepath.Join(f.home, "encrypted_key")
		writeFile(t, keyPath, string(pem.EncodeToMemory(block)))
		srv := sshxtest.Start(t, sshxtest.Config{User: "nutanix", AuthorizedKeys: []ssh.PublicKey{agentKey.PublicKey()}})
		f.trust(t, srv, srv.HostKeys[0].PublicKey())
		opts := f.options()
		opts.Port, opts.AgentSocket, opts.IdentityFiles = srv.Port, sock, []string{keyPath}
		mustDial(t, opts, "127.0.0.1")
	})

	t.Run("-i key", func(t *testing.T) {
		f := emptyHome(t)
		keyPath := filepath.Join(f.home, "keys", "cvm_key")
		key := sshxtest.WriteKey(t, keyPath, "")
		srv := sshxtest.Start(t, sshxtest.Config{User: "nutanix", AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
		f.trust(t, srv, srv.HostKeys[0].PublicKey())
		opts := f.options()
		opts.Port, opts.IdentityFiles = srv.Port, []string{keyPath}
		mustDial(t, opts, "127.0.0.1")
	})

	t.Run("ssh_config IdentityFile, missing ones skipped", func(t *testing.T) {
		f := emptyHome(t)
		key := sshxtest.WriteKey(t, filepath.Join(f.home, "keys", "cfg_key"), "")
		srv := sshxtest.Start(t, sshxtest.Config{User: "admin", AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
		f.trust(t, srv, srv.HostKeys[0].PublicKey())
		f.writeConfig(t, fmt.Sprintf("Host cvm\n  HostName 127.0.0.1\n  Port %d\n  User admin\n  IdentityFile ~/keys/missing\n  IdentityFile ~/keys/cfg_key\n", srv.Port))
		mustDial(t, f.options(), "cvm")
	})

	t.Run("no accepted key", func(t *testing.T) {
		f := newFixture(t)
		srv := f.server(t, sshxtest.Config{AuthorizedKeys: []ssh.PublicKey{sshxtest.NewKey(t, "ed25519").PublicKey()}})
		f.trust(t, srv, srv.HostKeys[0].PublicKey())
		opts := f.options()
		opts.Port = srv.Port
		_, err := dial(t, opts, "127.0.0.1")
		var authErr *sshx.AuthError
		if !errors.As(err, &authErr) {
			t.Fatalf("Dial error = %v (%T), want *sshx.AuthError", err, err)
		}
		if want := "127.0.0.1: permission denied for user nutanix (publickey)"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if authErr.User != "nutanix" || authErr.Offered != 1 {
			t.Errorf("AuthError %+v: want the user and the one key offered", authErr)
		}
	})
}

func TestDialErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		f := newFixture(t)
		opts := f.options()
		opts.Port = ln.Addr().(*net.TCPAddr).Port
		_, err = dial(t, opts, "127.0.0.1")
		var dialErr *sshx.DialError
		if !errors.As(err, &dialErr) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Dial error = %v (%T), want *sshx.DialError, connection refused", err, err)
		}
		if want := "127.0.0.1: connect to " + addr + ": connection refused"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	})

	t.Run("connect timeout on a server that never answers", func(t *testing.T) {
		addr := sshxtest.Silent(t)
		_, port, _ := net.SplitHostPort(addr)
		f := newFixture(t)
		opts := f.options()
		opts.Port, _ = strconv.Atoi(port)
		opts.ConnectTimeout = 300 * time.Millisecond
		start := time.Now()
		_, err := dial(t, opts, "127.0.0.1")
		elapsed := time.Since(start)
		var dialErr *sshx.DialError
		if !errors.As(err, &dialErr) || dialErr.Timeout != 300*time.Millisecond {
			t.Fatalf("Dial error = %v (%T), want *sshx.DialError with Timeout 300ms", err, err)
		}
		if want := "127.0.0.1: connect to " + addr + ": timed out after 300ms"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if elapsed > 3*time.Second {
			t.Errorf("gave up after %s, want about 300ms", elapsed)
		}
	})

	t.Run("cancelled context aborts the handshake", func(t *testing.T) {
		addr := sshxtest.Silent(t)
		_, port, _ := net.SplitHostPort(addr)
		f := newFixture(t)
		opts := f.options()
		opts.Port, _ = strconv.Atoi(port)
		opts.ConnectTimeout = time.Minute
		d, err := sshx.NewDialer(opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err = d.Dial(ctx, "127.0.0.1")
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("Dial returned %s after cancel, want promptly", elapsed)
		}
		var dialErr *sshx.DialError
		if !errors.As(err, &dialErr) || !errors.Is(err, context.Canceled) || dialErr.Timeout != 0 {
			t.Fatalf("Dial error = %v (%T), want *sshx.DialError wrapping context.Canceled", err, err)
		}
	})
}

func TestProxyJump(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, trustJump bool) (*fixture, *sshxtest.Server, *sshxtest.Server) {
		f := newFixture(t)
		jump := f.server(t, sshxtest.Config{DirectTCPIP: true})
		target := f.server(t, sshxtest.Config{Exec: func(cmd string, ch ssh.Channel) uint32 {
			_, _ = fmt.Fprintf(ch, "target ran %s", cmd)
			return 0
		}})
		if trustJump {
			f.trust(t, jump, jump.HostKeys[0].PublicKey())
		}
		f.trust(t, target, target.HostKeys[0].PublicKey())
		f.writeConfig(t, fmt.Sprintf(`
Host target
  HostName 127.0.0.1
  Port %d
  ProxyJump jump
Host jump
  HostName 127.0.0.1
  Port %d
`, target.Port, jump.Port))
		return f, jump, target
	}

	t.Run("through one jump host", func(t *testing.T) {
		f, jump, target := setup(t, true)
		c := mustDial(t, f.options(), "target")
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.Output("uptime")
		if err != nil || string(out) != "target ran uptime" {
			t.Fatalf("session output %q, %v; want the target's", out, err)
		}
		if jump.Forwards() != 1 || len(target.Logins()) != 1 {
			t.Errorf("jump forwarded %d channels, target saw %d logins; want 1 and 1", jump.Forwards(), len(target.Logins()))
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		waitFor(t, "jump host connection closed", func() bool { return jump.Conns() == 0 })
	})

	t.Run("through two jump hosts", func(t *testing.T) {
		f, jump, target := setup(t, true)
		second := f.server(t, sshxtest.Config{DirectTCPIP: true})
		f.trust(t, second, second.HostKeys[0].PublicKey())
		appendFile(t, filepath.Join(f.home, ".ssh", "config"), fmt.Sprintf(`
Host twohops
  HostName 127.0.0.1
  Port %d
  ProxyJump jump,nutanix@127.0.0.1:%d
`, target.Port, second.Port))
		c := mustDial(t, f.options(), "twohops")
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if out, err := sess.Output("date"); err != nil || string(out) != "target ran date" {
			t.Fatalf("session output %q, %v; want the target's", out, err)
		}
		if jump.Forwards() != 1 || second.Forwards() != 1 {
			t.Errorf("forwards: first hop %d, second hop %d; want 1 each", jump.Forwards(), second.Forwards())
		}
		_ = c.Close()
		waitFor(t, "both jump connections closed", func() bool { return jump.Conns() == 0 && second.Conns() == 0 })
	})

	t.Run("unknown jump host key", func(t *testing.T) {
		f, jump, target := setup(t, false)
		_, err := dial(t, f.options(), "target")
		var jumpErr *sshx.JumpError
		var hkErr *sshx.HostKeyError
		if !errors.As(err, &jumpErr) || !errors.As(err, &hkErr) || hkErr.Host != "jump" {
			t.Fatalf("Dial error = %v (%T), want *JumpError wrapping jump's *HostKeyError", err, err)
		}
		if want := "target: through jump host jump: unknown host key"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q, want prefix %q", err, want)
		}
		if !strings.Contains(hkErr.KeyscanArgs(), "-p "+strconv.Itoa(jump.Port)) {
			t.Errorf("keyscan %q does not fetch the jump host's key", hkErr.KeyscanArgs())
		}
		if len(target.Logins()) != 0 {
			t.Error("the target was reached through an unverified jump host")
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, sshxtest.Config{})
	f.trust(t, srv, srv.HostKeys[0].PublicKey())
	opts := f.options()
	opts.Port = srv.Port
	opts.ServerAliveInterval = 200 * time.Millisecond
	opts.ServerAliveCountMax = 3
	c := mustDial(t, opts, "127.0.0.1")

	// A live peer answers: several intervals pass without the connection being declared dead.
	select {
	case <-c.Done():
		t.Fatalf("live connection declared dead: %v", c.Err())
	case <-time.After(time.Second):
	}
	if c.Err() != nil {
		t.Fatalf("Err() = %v on a live connection", c.Err())
	}

	srv.BlackHole()
	start := time.Now()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("frozen peer not detected within 5s")
	}
	if elapsed := time.Since(start); elapsed < 500*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("frozen peer detected after %s, want 3 to 4 intervals (600-800ms)", elapsed)
	}
	if want := "no answer to keepalive for 600ms"; c.Err() == nil || c.Err().Error() != want {
		t.Errorf("Err() = %v, want %q", c.Err(), want)
	}
	if _, err := c.NewSession(); err == nil {
		t.Error("NewSession on a dead connection succeeded")
	}
}

func TestClientEnd(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, sshxtest.Config{})
	f.trust(t, srv, srv.HostKeys[0].PublicKey())
	opts := f.options()
	opts.Port = srv.Port

	t.Run("closed by us", func(t *testing.T) {
		c := mustDial(t, opts, "127.0.0.1")
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-c.Done()
		if !errors.Is(c.Err(), sshx.ErrClosed) {
			t.Errorf("Err() = %v, want ErrClosed", c.Err())
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	t.Run("closed by the server", func(t *testing.T) {
		c := mustDial(t, opts, "127.0.0.1")
		srv.Close()
		select {
		case <-c.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("server closing the connection not noticed")
		}
		if c.Err() == nil || errors.Is(c.Err(), sshx.ErrClosed) {
			t.Errorf("Err() = %v, want the connection lost", c.Err())
		}
	})
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{&sshx.HostKeyError{Host: "cvm"}, true},
		{&sshx.AuthError{Host: "cvm"}, true},
		{&sshx.ConfigError{Err: errors.New("bad")}, true},
		{&sshx.JumpError{Host: "cvm", Jump: "bastion", Err: &sshx.HostKeyError{Host: "bastion"}}, true},
		{&sshx.DialError{Host: "cvm", Err: syscall.ECONNREFUSED}, false},
		{&sshx.DialError{Host: "cvm", Timeout: time.Second, Err: context.DeadlineExceeded}, false},
		{&sshx.JumpError{Host: "cvm", Jump: "bastion", Err: &sshx.DialError{Host: "bastion", Err: syscall.ECONNRESET}}, false},
		{fmt.Errorf("cvm: %w", &sshx.AuthError{}), true},
	}
	for _, tt := range tests {
		if got := sshx.Permanent(tt.err); got != tt.want {
			t.Errorf("Permanent(%T %v) = %v, want %v", tt.err, tt.err, got, tt.want)
		}
	}
}

func TestProxyCommandWarnsOnce(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, sshxtest.Config{})
	f.trust(t, srv, srv.HostKeys[0].PublicKey())
	f.writeConfig(t, fmt.Sprintf("Host cvm\n  HostName 127.0.0.1\n  Port %d\n  ProxyCommand nc %%h %%p\n", srv.Port))
	var warnings []string
	opts := f.options()
	opts.Warn = func(msg string) { warnings = append(warnings, msg) }
	d, err := sshx.NewDialer(opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err := d.Dial(context.Background(), "cvm")
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ProxyCommand is not supported") {
		t.Errorf("warnings %q, want one about ProxyCommand", warnings)
	}
}

// Without a home directory nothing may land in / or in a directory named "~".
func TestNoHomeDirectory(t *testing.T) {
	srv := sshxtest.Start(t, sshxtest.Config{})
	d, err := sshx.NewDialer(sshx.Options{Port: srv.Port})
	if err != nil {
		t.Fatal(err)
	}
	hc := d.Resolve("127.0.0.1")
	if hc.KnownHostsFile != "" || len(hc.IdentityFiles) != 0 {
		t.Errorf("Resolve without a home: known hosts %q, identities %q; want none", hc.KnownHostsFile, hc.IdentityFiles)
	}
	_, err = d.Dial(context.Background(), "127.0.0.1")
	var cfgErr *sshx.ConfigError
	if !errors.As(err, &cfgErr) || !errors.Is(err, sshx.ErrNoKnownHosts) {
		t.Errorf("Dial error = %v, want a *ConfigError saying there is no known_hosts", err)
	}
}

// A CVM reached through NAT listens on its own port: DialPort's port wins over --ssh-port
// and ssh_config's Port, and its host key is the one known for that port.
func TestDialPortWinsOverConfiguredPorts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, sshxtest.Config{})
	f.trust(t, srv, srv.HostKeys[0].PublicKey())
	f.writeConfig(t, "Host *\n  Port 1\n")
	opts := f.options()
	opts.Port = 2 // --ssh-port: nothing listens there either
	d, err := sshx.NewDialer(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.DialPort(context.Background(), "127.0.0.1", srv.Port)
	if err != nil {
		t.Fatalf("DialPort: %v", err)
	}
	// The server records a login after its handshake returns, which may be after ours.
	waitFor(t, "the server to record the login", func() bool { return len(srv.Logins()) > 0 })
	_ = c.Close()
	if len(srv.Logins()) != 1 {
		t.Errorf("%d logins, want 1", len(srv.Logins()))
	}
	if _, err := d.DialPort(context.Background(), "127.0.0.1", 70000); err == nil {
		t.Error("DialPort to port 70000 succeeded")
	}
	// Port 0 is Dial's: --ssh-port, where nothing listens.
	if _, err := d.DialPort(context.Background(), "127.0.0.1", 0); err == nil {
		t.Error("DialPort with port 0 ignored --ssh-port")
	}
}

// SSH_AUTH_SOCK naming a dead agent is worth a warning; the platform's default agent not
// running (Windows' agent service is off until enabled) is not.
func TestAgentMissing(t *testing.T) {
	for _, tc := range []struct {
		name         string
		agentDefault bool
		wantWarnings int
	}{
		{"SSH_AUTH_SOCK", false, 1},
		{"the platform's default", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			srv := f.server(t, sshxtest.Config{})
			f.trust(t, srv, srv.HostKeys[0].PublicKey())
			var warnings []string
			opts := f.options()
			opts.Port = srv.Port
			opts.AgentSocket, opts.AgentDefault = filepath.Join(t.TempDir(), "no-agent.sock"), tc.agentDefault
			opts.Warn = func(msg string) { warnings = append(warnings, msg) }
			d, err := sshx.NewDialer(opts)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				c, err := d.Dial(context.Background(), "127.0.0.1")
				if err != nil {
					t.Fatal(err) // the key file still logs in
				}
				_ = c.Close()
			}
			if len(warnings) != tc.wantWarnings {
				t.Fatalf("warnings %q, want %d", warnings, tc.wantWarnings)
			}
			if tc.wantWarnings > 0 && !strings.Contains(warnings[0], "ssh-agent at "+opts.AgentSocket+": no such file or directory") {
				t.Errorf("warning %q does not name the agent socket and the reason", warnings[0])
			}
		})
	}
}
