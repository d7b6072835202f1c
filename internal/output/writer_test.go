package output

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestWriterKeepsBatchesWhole(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				b := w.Buffer()
				b = fmt.Appendf(b, "g%d %d %s\n", g, i, strings.Repeat("x", i))
				if err := w.Write(b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g string
		var i int
		var x string
		if _, err := fmt.Sscanf(line, "%s %d %s", &g, &i, &x); err != nil && i != 0 {
			t.Fatalf("mangled line %q", line)
		}
		if i != next[g] || len(x) != i {
			t.Fatalf("line %q out of order or cut (want %s %d)", line, g, next[g])
		}
		next[g]++
	}
	for g := 0; g < 8; g++ {
		if next[fmt.Sprintf("g%d", g)] != 500 {
			t.Errorf("g%d: %d lines", g, next[fmt.Sprintf("g%d", g)])
		}
	}
}

func TestWriterReportsBrokenPipe(t *testing.T) {
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	// Without SIGPIPE ignored the Go runtime would only raise it for fds 1 and 2; a pipe
	// opened here gets EPIPE from write.
	w := NewWriter(wr)
	_ = w.Write(append(w.Buffer(), "x\n"...))
	<-w.Failed()
	err = w.Close()
	if !IsBrokenPipe(err) {
		t.Errorf("err = %v, want a broken pipe", err)
	}
	wr.Close()
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

func TestWriterFullDiskIsAnError(t *testing.T) {
	w := NewWriter(failingWriter{})
	_ = w.Write(append(w.Buffer(), "x\n"...))
	<-w.Failed()
	if err := w.Write(append(w.Buffer(), "y\n"...)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("later Write = %v, want ENOSPC", err)
	}
	if err := w.Close(); IsBrokenPipe(err) || err == nil {
		t.Errorf("Close = %v", err)
	}
	var _ io.Writer = failingWriter{}
}
