package sshx

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// quickAckOn reports whether the kernel would acknowledge the next data at once
// (getsockopt TCP_QUICKACK is 1 outside "ping-pong", i.e. delayed-ACK, mode).
func quickAckOn(t *testing.T, c net.Conn) bool {
	t.Helper()
	tc, ok := c.(*net.TCPConn)
	if !ok {
		tc = c.(*linuxConn).TCPConn
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v == 1
}

// pingPong plays the request-reply exchanges of an SSH connection's start over c (the
// client side) and reports whether delayed acknowledgements are off afterwards.
func pingPong(t *testing.T, wrap func(net.Conn) net.Conn) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const rounds = 8
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		buf := make([]byte, 64)
		for i := 0; i < rounds; i++ {
			if _, err := s.Write([]byte("server says something short")); err != nil {
				return
			}
			if _, err := s.Read(buf); err != nil {
				return
			}
		}
		_, _ = s.Write([]byte("last"))
		_, _ = s.Read(buf)
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := wrap(raw)
	defer c.Close()
	buf := make([]byte, 4096) // bigger than any message: every read is short
	for i := 0; i < rounds; i++ {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("client answers at once")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	on := quickAckOn(t, c)
	_, _ = c.Write([]byte("bye"))
	return on
}

func TestQuickAckAfterShortReads(t *testing.T) {
	if pingPong(t, func(c net.Conn) net.Conn { return c }) {
		t.Skip("this kernel did not enter delayed-ACK mode in a request-reply exchange; nothing to observe")
	}
	if !pingPong(t, tcpConn) {
		t.Fatal("after a short read the connection is in delayed-ACK mode: sshd's second small message would wait 40 ms for our ACK")
	}
}

// Errors read as net.Conn's: "read tcp A->B: i/o timeout", a timeout, not the raw
// connection's "raw-read".
func TestTCPConnErrorsReadAsNetConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err == nil {
			defer s.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := tcpConn(raw)
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = c.Read(make([]byte, 10))
	want := "read tcp " + c.LocalAddr().String() + "->" + c.RemoteAddr().String() + ": i/o timeout"
	if err == nil || err.Error() != want || !isTimeout(err) {
		t.Fatalf("read past the deadline: %v, want %q, a timeout", err, want)
	}
}
