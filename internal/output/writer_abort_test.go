package output

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// A reader that stops reading (a paused pager) must not hold up Ctrl-C.
func TestWriterStalledReaderAbortable(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	w := NewWriter(pw)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := append(w.Buffer(), make([]byte, 100<<10)...)
				if err := w.Write(b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the pipe (64 KiB) and the queue fill

	start := time.Now()
	w.Abort()
	wg.Wait()
	if err := w.Close(); !errors.Is(err, ErrAborted) {
		t.Errorf("Close after Abort: %v, want ErrAborted", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Abort took %v with a stalled reader", d)
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrAborted) {
			t.Errorf("Write after Abort: %v, want ErrAborted", err)
		}
	}
}
