//go:build !unix

package output

import (
	"os"
	"testing"
)

// Without poll() a pipe cannot tell: nil, and the writer stops at the next write instead.
func TestReaderGoneCannotTellWithoutPoll(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if ReaderGone(w) != nil {
		t.Error("ReaderGone promises what it cannot keep")
	}
}
