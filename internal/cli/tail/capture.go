package tail

import (
	"context"
	"sync"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// capturer writes each stream's lines to its capture file (--output-dir) and keeps the
// first write error, which stops the run: a capture must never lose lines silently.
type capturer struct {
	c      *output.Capture
	ctx    context.Context
	byPath map[string]bool // log name + "\x00" + path: given as a path
	mu     sync.Mutex
	err    error
}

func newCapturer(ctx context.Context, c *output.Capture, logs []catalog.Log) *capturer {
	cp := &capturer{c: c, ctx: ctx, byPath: map[string]bool{}}
	for _, l := range logs {
		if l.ByPath {
			cp.byPath[l.Name+"\x00"+l.Path] = true
		}
	}
	return cp
}

func (c *capturer) key(cvm, log, path string) output.CaptureKey {
	return output.CaptureKey{CVM: cvm, Log: log, Path: path, ByPath: c.byPath[log+"\x00"+path]}
}

// open opens (and locks) the capture of a stream; a stream already opened is returned as is.
func (c *capturer) open(ctx context.Context, cvm, log, path string) (*output.CaptureStream, error) {
	return c.c.Open(ctx, c.key(cvm, log, path))
}

func (c *capturer) write(info *tailer.StreamInfo, data []byte) error {
	cs, err := c.open(c.ctx, info.CVM, info.Log, info.Path)
	if err == nil {
		err = cs.Write(data, info.Ident, info.EndOffset)
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
