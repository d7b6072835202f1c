package output

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// shellPipe is a pipe as a shell hands one to cvmtail: both ends blocking (os.Pipe's are
// non-blocking and in Go's poller, which no shell's are).
func shellPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "/dev/stdout")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func nonBlocking(t *testing.T, f *os.File) bool {
	t.Helper()
	var fl int
	var ferr error
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) { fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	return fl&unix.O_NONBLOCK != 0
}

// Lines written through a pipe whose reader is slow all arrive, in order; the writer wrote
// through a description of its own, and the pipe's shared one stayed blocking, as the
// shell and the other processes that hold it expect.
func TestWriterOwnsItsWayIntoAPipe(t *testing.T) {
	r, w := shellPipe(t)
	out, release := pipeOut(w)
	if _, ok := out.(*rawPipe); !ok {
		t.Fatalf("pipeOut of a pipe = %T, want its own non-blocking description", out)
	}
	_ = release()

	wr := NewWriter(w)
	const lines = 200000 // 10 MB: the pipe fills many times over
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < lines; i += 100 {
			b := wr.Buffer()
			for j := i; j < i+100; j++ {
				b = fmt.Appendf(b, "line %07d of a log that is followed\n", j)
			}
			if err := wr.Write(b); err != nil {
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // the pipe is full: the writer waits for room
	if nonBlocking(t, w) {
		t.Fatal("the pipe's shared description became non-blocking")
	}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		if want := fmt.Sprintf("line %07d of a log that is followed", n); sc.Text() != want {
			t.Fatalf("line %d = %q, want %q", n, sc.Text(), want)
		}
		if n++; n == lines {
			break
		}
	}
	if n != lines {
		t.Fatalf("read %d lines of %d: %v", n, lines, sc.Err())
	}
	<-produced
	if err := wr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	w.Close() // the writer's own description is closed too: the reader sees the end
	if b, err := io.ReadAll(r); err != nil || len(b) != 0 {
		t.Fatalf("after the last line: %q, %v; want the end of the pipe", b, err)
	}
}

// When the reader goes away (`cvmtail tail ... | head -1`), the write fails as os.File's
// does, with an error IsBrokenPipe knows.
func TestWriterToAPipeWithoutReader(t *testing.T) {
	r, w := shellPipe(t)
	wr := NewWriter(w)
	r.Close()
	_ = wr.Write(append(wr.Buffer(), "a line\n"...))
	err := wr.Close()
	if !IsBrokenPipe(err) {
		t.Fatalf("Close after the reader left: %v, want a broken pipe", err)
	}
	if want := "write /dev/stdout: broken pipe"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// A file or a terminal keeps its own writes: only a pipe gets a description of its own.
func TestPipeOutLeavesOtherOutputsAlone(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if out, release := pipeOut(f); out != io.Writer(f) || release != nil {
		t.Errorf("pipeOut of a regular file = %T, want the file itself", out)
	}
	var sink struct{ io.Writer }
	if out, _ := pipeOut(sink); out != io.Writer(sink) {
		t.Errorf("pipeOut of a non-file = %T, want it unchanged", out)
	}
}
