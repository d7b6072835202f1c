//go:build unix

package lab

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// startLab starts a small lab on 127.0.0.121+ (other packages' tests use 127.0.0.11+ and
// cmd/cvmtail-lab's 127.0.0.101+) with free ports.
func startLab(t *testing.T, cfg Config) *Lab {
	t.Helper()
	cfg.Dir = t.TempDir()
	if cfg.FirstAddr == "" {
		cfg.FirstAddr = "127.0.0.121"
	}
	if cfg.CVMs == 0 {
		cfg.CVMs = 2
	}
	cfg.PrismAddr = "127.0.0.1:0"
	if cfg.Backlog == 0 {
		cfg.Backlog = 20
	}
	cfg.Errorf = t.Logf
	l, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// dial logs in to CVM i as the lab's client would, checking its host key.
func dial(t *testing.T, l *Lab, i int, user string) (*ssh.Client, error) {
	t.Helper()
	keyPEM, err := os.ReadFile(l.Identity)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hostKeys, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", net.JoinHostPort(l.CVMs[i].Address, strconv.Itoa(l.SSHPort)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKeys, Timeout: 5 * time.Second,
	})
}

func TestExecSeesItsOwnLogDirectory(t *testing.T) {
	l := startLab(t, Config{})
	for i, c := range l.CVMs {
		cl, err := dial(t, l, i, User)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := cl.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		sess.Stdout, sess.Stderr = &stdout, &stderr
		err = sess.Run(`cd '/home/nutanix/data/logs' && pwd && ls -d genesis.out stargate.INFO && echo oops >&2 && exit 3`)
		var exitErr *ssh.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 {
			t.Fatalf("%s: want exit status 3, got %v", c.Address, err)
		}
		if want := c.LogDir + "\ngenesis.out\nstargate.INFO\n"; stdout.String() != want {
			t.Errorf("%s: stdout %q, want %q", c.Address, stdout.String(), want)
		}
		if stderr.String() != "oops\n" {
			t.Errorf("%s: stderr %q, want %q (as extended data)", c.Address, stderr.String(), "oops\n")
		}
		cl.Close()
	}
}

func TestOnlyTheLabKeyAndUserLogIn(t *testing.T) {
	l := startLab(t, Config{CVMs: 1})
	if _, err := dial(t, l, 0, "root"); err == nil {
		t.Fatal("user root logged in; only nutanix may")
	}
	if cl, err := dial(t, l, 0, User); err != nil {
		t.Fatalf("nutanix with the lab's key: %v", err)
	} else {
		cl.Close()
	}
	// Another key is refused.
	_, priv, _ := ed25519Key(t)
	_, err := ssh.Dial("tcp", net.JoinHostPort(l.CVMs[0].Address, strconv.Itoa(l.SSHPort)), &ssh.ClientConfig{
		User: User, Auth: []ssh.AuthMethod{ssh.PublicKeys(priv)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err == nil {
		t.Fatal("a key other than the lab's logged in")
	}
}

func TestRefusesPtyShellAndSubsystem(t *testing.T) {
	l := startLab(t, Config{CVMs: 1})
	cl, err := dial(t, l, 0, User)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err == nil {
		t.Error("pty-req accepted")
	}
	if err := sess.Shell(); err == nil {
		t.Error("shell accepted")
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("subsystem accepted")
	}
	ok, _, err := cl.SendRequest("keepalive@openssh.com", true, nil)
	if err != nil || !ok {
		t.Errorf("keepalive@openssh.com: %v, %v; want a positive reply", ok, err)
	}
}

func TestMaxSessionsPerConnection(t *testing.T) {
	l := startLab(t, Config{CVMs: 1})
	cl, err := dial(t, l, 0, User)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var sessions []*ssh.Session
	for i := range maxSessions {
		s, err := cl.NewSession()
		if err != nil {
			t.Fatalf("session %d: %v", i+1, err)
		}
		sessions = append(sessions, s)
	}
	_, err = cl.NewSession()
	var open *ssh.OpenChannelError
	if !errors.As(err, &open) || open.Reason != ssh.Prohibited || open.Message != "open failed" {
		t.Fatalf("session %d: %v; want administratively prohibited: open failed, as OpenSSH says", maxSessions+1, err)
	}
	// A closed session frees its slot.
	sessions[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := cl.NewSession()
		if err == nil {
			s.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing a session, a new one still fails: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A command that ignores its closed channel (it neither reads stdin nor writes) is killed
// after the grace, with whatever it started in the background.
func TestAbandonedCommandsAreKilled(t *testing.T) {
	l := startLab(t, Config{CVMs: 1, Grace: 200 * time.Millisecond})
	cl, err := dial(t, l, 0, User)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start(`sleep 300 & exec sleep 301 </dev/null >/dev/null 2>&1`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command to run", func() bool { return len(l.Leftovers()) == 2 })
	cl.Close() // the connection drops
	waitFor(t, "the command to be killed", func() bool { return len(l.Leftovers()) == 0 })
}

func TestRotateGlog(t *testing.T) {
	l := startLab(t, Config{CVMs: 1})
	dir := l.CVMs[0].LogDir
	before, err := os.Readlink(filepath.Join(dir, "stargate.INFO"))
	if err != nil {
		t.Fatal(err)
	}
	path, err := l.Rotate(context.Background(), 0, "stargate")
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.Readlink(filepath.Join(dir, "stargate.INFO"))
	if err != nil {
		t.Fatal(err)
	}
	if after == before || filepath.Join(dir, after) != path {
		t.Fatalf("stargate.INFO -> %s before, %s after rotation (new file %s)", before, after, path)
	}
	if !strings.HasPrefix(after, "stargate.ntnx-gen01001-a-cvm.nutanix.log.INFO.") {
		t.Errorf("new file %s is not named as glog names it", after)
	}
	if _, err := os.Stat(filepath.Join(dir, before)); err != nil {
		t.Errorf("the old file went away: %v", err)
	}
	if _, err := l.Rotate(context.Background(), 0, "genesis.out"); err != nil {
		t.Fatal(err)
	}
	// As Scavenger leaves them: the newest three generations plain, the older ones (the
	// history written at start) compressed.
	old, _ := filepath.Glob(filepath.Join(dir, "genesis.out.2*"))
	var plain, packed []string
	for _, p := range old {
		if strings.HasSuffix(p, ".xz") || strings.HasSuffix(p, ".gz") {
			packed = append(packed, p)
		} else {
			plain = append(plain, p)
		}
	}
	var rotatedAt time.Time
	if len(plain) > 0 {
		rotatedAt, _ = time.Parse("20060102-150405", strings.TrimPrefix(filepath.Base(plain[len(plain)-1]), "genesis.out."))
	}
	if len(plain) != 3 || time.Since(rotatedAt).Abs() > time.Minute || len(packed) < 3 {
		t.Errorf("after rotating genesis.out: %v, want three genesis.out.<time>, the last one now, and older ones compressed", old)
	}
}

func TestUnsafeDirectoryRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's here")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{Dir: dir, FirstAddr: "127.0.0.121", PrismAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "only letters") {
		t.Fatalf("a directory with a quote and a space: %v; want a refusal", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ed25519Key(t *testing.T) (ed25519.PublicKey, ssh.Signer, error) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pub, s, nil
}

// Every file holds lines in its service's format, so that what cvmtail shows (and parses
// for --level) looks like a real CVM's.
func TestLogFormats(t *testing.T) {
	l := startLab(t, Config{CVMs: 1, Backlog: 50})
	python := `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z (INFO|WARNING|ERROR) \w+\.py:\d+ \S`
	glog := `^[IWE]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ \w+\.cc:\d+\] \S`
	for _, tc := range []struct{ file, re string }{
		{"genesis.out", python},
		{"acropolis.out", python},
		{"stargate.out", glog},
		{"stargate.INFO", glog},
		{"cerebro.INFO", glog},
		{"curator.INFO", glog},
		{"stargate.WARNING", `^[WE]\d{4} `},
		{"curator.ERROR", `^E\d{4} `},
		{"zookeeper.out", `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z - (INFO|WARN) +\[[^]]+\] - \S`},
		{"prism_gateway.log", `^(INFO|WARN|ERROR) +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z http-nio-\S+ \[\] prism\.\S+:\d+ \S`},
	} {
		b, err := os.ReadFile(filepath.Join(l.CVMs[0].LogDir, tc.file))
		if err != nil {
			t.Error(err)
			continue
		}
		re := regexp.MustCompile(tc.re)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if strings.HasPrefix(lines[0], "Log file created at: ") {
			lines = lines[4:] // glog's header
		}
		if len(lines) == 0 {
			t.Errorf("%s: no lines", tc.file)
		}
		for _, line := range lines {
			if !re.MatchString(line) {
				t.Errorf("%s: %q does not match %s", tc.file, line, tc.re)
				break
			}
		}
	}
}
