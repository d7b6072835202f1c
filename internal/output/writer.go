package output

import (
	"bufio"
	"errors"
	"io"
	"runtime"
	"sync"
)

// Writer is the one writer of stdout: rendered batches of whole lines go in through a
// bounded queue, one goroutine writes them. A full queue blocks the producers, which is how
// a slow reader slows the streams down.
type Writer struct {
	queue chan []byte
	done  chan struct{}
	pool  sync.Pool

	mu      sync.Mutex
	err     error
	failed  chan struct{} // closed on the first write error
	aborted chan struct{} // closed by Abort
}

// QueueLen is how many batches may wait for the writer.
const QueueLen = 64

// ErrAborted is what Write and Close return after Abort.
var ErrAborted = errors.New("output abandoned")

// NewWriter starts the writer goroutine on w.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{
		queue:   make(chan []byte, QueueLen),
		done:    make(chan struct{}),
		failed:  make(chan struct{}),
		aborted: make(chan struct{}),
	}
	// Small to start with: every stream may hold one while it waits for the queue.
	wr.pool.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	go wr.loop(pipeOut(w))
	return wr
}

// Buffer returns an empty buffer to render into; hand it back through Write.
func (w *Writer) Buffer() []byte {
	return (*(w.pool.Get().(*[]byte)))[:0]
}

// Write queues a batch of whole lines; the writer owns b afterwards. It returns the
// writer's error once writing has failed.
func (w *Writer) Write(b []byte) error {
	select {
	case <-w.failed:
		return w.Err()
	default:
	}
	select {
	case w.queue <- b:
		return nil
	case <-w.failed:
		return w.Err()
	}
}

// Abort gives up on the output: queued lines are dropped, Write and Close return
// ErrAborted at once, even while the writer is blocked on a reader that does not read
// (a paused pager when Ctrl-C comes). The blocked write stays behind; the process is exiting.
func (w *Writer) Abort() {
	w.fail(ErrAborted)
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.aborted:
	default:
		close(w.aborted)
	}
}

// Failed is closed when writing has failed (e.g. the reader of stdout went away).
func (w *Writer) Failed() <-chan struct{} { return w.failed }

// Err is the first write error.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close writes what is queued, flushes, and returns the first write error.
func (w *Writer) Close() error {
	close(w.queue)
	select {
	case <-w.done:
	case <-w.aborted:
	}
	return w.Err()
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		close(w.failed)
	}
}

// loop writes the batches through a buffer, which it flushes when nothing more is queued:
// a write of its own for every batch would cost a system call (and a wake-up of the reader)
// for every frame of every stream, when hundreds of streams each deliver a line or two at a
// time. Before it flushes, it yields once, so that the streams already running (the frames
// of one SSH read, of several CVMs) queue theirs and share the write. It flushes at once
// rather than after a delay: a timer would wake the process a second time for every burst,
// which costs more than the write (on a virtual machine, far more).
func (w *Writer) loop(out io.Writer, release func() error) {
	defer close(w.done)
	if release != nil {
		defer func() { _ = release() }()
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	for {
		var b []byte
		var ok bool
		select {
		case b, ok = <-w.queue:
		default:
			// Nothing queued: let the streams that are running hand theirs over, then
			// show what there is.
			runtime.Gosched()
			select {
			case b, ok = <-w.queue:
			default:
				if bw.Buffered() > 0 && w.Err() == nil {
					if err := bw.Flush(); err != nil {
						w.fail(err)
					}
				}
				b, ok = <-w.queue
			}
		}
		if !ok {
			break
		}
		if w.Err() == nil {
			if _, err := bw.Write(b); err != nil {
				w.fail(err)
			}
		}
		if cap(b) <= 1<<20 {
			b = b[:0]
			w.pool.Put(&b)
		}
	}
	if w.Err() == nil {
		if err := bw.Flush(); err != nil {
			w.fail(err)
		}
	}
}

// IsBrokenPipe tells whether err means the reader of our output went away.
func IsBrokenPipe(err error) bool {
	return errors.Is(err, io.ErrClosedPipe) || isBrokenPipeErrno(err)
}
