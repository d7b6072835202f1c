package sshx

import (
	"net"
	"syscall"
)

// quickAck makes the kernel acknowledge what the CVM sends as soon as cvmtail has read it.
//
// sshd leaves Nagle's algorithm on for sessions without a terminal, so when it has two small
// messages to send (the host-key notice after authentication, then the channel confirmation;
// an exec reply, then a window adjustment) the second waits until the first is acknowledged.
// Linux delays that acknowledgement by 40 ms or more when the receiver has nothing to send
// back, and a connection's start is a chain of such exchanges: captured on loopback, three
// of them cost 40-70 ms each before a CVM's first line. TCP_QUICKACK sends the pending
// acknowledgement at once. The kernel may fall back to delaying, so it is set again after
// every small read: the messages of a connection's and a channel's start are 36-1100 bytes.
// Bulk data comes in reads of kilobytes, which the kernel acknowledges promptly on its own
// (in the bench's bulk run, 2.8 thousand reads were small against 22 thousand large).
//
// Only while the connection starts (its first quickAckReads small reads): once the streams
// run, cvmtail's credits flow back and carry the acknowledgements, so a syscall per line
// read would buy nothing (follow latency in the bench was the same with and without it).
func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, raw: raw, left: quickAckReads}
}

const (
	// quickAckBelow is the read size under which the acknowledgement is sent at once.
	quickAckBelow = 2048
	// quickAckReads covers the handshake (about 10 small reads) and the opening of as many
	// channels as sshd allows on one connection (about 5 each, MaxSessions 10 by default).
	quickAckReads = 256
)

type quickAckConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	left int // small reads still to acknowledge at once; only the connection's reader uses it
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 && n < quickAckBelow && c.left > 0 {
		c.left--
		_ = c.raw.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}
