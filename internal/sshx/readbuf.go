package sshx

import (
	"bufio"
	"net"
)

// readBufSize is how much one read of the connection may take in: the frames of all the
// streams of a CVM that changed since the last look, often several SSH packets.
const readBufSize = 32 << 10

// readBuffered gives the connection a read buffer of readBufSize. x/crypto/ssh reads a
// packet through a 4 KiB buffer, in two or three system calls when the packet is larger;
// with this one, what the CVM sent since the last read comes in one, however many packets
// it holds. On a loaded or virtualised machine each system call costs more than the bytes.
// Only the connection's one reader (the SSH transport's read loop) reads it.
func readBuffered(c net.Conn) net.Conn {
	return &bufConn{Conn: c, r: bufio.NewReaderSize(c, readBufSize)}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }
