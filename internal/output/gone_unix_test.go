//go:build unix

package output

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReaderGoneOnPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gone := ReaderGone(w)
	if gone == nil {
		t.Fatal("a pipe can tell when its reader goes")
	}
	select {
	case <-gone:
		t.Fatal("gone while the reader is there")
	case <-time.After(100 * time.Millisecond):
	}
	r.Close()
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("reader closed, not noticed without a write")
	}
}

func TestReaderGoneRegularFileCannotTell(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ReaderGone(f) != nil {
		t.Error("a regular file has no reader to lose")
	}
}
