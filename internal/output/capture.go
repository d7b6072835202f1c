package output

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Capture appends each stream's lines to DIR/<cvm>/<log>.log (for cron capture). Beside each
// capture file, a position file (".<log>.log.pos") records which remote file the capture
// follows and the offset in it right after the last captured line, so a restarted capture
// resumes there: no line lost, none captured twice.
type Capture struct {
	dir string
	// Filtered tells that not every line is captured (--grep and the like): then the size
	// of a capture file says nothing about remote offsets.
	Filtered bool

	mu      sync.Mutex
	streams []*CaptureStream
}

// NewCapture prepares dir, creating it when needed, and checks that it is writable.
func NewCapture(dir string) (*Capture, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--output-dir: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".cvmtail-probe-*")
	if err != nil {
		return nil, fmt.Errorf("--output-dir %s is not writable: %w", dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return &Capture{dir: dir}, nil
}

// safeName keeps a CVM or log name one path component.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r < ' ' {
			return '_'
		}
		return r
	}, s)
	if s == "" || strings.HasPrefix(s, ".") {
		s = "_" + s
	}
	return s
}

// Path is the capture file of a stream.
func (c *Capture) Path(cvm, log string) string {
	return filepath.Join(c.dir, safeName(cvm), safeName(log)+".log")
}

func posPath(capturePath string) string {
	return filepath.Join(filepath.Dir(capturePath), "."+filepath.Base(capturePath)+".pos")
}

// ResumePoint tells where a restarted capture of a stream should resume: the remote file's
// identity and the offset after the last captured line.
func (c *Capture) ResumePoint(cvm, log string) (ident string, offset int64, ok bool) {
	path := c.Path(cvm, log)
	data, err := os.ReadFile(posPath(path))
	if err != nil {
		return "", 0, false
	}
	f := strings.Fields(string(data))
	if len(f) != 3 {
		return "", 0, false
	}
	offset, err1 := strconv.ParseInt(f[1], 10, 64)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	st, err3 := os.Stat(path)
	if err1 != nil || err2 != nil || err3 != nil || offset < 0 {
		return "", 0, false
	}
	switch {
	case st.Size() == size:
		return f[0], offset, true
	case st.Size() > size && !c.Filtered:
		// Stopped between writing lines and recording them: the extra bytes are the next
		// bytes of the same remote file.
		return f[0], offset + (st.Size() - size), true
	}
	return "", 0, false
}

// CaptureStream is one open capture file.
type CaptureStream struct {
	path string
	f    *os.File
	size int64
	pos  []byte
}

// Stream opens (appending) the capture file of a stream.
func (c *Capture) Stream(cvm, log string) (*CaptureStream, error) {
	path := c.Path(cvm, log)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	cs := &CaptureStream{path: path, f: f, size: st.Size()}
	c.mu.Lock()
	c.streams = append(c.streams, cs)
	c.mu.Unlock()
	return cs, nil
}

// Write appends whole lines read from the remote file ident up to endOffset (-1: unknown).
func (cs *CaptureStream) Write(lines []byte, ident string, endOffset int64) error {
	n, err := cs.f.Write(lines)
	cs.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing %s: %w", cs.path, err)
	}
	if ident == "" || endOffset < 0 {
		_ = os.Remove(posPath(cs.path)) // no exact resume point for what we just wrote
		return nil
	}
	cs.pos = fmt.Appendf(cs.pos[:0], "%s %d %d\n", ident, endOffset, cs.size)
	if err := os.WriteFile(posPath(cs.path), cs.pos, 0o640); err != nil {
		return fmt.Errorf("writing %s: %w", posPath(cs.path), err)
	}
	return nil
}

// Close closes every capture file; data is written as it comes, so nothing is pending.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for _, cs := range c.streams {
		if err := cs.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("closing %s: %w", cs.path, err)
		}
	}
	c.streams = nil
	return first
}
