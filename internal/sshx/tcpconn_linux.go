package sshx

import (
	"errors"
	"io"
	"net"
	"syscall"
	"unsafe"

	"github.com/cvmtail/cvmtail/internal/rawio"
)

// tcpConn is a connection to a CVM as cvmtail reads it on Linux. Its reads and writes
// (non-blocking, as every socket of the net package) go through rawio, which keeps the Go
// runtime's monitor thread asleep between bursts (see there), and it acknowledges what the
// CVM sends at once while the connection starts (quickAck, below).
func tcpConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &linuxConn{TCPConn: tc, raw: raw, left: quickAckReads}
}

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
func (c *linuxConn) quickAck() {
	one := int32(1)
	_ = c.raw.Control(func(fd uintptr) {
		// Direct, as rawio's reads and writes: setsockopt does not block.
		_, _, _ = syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK,
			uintptr(unsafe.Pointer(&one)), unsafe.Sizeof(one), 0)
	})
}

const (
	// quickAckBelow is the read size under which the acknowledgement is sent at once.
	quickAckBelow = 2048
	// quickAckReads covers the handshake (about 10 small reads) and the opening of as many
	// channels as sshd allows on one connection (about 5 each, MaxSessions 10 by default),
	// with room. Following, every read is small, and each acknowledgement sent at once is a
	// segment of its own: at 16 CVMs they cost cvmtail 5 % of its CPU in the bench, and
	// follow latency was the same without them.
	quickAckReads = 80
)

type linuxConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	left int // small reads still to acknowledge at once; only the connection's reader uses it
}

func (c *linuxConn) Read(b []byte) (int, error) {
	n, err := rawio.Read(c.raw, b)
	if err != nil && err != io.EOF { // io.EOF bare, as net.Conn's Read returns it
		err = c.opError("read", err)
	}
	if n > 0 && n < quickAckBelow && c.left > 0 {
		c.left--
		c.quickAck()
	}
	return n, err
}

func (c *linuxConn) Write(b []byte) (int, error) {
	n, err := rawio.Write(c.raw, b)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

// opError says err as net.Conn's Read and Write do ("read tcp A->B: i/o timeout"); the
// poller's errors come as the raw connection's ("raw-read tcp A->B: ...").
func (c *linuxConn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
