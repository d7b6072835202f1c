package cmdutil

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// The ways forward, built from the facts the engine packages report.
func TestHintsOfEngineErrors(t *testing.T) {
	refused := &sshx.DialError{Host: "cvm", Addr: "10.1.1.11:2222", Err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED)}
	unknownKey := &sshx.HostKeyError{Host: "cvm", Addr: "127.0.0.1:2200", Fingerprint: "SHA256:x", KnownHostsFile: "/h/.ssh/known_hosts"}
	tests := []struct {
		name string
		err  error
		want []string // all in the hint
	}{
		{"unknown host key", unknownKey, []string{"--host-key-check accept-new (or, for each CVM, ssh-keyscan -p 2200 127.0.0.1 >> /h/.ssh/known_hosts)"}},
		{"changed host key", &sshx.HostKeyError{Addr: "127.0.0.1:2200", Changed: true, KnownHostsFile: "/kh"}, []string{"ssh-keygen -R [127.0.0.1]:2200 -f /kh", "intercepting"}},
		{"changed key under an alias", &sshx.HostKeyError{Addr: "127.0.0.1:2200", Alias: "ntnx-a", Changed: true, KnownHostsFile: "/kh"}, []string{"ssh-keygen -R ntnx-a -f /kh"}},
		{"unknown key under an alias", &sshx.HostKeyError{Addr: "127.0.0.1:2200", Alias: "ntnx-a", KnownHostsFile: "/kh"}, []string{"records the key as ntnx-a in /kh"}},
		{"revoked key", &sshx.HostKeyError{Revoked: true}, []string{"intercepting"}},
		{"through a jump host", &sshx.JumpError{Host: "t", Jump: "j", Err: unknownKey}, []string{"ssh-keyscan -p 2200"}},
		{"refused key", &sshx.AuthError{Host: "cvm", User: "nutanix", Offered: 0, Skipped: []string{"/k/enc"}},
			[]string{"no key was offered", "skipped /k/enc", "-i FILE", "ssh-agent", "--ssh-user (now nutanix)"}},
		{"connect timeout", &sshx.DialError{Addr: "10.1.1.11:22", Timeout: time.Second}, []string{"port 22 is reachable", "--connect-timeout"}},
		{"connection refused", refused, []string{"sshd listens on port 2222", "--ssh-port"}},
		{"encrypted key file", &sshx.ConfigError{Err: &sshx.KeyFileError{Path: "/k/enc", Encrypted: true}}, []string{"ssh-add /k/enc"}},
		{"prism password", &prism.AuthError{Address: "pe:9440"}, []string{"--username", "CVMTAIL_PASSWORD", "--password-file"}},
		{"prism certificate", &prism.TLSError{Address: "pe:9440"}, []string{"--ca-cert FILE", "--insecure"}},
		{"prism cluster unknown", &prism.NotFoundError{Cluster: "x", Known: []string{"alpha", "bra vo"}}, []string{`known clusters: alpha, "bra vo"`}},
		{"prism busy", &prism.ServerError{Status: 503}, []string{"try again"}},
		{"cluster unavailable", &prism.UnavailableError{Clusters: []prism.Cluster{{Name: "b", Address: "10.20.2.10"}}}, []string{"--prism 10.20.2.10"}},
		{"unknown log", &catalog.UnknownError{Name: "genesys", Suggestions: []string{"genesis"}}, []string{"did you mean genesis?", "cvmtail logs"}},
		{"capture locked", &output.LockedError{Path: "/d/x.log"}, []string{"--lock-timeout"}},
		{"missing file", &tailer.FileError{Path: "/x", Code: "ENOENT"}, []string{"cvmtail logs --remote"}},
		{"unreadable file", &tailer.FileError{Path: "/x", Code: "EACCES"}, []string{"--ssh-user"}},
		{"unreadable through sudo", &tailer.FileError{Path: "/x", Code: "EACCES", Sudo: true}, []string{"passwordless sudo"}},
		{"sudo refused", &tailer.SudoError{Path: "/x", Said: "a password is required"}, []string{"passwordless sudo", "sudo -n"}},
		{"no sudo", &tailer.SudoError{NotInstalled: true}, []string{"a CVM with sudo"}},
		{"wrapped by a command", &NothingDoneError{Err: &prism.TLSError{}}, []string{"--ca-cert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := HintOf(tt.err)
			for _, w := range tt.want {
				if !strings.Contains(h, w) {
					t.Errorf("hint %q lacks %q", h, w)
				}
			}
		})
	}
	if h := HintOf(&sshx.DialError{Addr: "x:22", Err: errors.New("canceled")}); h != "" {
		t.Errorf("a cancelled dial has hint %q", h)
	}
	if h := HintOf(&UsageError{Err: unknownKey, Hint: "mine"}); h != "mine" {
		t.Errorf("a command's own hint lost to the engine's: %q", h)
	}
}

func TestHintsOfBadLogArguments(t *testing.T) {
	tests := []struct{ arg, want string }{
		{"data/logs/genesis.out", "/home/nutanix/data/logs/data/logs/genesis.out"},
		{"./genesis.out", "/home/nutanix/data/logs/genesis.out"},
		{"../x", "absolute path"},
		{"..", "absolute path"},
		{".", "absolute path"},
		{"~/data/logs/genesis.out", "/home/nutanix/data/logs/genesis.out"},
		{"/home/nutanix/data/logs/", "absolute path"},
		{"", "absolute path"},
	}
	for _, tt := range tests {
		_, err := catalog.Resolve([]string{tt.arg})
		if h := HintOf(err); !strings.Contains(h, tt.want) {
			t.Errorf("%q: hint %q, want it to contain %q", tt.arg, h, tt.want)
		}
	}
}
