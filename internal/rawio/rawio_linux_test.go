package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func rawOf(t *testing.T, c interface {
	SyscallConn() (syscall.RawConn, error)
}) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// Both ways through a socket whose buffers fill: the writer meets EAGAIN and waits in the
// poller, the reader waits for data; every byte arrives, in order, then io.EOF.
func TestReadWriteThroughFullBuffers(t *testing.T) {
	c, s := tcpPair(t)
	payload := make([]byte, 16<<20)
	for i := range payload {
		payload[i] = byte(i*7 + i>>13)
	}
	wrote := make(chan error, 1)
	go func() {
		n, err := Write(rawOf(t, c), payload)
		if err == nil && n != len(payload) {
			err = errors.New("short write without an error")
		}
		_ = c.CloseWrite()
		wrote <- err
	}()
	time.Sleep(100 * time.Millisecond) // the socket's buffers fill, the writer waits
	rc := rawOf(t, s)
	var got bytes.Buffer
	buf := make([]byte, 5000) // not a divisor of anything above
	for {
		n, err := Read(rc, buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", got.Len(), err)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got.Bytes(), payload) {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(payload))
	}
	if n, err := Read(rc, buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the end = %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := Read(rc, nil); n != 0 || err != nil {
		t.Fatalf("read into nothing = %d, %v; want 0, nil", n, err)
	}
}

// Deadlines hold as on the connection itself: the handshake's bound depends on it.
func TestDeadlines(t *testing.T) {
	c, _ := tcpPair(t)
	rc := rawOf(t, c)
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := Read(rc, make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v is not a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the deadline fired after %v", d)
	}
	// The peer reads nothing: the buffers fill and the write waits until its deadline.
	_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := Write(rc, make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("write past its deadline: %d bytes, %v; want some, then os.ErrDeadlineExceeded", n, err)
	}
}

// Closing the connection ends a read that waits, as close does for net.Conn's Read.
func TestCloseEndsAWaitingRead(t *testing.T) {
	c, _ := tcpPair(t)
	rc := rawOf(t, c)
	done := make(chan error, 1)
	go func() {
		_, err := Read(rc, make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed connection: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read still waits after close")
	}
}

// A pipe whose reader went away: EPIPE, which output.IsBrokenPipe recognises.
func TestWriteToAPipeWithoutReader(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	_, err = Write(rawOf(t, w), []byte("line\n"))
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a pipe without reader: %v, want EPIPE", err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "write" {
		t.Fatalf("error %v (%T), want an *os.SyscallError of write", err, err)
	}
}
