package tailer

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// pool holds the connections to one CVM. Streams share a connection until sshd refuses
// another channel (OpenSSH's MaxSessions, 10 by default), then the pool opens another.
type pool struct {
	target Target
	dialer Dialer
	cfg    *Config

	mu        sync.Mutex
	conns     []*pooledConn
	dialing   *dialCall // non-nil while a dial is under way; others wait for it
	connected bool      // a connection has succeeded at least once
	down      bool      // the last connection dropped and no new one is up yet
	backoff   time.Duration
	nextDial  time.Time
	failed    error // a dial failure reported for good; every stream of this CVM stops
	closed    bool
}

type pooledConn struct {
	client   Client
	sessions int
	full     bool // refused a channel; no new sessions until one of ours ends
	dead     bool
}

type dialCall struct {
	done chan struct{}
	err  error
}

// cvmError is a CVM-wide failure (dial, auth, host key), reported once per CVM.
type cvmError struct{ err error }

func (e *cvmError) Error() string { return e.err.Error() }
func (e *cvmError) Unwrap() error { return e.err }

func newPool(t Target, d Dialer, cfg *Config) *pool {
	return &pool{target: t, dialer: d, cfg: cfg, backoff: cfg.BackoffMin}
}

// channelRefused tells whether NewSession failed because the server would not open more
// channels on this connection (OpenSSH answers MaxSessions with "open failed").
func channelRefused(err error) bool {
	var oce *ssh.OpenChannelError
	return errors.As(err, &oce)
}

// session opens a channel on one of the CVM's connections, dialing when needed.
func (p *pool) session(ctx context.Context) (Session, *pooledConn, error) {
	freshRefusals := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		p.mu.Lock()
		if p.failed != nil {
			err := p.failed
			p.mu.Unlock()
			return nil, nil, err
		}
		var pc *pooledConn
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
				return s, pc, nil
			}
			p.mu.Lock()
			pc.sessions--
			if channelRefused(err) {
				pc.full = true
				p.mu.Unlock()
				continue
			}
			pc.dead = true
			p.mu.Unlock()
			continue
		}
		// No connection can take another channel: dial (or wait for the dial under way).
		if call := p.dialing; call != nil {
			p.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
			if call.err != nil {
				return nil, nil, call.err
			}
			continue
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
		err := ctx.Err()
		if err == nil {
			client, err = p.dialer.Dial(ctx, p.target.Address)
		}
		p.mu.Lock()
		p.dialing = nil
		if err != nil {
			call.err = p.dialFailed(ctx, err)
			p.mu.Unlock()
			close(call.done)
			return nil, nil, call.err
		}
		if p.closed {
			p.mu.Unlock()
			_ = client.Close()
			call.err = context.Canceled
			close(call.done)
			return nil, nil, call.err
		}
		pc = &pooledConn{client: client}
		p.conns = append(p.conns, pc)
		p.backoff = p.cfg.BackoffMin
		wasDown := p.down
		p.down = false
		p.connected = true
		p.mu.Unlock()
		close(call.done)
		if wasDown {
			p.cfg.Events(Event{Kind: EventReconnected, CVM: p.target.Name})
		}
		go func() {
			_ = client.Wait()
			p.mu.Lock()
			pc.dead = true
			p.mu.Unlock()
		}()
		// A brand-new connection that refuses its first channel will not do better on a third.
		freshRefusals++
		if freshRefusals > 3 {
			return nil, nil, &cvmError{errors.New("the CVM refuses to open channels")}
		}
	}
}

// dialFailed decides, with p.mu held, whether a dial failure is for good.
func (p *pool) dialFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !p.connected || !p.cfg.Retryable(err) {
		// Never reached, or refused for a reason waiting will not fix: report once.
		if p.failed == nil {
			p.failed = &cvmError{err}
			p.cfg.Events(Event{Kind: EventFailed, CVM: p.target.Name, Err: err})
		}
		return p.failed
	}
	// Lost and not back yet: wait longer next time, with jitter so CVMs do not retry in step.
	p.backoff *= 2
	if p.backoff > p.cfg.BackoffMax {
		p.backoff = p.cfg.BackoffMax
	}
	jitter := time.Duration(rand.Int64N(int64(p.backoff)/5 + 1))
	p.nextDial = time.Now().Add(p.backoff - p.backoff/10 + jitter)
	return &retryError{err}
}

// retryError is a dial failure while reconnecting: the stream tries again.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// release returns a channel's slot to its connection.
func (p *pool) release(pc *pooledConn) {
	p.mu.Lock()
	pc.sessions--
	pc.full = false
	p.mu.Unlock()
}

// lost records that a stream's connection dropped; the first stream to notice tells the user.
func (p *pool) lost(pc *pooledConn, err error) {
	p.mu.Lock()
	if pc.dead && p.down {
		p.mu.Unlock()
		return
	}
	pc.dead = true
	_ = pc.client.Close()
	first := !p.down
	p.down = true
	if first {
		p.nextDial = time.Now().Add(p.cfg.BackoffMin)
		p.backoff = p.cfg.BackoffMin
	}
	p.mu.Unlock()
	if first {
		p.cfg.Events(Event{Kind: EventConnLost, CVM: p.target.Name, Err: err})
	}
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
