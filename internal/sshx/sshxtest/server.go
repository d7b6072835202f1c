// Package sshxtest runs in-process SSH servers on loopback for tests: chosen host keys,
// public key authentication, exec sessions, direct-tcpip for ProxyJump, and a black hole
// mode that keeps the socket open but stops reading (a SIGSTOPped peer).
package sshxtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Config says how a Server behaves.
type Config struct {
	// HostKeys are presented to clients; nil: one new ed25519 key.
	HostKeys []ssh.Signer
	// AuthorizedKeys may log in; nil: any public key.
	AuthorizedKeys []ssh.PublicKey
	// User, when set, is the only user accepted.
	User string
	// DirectTCPIP allows direct-tcpip channels (ProxyJump), to loopback addresses only.
	DirectTCPIP bool
	// Exec runs an exec request's command on a session channel and returns its exit
	// status; nil: sessions are refused.
	Exec func(command string, ch ssh.Channel) uint32
	// AuthDelay is waited before a public key is accepted: the time a real sshd spends
	// starting its session processes, spent here without using the CPU.
	AuthDelay time.Duration
}

// Login is one successful authentication.
type Login struct {
	User        string
	Fingerprint string
}

// Server is an SSH server on 127.0.0.1. Start stops it when the test ends.
type Server struct {
	Addr     string // 127.0.0.1:port
	Host     string // 127.0.0.1
	Port     int
	HostKeys []ssh.Signer

	cfg       Config
	sshConfig *ssh.ServerConfig
	ln        net.Listener
	blackHole atomic.Bool
	wg        sync.WaitGroup

	mu       sync.Mutex
	closing  bool
	conns    map[*holeConn]bool
	logins   []Login
	forwards int
}

// Start listens on 127.0.0.1:0 and serves until the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.HostKeys == nil {
		cfg.HostKeys = []ssh.Signer{NewKey(t, "ed25519")}
	}
	s := &Server{cfg: cfg, HostKeys: cfg.HostKeys, conns: map[*holeConn]bool{}}
	s.sshConfig = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			time.Sleep(cfg.AuthDelay)
			if cfg.User != "" && meta.User() != cfg.User {
				return nil, fmt.Errorf("user %s not accepted", meta.User())
			}
			if cfg.AuthorizedKeys != nil && !containsKey(cfg.AuthorizedKeys, key) {
				return nil, errors.New("key not authorized")
			}
			return &ssh.Permissions{Extensions: map[string]string{"fp": ssh.FingerprintSHA256(key)}}, nil
		},
	}
	for _, k := range cfg.HostKeys {
		s.sshConfig.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(s.Close)
	return s
}

func containsKey(keys []ssh.PublicKey, key ssh.PublicKey) bool {
	for _, k := range keys {
		if string(k.Marshal()) == string(key.Marshal()) {
			return true
		}
	}
	return false
}

// Close stops listening and drops every connection.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// BlackHole makes the server stop reading from every connection, present and future,
// while keeping the sockets open: to the client, the peer has frozen.
func (s *Server) BlackHole() { s.blackHole.Store(true) }

// Logins lists the successful authentications so far.
func (s *Server) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Login(nil), s.logins...)
}

// Conns counts the open client connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Forwards counts the direct-tcpip channels opened so far.
func (s *Server) Forwards() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forwards
}

// KnownHostsLine is the known_hosts line for key at this server's address.
func (s *Server) KnownHostsLine(key ssh.PublicKey) string {
	return knownhosts.Line([]string{s.Addr}, key)
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &holeConn{Conn: raw, s: s, closed: make(chan struct{})}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				_ = c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			s.serve(c)
		}()
	}
}

func (s *Server) serve(c net.Conn) {
	sc, chans, reqs, err := ssh.NewServerConn(c, s.sshConfig)
	if err != nil {
		return
	}
	defer func() { _ = sc.Close() }()
	s.mu.Lock()
	s.logins = append(s.logins, Login{User: sc.User(), Fingerprint: sc.Permissions.Extensions["fp"]})
	s.mu.Unlock()
	// keepalive@openssh.com and the like: refused, which still answers them.
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		switch {
		case nc.ChannelType() == "direct-tcpip" && s.cfg.DirectTCPIP:
			wg.Add(1)
			go func() { defer wg.Done(); s.forward(nc) }()
		case nc.ChannelType() == "session" && s.cfg.Exec != nil:
			wg.Add(1)
			go func() { defer wg.Done(); s.session(nc) }()
		default:
			_ = nc.Reject(ssh.Prohibited, "not allowed")
		}
	}
}

// forward serves a direct-tcpip channel (RFC 4254 7.2), to loopback only.
func (s *Server) forward(nc ssh.NewChannel) {
	var req struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	if ip := net.ParseIP(req.Host); (ip == nil || !ip.IsLoopback()) && req.Host != "localhost" {
		_ = nc.Reject(ssh.Prohibited, "tests forward to loopback only")
		return
	}
	target, err := net.Dial("tcp", net.JoinHostPort(req.Host, strconv.Itoa(int(req.Port))))
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, chReqs, err := nc.Accept()
	if err != nil {
		_ = target.Close()
		return
	}
	s.mu.Lock()
	s.forwards++
	s.mu.Unlock()
	go ssh.DiscardRequests(chReqs)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(ch, target); _ = ch.CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(target, ch); done <- struct{}{} }()
	<-done
	_ = target.Close()
	_ = ch.Close()
	<-done
}

func (s *Server) session(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer func() { _ = ch.Close() }()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(req.Type == "env" || req.Type == "pty-req", nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		status := s.cfg.Exec(payload.Command, ch)
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// holeConn stops delivering data, and blocks its reader until closed, once the server is
// a black hole.
type holeConn struct {
	net.Conn
	s         *Server
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *holeConn) Read(p []byte) (int, error) {
	if c.s.blackHole.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(p)
	if c.s.blackHole.Load() {
		<-c.closed // what arrived after BlackHole is never seen
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *holeConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Silent listens on 127.0.0.1 and accepts connections but never says a word: a client's
// SSH handshake never completes. It returns the address.
func Silent(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// NewKey generates a key: kind is "ed25519" or "ecdsa".
func NewKey(t testing.TB, kind string) ssh.Signer {
	t.Helper()
	signer, _ := newKey(t, kind)
	return signer
}

func newKey(t testing.TB, kind string) (ssh.Signer, crypto.PrivateKey) {
	t.Helper()
	var priv crypto.PrivateKey
	var err error
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("sshxtest: unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, priv
}

// WriteKey generates an ed25519 key and writes it, in OpenSSH format, to path (mode 0600)
// and its public half to path.pub. A non-empty passphrase encrypts it.
func WriteKey(t testing.TB, path, passphrase string) ssh.Signer {
	t.Helper()
	signer, priv := newKey(t, "ed25519")
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "sshxtest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "sshxtest", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return signer
}
