package tailer

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// pool holds the connections to one CVM. The agent needs one channel (two with sudo), so one
// connection serves a CVM; only the tail fallback of a CVM without Python, one channel per
// file, can need another when sshd refuses more channels (OpenSSH's MaxSessions, 10 by
// default). The pool reports nothing itself: it returns what happened, and its callers
// decide what the user is told, never while holding its lock.
type pool struct {
	target Target
	dialer Dialer
	cfg    *Config

	mu        sync.Mutex
	conns     []*pooledConn // live ones only: a dead connection is dropped once its channels are
	dialing   *dialCall     // non-nil while a dial is under way; others wait for it
	connected bool          // a connection has succeeded at least once
	down      bool          // the last connection dropped and no new one is up yet
	unreached bool          // never connected, and retrying (Config.RetryUnreached)
	backoff   time.Duration
	nextDial  time.Time
	failed    error // a dial failure for good; every later call gets it
	closed    bool
	noPython  bool // an agent command said the CVM has no Python: use the tail fallback
	// gen counts address changes (retarget): a dial to an address given up is not used.
	gen int
}

type pooledConn struct {
	client   Client
	sessions int
	full     bool // refused a channel; no new sessions until one of ours ends
	used     bool // opened a channel at least once
	dead     bool
}

type dialCall struct {
	done chan struct{}
	err  error
}

// cvmError is a CVM-wide failure (dial, auth, host key, no channel): every stream of the CVM
// fails with it, reported once.
type cvmError struct{ err error }

func (e *cvmError) Error() string { return e.err.Error() }
func (e *cvmError) Unwrap() error { return e.err }

// retryError is a dial failure while reconnecting, or while trying to reach a CVM that
// was down at start (unreached): the caller tries again.
type retryError struct {
	err       error
	unreached bool
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

func newPool(t Target, d Dialer, cfg *Config) *pool {
	return &pool{target: t, dialer: d, cfg: cfg, backoff: cfg.BackoffMin}
}

// channelRefused tells whether NewSession failed because the server would not open more
// channels on this connection (OpenSSH answers MaxSessions with "open failed").
func channelRefused(err error) bool {
	var oce *ssh.OpenChannelError
	return errors.As(err, &oce)
}

// maxFreshRefusals is how many new connections may refuse their first channel before the
// CVM is given up: a brand-new connection that refuses one will not do better on a fourth.
// (A connection that has channels and refuses another is full: MaxSessions.)
const maxFreshRefusals = 3

// comeback says whether a session call brought its CVM back: the caller tells the user.
type comeback int

const (
	notBack     comeback = iota
	reconnected          // after a lost connection
	reached              // for the first time, after it was unreachable at start
)

// session opens a channel on one of the CVM's connections, dialing when needed. back says
// whether this call brought the CVM back.
func (p *pool) session(ctx context.Context) (sess Session, pc *pooledConn, back comeback, err error) {
	freshRefusals := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, notBack, err
		}
		p.mu.Lock()
		if p.failed != nil {
			err := p.failed
			p.mu.Unlock()
			return nil, nil, notBack, err
		}
		p.prune()
		pc = nil
		for _, c := range p.conns {
			if !c.dead && !c.full {
				pc = c
				break
			}
		}
		if pc != nil {
			pc.sessions++
			p.mu.Unlock()
			s, err := pc.client.NewSession()
			if err == nil {
				p.mu.Lock()
				pc.used = true
				p.mu.Unlock()
				return s, pc, back, nil
			}
			p.mu.Lock()
			pc.sessions--
			fresh := !pc.used
			if channelRefused(err) {
				pc.full = true
				if fresh {
					freshRefusals++
				}
				p.mu.Unlock()
				continue
			}
			pc.dead = true
			if fresh {
				// Gone before its first channel: wait as after a failed dial.
				err = p.dialFailed(ctx, err)
				p.mu.Unlock()
				return nil, nil, notBack, err
			}
			p.mu.Unlock()
			continue
		}
		// No connection can take another channel: dial (or wait for the dial under way).
		if call := p.dialing; call != nil {
			p.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, nil, notBack, ctx.Err()
			}
			if call.err != nil {
				return nil, nil, notBack, call.err
			}
			continue
		}
		if freshRefusals >= maxFreshRefusals {
			p.failed = &cvmError{errors.New("the CVM refuses to open a session channel (sshd's MaxSessions, or a ForceCommand or no-pty/no-exec restriction)")}
			err := p.failed
			p.mu.Unlock()
			return nil, nil, notBack, err
		}
		wait := time.Until(p.nextDial)
		call := &dialCall{done: make(chan struct{})}
		p.dialing = call
		p.mu.Unlock()

		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		var client Client
		p.mu.Lock()
		address, gen := p.target.Address, p.gen // after the wait: retarget may have changed it
		p.mu.Unlock()
		err := ctx.Err()
		if err == nil {
			client, err = p.dialer.Dial(ctx, address)
		}
		p.mu.Lock()
		p.dialing = nil
		if p.gen != gen && ctx.Err() == nil && !p.closed {
			// The address changed while dialling: dial the new one.
			p.mu.Unlock()
			if client != nil {
				_ = client.Close()
			}
			close(call.done)
			continue
		}
		if err != nil {
			call.err = p.dialFailed(ctx, err)
			p.mu.Unlock()
			close(call.done)
			return nil, nil, notBack, call.err
		}
		if p.closed {
			p.mu.Unlock()
			_ = client.Close()
			call.err = context.Canceled
			close(call.done)
			return nil, nil, notBack, call.err
		}
		conn := &pooledConn{client: client}
		p.conns = append(p.conns, conn)
		p.backoff = p.cfg.BackoffMin
		switch {
		case p.unreached:
			back = reached
		case p.down:
			back = reconnected
		}
		p.down, p.unreached = false, false
		p.connected = true
		p.mu.Unlock()
		close(call.done)
		go func() {
			_ = client.Wait()
			p.mu.Lock()
			conn.dead = true
			p.mu.Unlock()
		}()
	}
}

// prune drops, with p.mu held, the dead connections nobody uses any more: the pool holds
// at most the live connections and those whose channels are still being wound down.
func (p *pool) prune() {
	live := p.conns[:0]
	for _, c := range p.conns {
		if c.dead && c.sessions == 0 {
			_ = c.client.Close()
			continue
		}
		live = append(live, c)
	}
	clear(p.conns[len(live):])
	p.conns = live
}

// dialFailed decides, with p.mu held, whether a dial failure is for good.
func (p *pool) dialFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	retryUnreached := p.cfg.RetryUnreached && p.cfg.Follow
	if (!p.connected && !retryUnreached) || !p.cfg.Retryable(err) {
		// Never reached (and not to be retried), or refused for a reason waiting will not fix.
		if p.failed == nil {
			p.failed = &cvmError{err}
		}
		return p.failed
	}
	if !p.connected && !p.unreached {
		// Down at start: the first retry comes after BackoffMin, as after a drop.
		p.unreached = true
		p.backoff = p.cfg.BackoffMin
		p.nextDial = time.Now().Add(jittered(p.backoff))
		return &retryError{err: err, unreached: true}
	}
	// Lost (or down at start) and not back yet: wait longer next time, with jitter so CVMs
	// do not retry in step.
	p.backoff *= 2
	if p.backoff > p.cfg.BackoffMax {
		p.backoff = p.cfg.BackoffMax
	}
	p.nextDial = time.Now().Add(jittered(p.backoff))
	return &retryError{err: err, unreached: p.unreached}
}

// jittered is d give or take 10%.
func jittered(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d)/5+1))
}

// release returns a channel's slot to its connection.
func (p *pool) release(pc *pooledConn) {
	p.mu.Lock()
	pc.sessions--
	pc.full = false
	p.prune()
	p.mu.Unlock()
}

// lost records that a channel's connection dropped. It returns true for the first of the
// CVM's channels to notice, whose caller tells the user.
func (p *pool) lost(pc *pooledConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc.dead && p.down {
		return false
	}
	pc.dead = true
	_ = pc.client.Close()
	first := !p.down
	p.down = true
	if first {
		p.nextDial = time.Now().Add(p.cfg.BackoffMin)
		p.backoff = p.cfg.BackoffMin
	}
	return first
}

// address is where the CVM is reached now.
func (p *pool) address() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target.Address
}

// retarget makes the CVM reached at a new address: its connections are closed, and the
// channels that notice reconnect there at once, as after a drop the user was told of
// already (no "connection lost" line; "reconnected" once back).
func (p *pool) retarget(address string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target.Address == address {
		return
	}
	p.target.Address = address
	p.gen++
	for _, c := range p.conns {
		c.dead = true
		_ = c.client.Close()
	}
	if p.connected {
		p.down = true
	}
	p.backoff = p.cfg.BackoffMin
	p.nextDial = time.Now()
}

// setNoPython records that the CVM has no Python; hasNoPython tells.
func (p *pool) setNoPython() {
	p.mu.Lock()
	p.noPython = true
	p.mu.Unlock()
}

func (p *pool) hasNoPython() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.noPython
}

func (p *pool) closeAll() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.client.Close()
	}
}
