package tailer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// sayNoPython says once per CVM what tail -F cannot do that the agent does: --since (the
// history, the search) and --until.
func (c *cvmRun) sayNoPython() {
	cfg := c.cfg
	if cfg.Since.IsZero() && cfg.Until.IsZero() {
		return
	}
	c.mu.Lock()
	said := c.saidNoPy
	c.saidNoPy = true
	c.mu.Unlock()
	if said {
		return
	}
	msg := fmt.Sprintf("no python on the CVM: --since cannot read the files' rotated history nor search them; showing the last %d lines of each file instead", cfg.Lines)
	switch {
	case cfg.Since.IsZero():
		msg = "no python on the CVM: --until cannot end the streams; they go on"
	case !cfg.Until.IsZero():
		msg += ", and --until cannot end the streams"
	}
	cfg.Events(Event{Kind: EventNotice, CVM: c.target.Name, Err: errors.New(msg)})
}

// fallback follows each stream with tail -F on a channel of its own: the CVM has no Python.
// Channels beyond sshd's MaxSessions open another connection.
func (g *agentGroup) fallback(ctx context.Context, live []*stream) {
	g.cvm.sayNoPython()
	var wg sync.WaitGroup
	for _, s := range live {
		if s.file.Glob {
			// tail -F takes names, and no shell may expand one: said once, the glob is skipped.
			g.cvm.cfg.Events(Event{Kind: EventNotice, CVM: g.cvm.target.Name, Log: s.info.Log, Path: s.info.Path,
				Err: errors.New("no python on the CVM: the glob cannot be expanded there; skipped")})
			g.cvm.finish(s)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runFallback(ctx)
		}()
	}
	wg.Wait()
}

func (s *stream) runFallback(ctx context.Context) {
	c := s.cvm
	for {
		sess, pc, next := c.session(ctx)
		if next != sessionOpened {
			if next == sessionRetry {
				continue
			}
			return
		}
		end, err := s.runFallbackSession(ctx, sess)
		c.pool.release(pc)
		switch end {
		case endDone:
			c.finish(s)
			return
		case endStopped, endSink:
			return
		case endFailed:
			c.fail([]*stream{s}, err)
			return
		case endLost:
			if !s.cfg.Follow {
				c.fail([]*stream{s}, fmt.Errorf("connection lost: %w", err))
				return
			}
			c.lost(pc, err)
		}
	}
}

func (s *stream) fallbackRequest() fallbackRequest {
	r := fallbackRequest{Path: s.file.Path, Lines: s.cfg.Lines, Follow: s.cfg.Follow, Sudo: s.file.Sudo}
	if s.ident != "" {
		r.ResumeIdent, r.ResumeOffset, r.Lines = s.ident, s.deliveredOffset, -1
	}
	return r
}

func (s *stream) runFallbackSession(ctx context.Context, sess Session) (sessionEnd, error) {
	ch, err := startChannel(ctx, sess, s.fallbackRequest().command())
	if err != nil {
		return endLost, err
	}
	var tail errTail
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		// tail's own notices ("has been replaced; following new file") and the like.
		readStderr(ch.stderr, &tail, func(line string) {
			if s.cfg.Follow && s.opened {
				s.notice(line)
			}
		})
	}()
	s.framed = false
	s.beginSession()
	end, endErr := s.readRaw(ctx, ch.stdout)
	werr := ch.finish(s.cfg.StopGrace, stderrDone)
	if ctx.Err() != nil && end != endSink {
		return endStopped, nil
	}
	if end == endLost {
		if werr == nil && !s.cfg.Follow {
			return endDone, nil // tail finished the backlog
		}
		if err := exitFailure(werr, &tail, s.info.Path, s.file.Sudo); err != nil {
			var fe *FileError
			if s.file.Optional && !s.cfg.Follow && errors.As(err, &fe) && fe.Code == "ENOENT" {
				s.skipped = true
				s.cfg.Events(Event{Kind: EventSkipped, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path, Err: err})
				return endDone, nil
			}
			return endFailed, err
		}
	}
	return end, endErr
}

// readRaw reads the tail fallback's unframed bytes after its greeting.
func (s *stream) readRaw(ctx context.Context, stdout io.Reader) (sessionEnd, error) {
	br := bufio.NewReaderSize(stdout, 8<<10)
	version, ident, err := readGreeting(br)
	switch {
	case err != nil:
		return endLost, err
	case version != noPythonVersion:
		return endFailed, fmt.Errorf("the CVM's tail fallback answered with protocol %q", version)
	}
	if ident != "" {
		if !validIdent(ident) {
			return endFailed, fmt.Errorf("the CVM's tail fallback answered with a malformed file identity %s", quote([]byte(ident)))
		}
		s.opened = true
	}
	chunk := make([]byte, 64<<10)
	for {
		n, err := br.Read(chunk)
		if n > 0 {
			if err := s.rawData(chunk[:n]); err != nil {
				s.cvm.run.sinkFailed(err)
				return endSink, err
			}
		}
		if err != nil {
			if ctx.Err() == nil && !s.cfg.Follow {
				if ferr := s.flushPartial(); ferr != nil {
					s.cvm.run.sinkFailed(ferr)
					return endSink, ferr
				}
			}
			return endLost, err // Wait() decides: status 0 is done, else a failure
		}
	}
}
