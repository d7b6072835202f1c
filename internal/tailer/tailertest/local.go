// Package tailertest provides fake CVM connections for engine tests: a "connection" whose
// sessions run the remote command locally through sh, as sshd would, so the real agent runs.
package tailertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/cvmtail/cvmtail/internal/tailer"
)

// Local is a fake CVM: every connection's sessions run commands on this machine.
type Local struct {
	// MaxSessions, when > 0, refuses more channels per connection like OpenSSH does.
	MaxSessions int
	// Env is added to the sessions' environment (e.g. PATH without python).
	Env []string

	mu    sync.Mutex
	conns []*Conn
	down  bool // refuse new connections
	dials int
}

// Dialer returns a tailer.Dialer reaching this fake CVM.
func (l *Local) Dialer() tailer.Dialer {
	return tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.dials++
		if l.down {
			return nil, fmt.Errorf("%s: connect: connection refused", addr)
		}
		c := &Conn{local: l, closed: make(chan struct{})}
		l.conns = append(l.conns, c)
		return c, nil
	})
}

// Dials counts connection attempts.
func (l *Local) Dials() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dials
}

// Conns counts connections opened.
func (l *Local) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// OpenConns counts connections not closed yet.
func (l *Local) OpenConns() int {
	l.mu.Lock()
	conns := append([]*Conn(nil), l.conns...)
	l.mu.Unlock()
	n := 0
	for _, c := range conns {
		select {
		case <-c.closed:
		default:
			n++
		}
	}
	return n
}

// Drop breaks every open connection, as a network failure or a CVM reboot would, and makes
// new connections fail until Up.
func (l *Local) Drop() {
	l.mu.Lock()
	l.down = true
	conns := append([]*Conn(nil), l.conns...)
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Up lets connections succeed again.
func (l *Local) Up() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}

// Conn is one fake connection.
type Conn struct {
	local    *Local
	mu       sync.Mutex
	sessions []*Session
	open     int
	closed   chan struct{}
	once     sync.Once
}

// NewSession opens a channel, refusing beyond MaxSessions like OpenSSH.
func (c *Conn) NewSession() (tailer.Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return nil, io.EOF
	default:
	}
	if c.local.MaxSessions > 0 && c.open >= c.local.MaxSessions {
		return nil, &ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "open failed"}
	}
	c.open++
	s := &Session{conn: c, done: make(chan struct{})}
	c.sessions = append(c.sessions, s)
	return s, nil
}

// Wait blocks until the connection closes.
func (c *Conn) Wait() error { <-c.closed; return io.EOF }

// Close breaks the connection: every session's pipes close, as sshd's would.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.mu.Lock()
		ss := append([]*Session(nil), c.sessions...)
		c.mu.Unlock()
		for _, s := range ss {
			s.drop()
		}
	})
	return nil
}

// Session runs one command locally.
type Session struct {
	conn   *Conn
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr io.ReadCloser
	done   chan struct{}
	err    error
	once   sync.Once
	lost   atomic.Bool
}

func (s *Session) StdinPipe() (io.WriteCloser, error) { return &lazyWriter{s: s}, nil }
func (s *Session) StdoutPipe() (io.Reader, error)     { return &lazyReader{s: s, which: 1}, nil }
func (s *Session) StderrPipe() (io.Reader, error)     { return &lazyReader{s: s, which: 2}, nil }

// Start runs cmd with sh, in its own session like sshd does (setsid).
func (s *Session) Start(command string) error {
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(cmd.Environ(), s.conn.local.Env...)
	cmd.SysProcAttr = ownSession()
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return err
	}
	if s.stdout, err = cmd.StdoutPipe(); err != nil {
		return err
	}
	if s.stderr, err = cmd.StderrPipe(); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	go func() {
		// Process.Wait, not Cmd.Wait: Cmd.Wait closes the stdout pipe as soon as the process
		// exits, dropping what the reader has not read yet. sshd delivers it all; so do we,
		// closing the pipes only when the channel closes.
		state, err := cmd.Process.Wait()
		if err == nil && !state.Success() {
			err = &ExitError{Status: state.ExitCode()}
		}
		s.err = err
		close(s.done)
	}()
	return nil
}

// ExitError is a remote command's non-zero exit status.
type ExitError struct{ Status int }

func (e *ExitError) Error() string   { return fmt.Sprintf("exit status %d", e.Status) }
func (e *ExitError) ExitStatus() int { return e.Status }

// Wait waits for the command; a dropped connection reports no exit status.
func (s *Session) Wait() error {
	if s.cmd == nil {
		return errors.New("not started")
	}
	<-s.done
	if s.lost.Load() {
		return errors.New("connection lost")
	}
	return s.err
}

// Close closes the channel: the command sees EOF on stdin and a closed stdout.
func (s *Session) Close() error {
	s.once.Do(func() {
		if s.stdin != nil {
			s.stdin.Close()
		}
		if s.stdout != nil {
			s.stdout.Close()
		}
		if s.stderr != nil {
			s.stderr.Close()
		}
		s.conn.mu.Lock()
		s.conn.open--
		s.conn.mu.Unlock()
	})
	return nil
}

func (s *Session) drop() {
	s.lost.Store(true)
	s.Close()
}

// PID is the local process standing in for the remote command (0 before Start).
func (s *Session) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

type lazyWriter struct{ s *Session }

func (w *lazyWriter) Write(p []byte) (int, error) {
	if w.s.stdin == nil {
		return 0, io.ErrClosedPipe
	}
	return w.s.stdin.Write(p)
}
func (w *lazyWriter) Close() error {
	if w.s.stdin == nil {
		return nil
	}
	return w.s.stdin.Close()
}

type lazyReader struct {
	s     *Session
	which int
}

func (r *lazyReader) Read(p []byte) (int, error) {
	rc := r.s.stdout
	if r.which == 2 {
		rc = r.s.stderr
	}
	if rc == nil {
		return 0, io.EOF
	}
	n, err := rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = io.EOF // a closed channel reads as EOF
	}
	return n, err
}
