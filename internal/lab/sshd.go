//go:build unix

package lab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cvmtail/cvmtail/internal/catalog"
)

// maxSessions is OpenSSH's default MaxSessions: cvmtail's tail fallback opens one session
// per followed file, so the lab must refuse the eleventh exactly as a real CVM does.
const maxSessions = 10

// maxConns bounds the connections one CVM serves at once (and so the lab's goroutines); a
// client needs one per 10 files.
const maxConns = 64

// handshakeTimeout bounds how long a connection that never finishes the handshake holds
// a goroutine.
const handshakeTimeout = 10 * time.Second

// cvmServer is one simulated CVM's sshd: one listener, one host key, exec sessions whose
// commands see this CVM's log directory in place of catalog's /home/nutanix/data/logs.
type cvmServer struct {
	addr   string // host:port listened on
	logDir string // what /home/nutanix/data/logs means on this CVM
	home   string // working directory of sessions
	config *ssh.ServerConfig
	ln     net.Listener
	grace  time.Duration
	procs  *procTable
	errlog func(format string, args ...any)

	wg      sync.WaitGroup
	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]bool
}

func newCVMServer(ln net.Listener, hostKey ssh.Signer, client ssh.PublicKey, user, logDir, home string,
	grace time.Duration, procs *procTable, errlog func(string, ...any)) *cvmServer {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() != user {
				return nil, fmt.Errorf("user %q is not accepted: log in as %s", meta.User(), user)
			}
			if string(key.Marshal()) != string(client.Marshal()) {
				return nil, errors.New("key not authorized")
			}
			return &ssh.Permissions{}, nil
		},
		MaxAuthTries:  6,
		ServerVersion: "SSH-2.0-OpenSSH_8.0 cvmtail-lab",
	}
	cfg.AddHostKey(hostKey)
	return &cvmServer{addr: ln.Addr().String(), logDir: logDir, home: home, config: cfg, ln: ln,
		grace: grace, procs: procs, errlog: errlog, conns: map[net.Conn]bool{}}
}

func (s *cvmServer) serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return // closed
			}
			s.mu.Lock()
			if s.closing {
				s.mu.Unlock()
				_ = c.Close()
				return
			}
			if len(s.conns) >= maxConns {
				s.mu.Unlock()
				s.errlog("%s: refusing a connection: %d open already", s.addr, maxConns)
				_ = c.Close()
				continue
			}
			s.conns[c] = true
			s.wg.Add(1)
			s.mu.Unlock()
			go func() {
				defer s.wg.Done()
				s.handleConn(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
}

// close stops listening, drops every connection (which ends every session and kills its
// processes) and waits for all of it.
func (s *cvmServer) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *cvmServer) handleConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return // a failed login or a scanner: nothing to tell anyone
	}
	_ = c.SetDeadline(time.Time{})
	defer conn.Close()

	var sessions sync.WaitGroup
	defer sessions.Wait()
	go func() {
		for r := range reqs {
			// OpenSSH answers its own keepalives; every other global request (port
			// forwarding, host key rotation) is refused.
			if r.WantReply {
				_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()

	open := 0
	done := make(chan struct{}, maxSessions)
	for {
		var nc ssh.NewChannel
		var ok bool
		select {
		case nc, ok = <-chans:
		case <-done:
			open--
			continue
		}
		if !ok {
			return
		}
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		if open >= maxSessions {
			// OpenSSH's words when MaxSessions is reached.
			_ = nc.Reject(ssh.Prohibited, "open failed")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		open++
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			p := s.session(conn, ch, creqs)
			// The slot is free once the channel is, as with sshd; the cleanup may take
			// a grace period longer.
			done <- struct{}{}
			if p != nil {
				p.abandon()
			}
		}()
	}
}

// session serves one session channel, at most one exec and nothing else, until the
// channel closes. It returns the command started, if any.
func (s *cvmServer) session(conn *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request) *process {
	defer ch.Close()
	var p *process
	for r := range reqs {
		switch {
		case r.Type == "exec" && p == nil:
			var payload struct{ Command string }
			if err := ssh.Unmarshal(r.Payload, &payload); err != nil {
				_ = r.Reply(false, nil)
				continue
			}
			var err error
			p, err = s.start(conn, ch, payload.Command)
			if err != nil {
				s.errlog("%s: starting a command: %v", s.addr, err)
				_ = r.Reply(false, nil)
				continue
			}
			_ = r.Reply(true, nil)
		default:
			// pty-req, shell, subsystem, env, a second exec...: a log follower needs none
			// of them, and a polite "no" lets the client say so.
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}
	// The channel is closed: by us after the command ended, or by the client, or the
	// connection dropped.
	return p
}

// process is one exec request's command.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *os.File
	stderr *os.File
	grace  time.Duration
	procs  *procTable
	exited chan struct{}
	killed sync.Once
}

func (s *cvmServer) start(conn *ssh.ServerConn, ch ssh.Channel, command string) (*process, error) {
	// The one liberty the lab takes with the command: every mention of the CVM log
	// directory means this CVM's directory. Lab directories contain no quote, space or
	// shell metacharacter (see Config.Dir), so inside the client's single quotes the
	// substitution stays one literal word.
	command = strings.ReplaceAll(command, catalog.LogDir, s.logDir)

	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = s.home
	// A session of its own, as sshd gives: the whole group can be killed at the end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	local, remote := conn.LocalAddr().(*net.TCPAddr), conn.RemoteAddr().(*net.TCPAddr)
	cmd.Env = append(os.Environ(),
		"SSH_CONNECTION="+remote.IP.String()+" "+strconv.Itoa(remote.Port)+" "+local.IP.String()+" "+strconv.Itoa(local.Port),
		"SSH_CLIENT="+remote.IP.String()+" "+strconv.Itoa(remote.Port)+" "+strconv.Itoa(local.Port),
		"SSH_AUTH_SOCK=",
	)

	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// Our own pipes rather than cmd.StdoutPipe: exec.Cmd.Wait would close them before a
	// background child that still holds them has finished writing.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, err
	}
	outW.Close()
	errW.Close()
	p := &process{cmd: cmd, stdin: stdin, stdout: outR, stderr: errR, grace: s.grace, procs: s.procs,
		exited: make(chan struct{})}
	s.procs.add(cmd.Process.Pid)

	// Client to command: EOF from the client closes the command's stdin.
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	go func() {
		var drained sync.WaitGroup
		drained.Add(2)
		go func() { defer drained.Done(); _, _ = io.Copy(ch, outR) }()
		go func() { defer drained.Done(); _, _ = io.Copy(ch.Stderr(), errR) }()
		drained.Wait()
		status := exitStatus(cmd.Wait())
		close(p.exited)
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		_ = ch.CloseWrite()
		_ = ch.Close()
		// Whatever the command left in its session (a background helper) goes with it.
		p.killGroupAfter(p.grace)
	}()
	return p, nil
}

// abandon is the end of the channel before the command finished: its pipes are closed
// (so it sees EOF and EPIPE, as under sshd) and, after a grace, its group is killed.
func (p *process) abandon() {
	_ = p.stdin.Close()
	_ = p.stdout.Close()
	_ = p.stderr.Close()
	p.killGroupAfter(p.grace)
}

func (p *process) killGroupAfter(grace time.Duration) {
	p.killed.Do(func() { p.killGroup(grace) })
}

func (p *process) killGroup(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	defer p.procs.done(pgid)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-deadline.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		case <-p.procs.stopping:
			// The lab is shutting down: no grace.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		case <-poll.C:
			// Done when the leader has been reaped and nothing else is left in its group
			// (a group outlives its leader while any member runs).
			select {
			case <-p.exited:
				if syscall.Kill(-pgid, 0) == syscall.ESRCH {
					return
				}
			default:
			}
		}
	}
}

func exitStatus(err error) uint32 {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return uint32(128 + ws.Signal())
		}
		if c := ee.ExitCode(); c >= 0 {
			return uint32(c)
		}
	}
	return 255
}
