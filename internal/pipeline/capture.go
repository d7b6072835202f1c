package pipeline

import (
	"context"
	"sync"

	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// capturer writes each stream's lines to its capture file and keeps the first write error,
// which stops the run: a capture must never lose lines silently.
type capturer struct {
	c      *output.Capture
	ctx    context.Context
	byPath func(log, path string) bool // nil: every log is a catalog name
	mu     sync.Mutex
	err    error
}

// open opens (and locks) the capture of a stream; a stream already opened is returned as is.
func (c *capturer) open(ctx context.Context, cvm, log, path string) (*output.CaptureStream, error) {
	byPath := c.byPath != nil && c.byPath(log, path)
	return c.c.Open(ctx, output.CaptureKey{CVM: cvm, Log: log, Path: path, ByPath: byPath})
}

// write appends lines of st with the position they end at in the remote file, opening the
// stream's capture file first if need be.
func (c *capturer) write(st *stream, info *tailer.StreamInfo, data []byte) error {
	var err error
	if st.capture == nil {
		st.capture, err = c.open(c.ctx, info.CVM, info.Log, info.Path)
	}
	if err == nil {
		err = st.capture.Write(data, info.Ident, info.EndOffset)
	}
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	return err
}

// close closes the capture files and returns the first error of the run.
func (c *capturer) close() error {
	cerr := c.c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return cerr
}
