package tail

import (
	"sync"

	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// capturer writes each stream's lines to its capture file (--output-dir) and keeps the
// first write error, which stops the run: a capture must never lose lines silently.
type capturer struct {
	c       *output.Capture
	mu      sync.Mutex
	streams map[*tailer.StreamInfo]*output.CaptureStream
	err     error
}

func (c *capturer) stream(info *tailer.StreamInfo) (*output.CaptureStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.streams[info]; ok {
		return cs, nil
	}
	cs, err := c.c.Stream(info.CVM, info.Log)
	if err != nil {
		return nil, err
	}
	c.streams[info] = cs
	return cs, nil
}

func (c *capturer) write(info *tailer.StreamInfo, data []byte) error {
	cs, err := c.stream(info)
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
