package sshx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrClosed is Client.Err after Client.Close.
var ErrClosed = errors.New("connection closed")

// Client is a connection to one CVM. Its keepalives declare a silent peer dead and close
// the connection, so every session on it fails instead of hanging.
type Client struct {
	*ssh.Client
	// Config is the effective configuration the connection was made with.
	Config HostConfig

	jumps     []*ssh.Client
	stop      chan struct{} // closed by Close: ends the keepalive goroutine
	done      chan struct{} // closed once the connection has ended
	err       error         // why; written before done is closed
	endOnce   sync.Once
	closeOnce sync.Once
	jumpsOnce sync.Once
}

func newClient(c *ssh.Client, jumps []*ssh.Client, hc HostConfig) *Client {
	cl := &Client{
		Client: c,
		Config: hc,
		jumps:  jumps,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go func() {
		err := c.Wait()
		if err == nil || errors.Is(err, io.EOF) {
			err = errors.New("connection closed by the server")
		} else {
			err = fmt.Errorf("connection lost: %s", describeNetError(err))
		}
		cl.end(err)
		cl.closeJumps()
	}()
	if hc.ServerAliveInterval > 0 && hc.ServerAliveCountMax > 0 {
		go cl.keepalive(hc.ServerAliveInterval, hc.ServerAliveCountMax)
	}
	return cl
}

// Done is closed when the connection has ended: closed, lost, or its peer declared dead.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the connection ended (e.g. "no answer to keepalive for 30s"); nil while
// it is up. It does not name the host.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection and the jump host connections under it, and stops the
// keepalives.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		c.end(ErrClosed)
		err = c.Client.Close()
		c.closeJumps()
		if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
			err = nil
		}
	})
	return err
}

// end records the first reason the connection ended.
func (c *Client) end(err error) {
	c.endOnce.Do(func() {
		c.err = err
		close(c.done)
	})
}

func (c *Client) closeJumps() {
	c.jumpsOnce.Do(func() {
		for i := len(c.jumps) - 1; i >= 0; i-- {
			_ = c.jumps[i].Close()
		}
	})
}

// keepalive sends keepalive@openssh.com every interval and declares the peer dead when
// countMax intervals pass without an answer. One request is outstanding at a time: the
// library answers global requests in order, so a second one could not be answered sooner.
func (c *Client) keepalive(interval time.Duration, countMax int) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-c.stop:
			return
		case <-c.done:
			return
		}
		reply := make(chan error, 1)
		go func() {
			// Any answer, even a refusal, shows the peer is alive.
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		unanswered := 0
	waitReply:
		for {
			select {
			case err := <-reply:
				if err != nil {
					return // the connection ended; the Wait goroutine reports why
				}
				break waitReply
			case <-ticker.C:
				unanswered++
				if unanswered >= countMax {
					c.end(fmt.Errorf("no answer to keepalive for %s", time.Duration(countMax)*interval))
					_ = c.Client.Close() // fails every session and channel on it
					c.closeJumps()
					return
				}
			case <-c.stop:
				return
			case <-c.done:
				return
			}
		}
	}
}
