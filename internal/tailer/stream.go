package tailer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stream follows one file on one CVM, across reconnects.
type stream struct {
	cfg  *Config
	pool *pool
	file File
	info StreamInfo
	sink Sink

	// Where we are in the file: its identity and the offset right after the last byte of
	// the last whole line handed to the sink. A reconnect resumes exactly there.
	ident           string
	deliveredOffset int64
	recvOffset      int64 // offset of the next byte to arrive (framed mode)
	framed          bool  // the CVM runs the agent (offsets known), not the tail fallback
	opened          bool  // the file was opened at least once
}

type outcome struct {
	err     error // failed for good
	sinkErr error // the sink refused: stop everything
}

// sessionEnd is how one channel ended.
type sessionEnd int

const (
	endDone    sessionEnd = iota // the agent finished (no-follow)
	endStopped                   // ctx done
	endLost                      // the connection dropped
	endFailed                    // the file cannot be read, or the agent failed
	endSink                      // the sink refused
)

func (s *stream) run(ctx context.Context) outcome {
	for {
		sess, pc, err := s.pool.session(ctx)
		if err != nil {
			var re *retryError
			switch {
			case ctx.Err() != nil:
				return outcome{}
			case errors.As(err, &re):
				continue // the pool waits out the backoff
			default:
				var ce *cvmError
				if errors.As(err, &ce) {
					return outcome{err: &reportedError{err}} // already reported once for the CVM
				}
				return outcome{err: err}
			}
		}
		end, err := s.runSession(ctx, sess)
		s.pool.release(pc)
		switch end {
		case endDone, endStopped:
			return outcome{}
		case endSink:
			return outcome{sinkErr: err}
		case endFailed:
			return outcome{err: err}
		case endLost:
			if !s.cfg.Follow {
				return outcome{err: fmt.Errorf("connection lost: %w", err)}
			}
			s.pool.lost(pc, err)
		}
	}
}

// reportedError is a failure the user was already told about.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// IsReported tells whether a failure event repeats one already reported for the CVM.
func IsReported(err error) bool {
	var re *reportedError
	return errors.As(err, &re)
}

func (s *stream) request() agentRequest {
	r := agentRequest{
		Path: s.file.Path, Lines: s.cfg.Lines, Follow: s.cfg.Follow, Window: s.cfg.Window,
		PollMillis: int(s.cfg.Poll / time.Millisecond), Sudo: s.file.Sudo,
	}
	if r.PollMillis < 1 {
		r.PollMillis = 1
	}
	if !s.cfg.Since.IsZero() {
		r.Since = s.cfg.Since
		zone := s.cfg.SyslogZone
		if zone == nil {
			zone = time.UTC
		}
		_, r.ZoneOffset = s.cfg.Since.In(zone).Zone()
	}
	if s.ident != "" {
		r.ResumeIdent = s.ident
		r.ResumeOffset = s.deliveredOffset
		r.Lines = -1
	}
	return r
}

func (s *stream) runSession(ctx context.Context, sess Session) (sessionEnd, error) {
	stdin, err := sess.StdinPipe()
	if err != nil {
		_ = sess.Close()
		return endLost, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		_ = sess.Close()
		return endLost, err
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		_ = sess.Close()
		return endLost, err
	}
	if err := sess.Start(s.request().command()); err != nil {
		_ = sess.Close()
		return endLost, err
	}

	// Stopping: EOF on the agent's stdin tells it (or the fallback's watchdog) to exit at
	// once; closing the channel makes our reads return.
	stopped := make(chan struct{})
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			close(stopped)
			_ = stdin.Close()
			_ = sess.Close()
		})
	}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ctx.Done():
			stop()
		case <-stopped:
		}
	}()

	var errLines []string
	var errMu sync.Mutex
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 4096), 64<<10)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			errMu.Lock()
			errLines = append(errLines, line)
			errMu.Unlock()
			if s.cfg.Follow && s.opened {
				// tail's own notices ("has been replaced; following new file") and the like.
				s.cfg.Events(Event{Kind: EventNotice, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path, Err: errors.New(line)})
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()

	end, endErr := s.read(ctx, stdout, stdin)

	stop()
	<-watchDone
	// Give the CVM a moment to confirm the close, so the agent sees EOF before we drop the
	// connection; never long enough to hold up Ctrl-C.
	waitErr := make(chan error, 1)
	go func() { waitErr <- sess.Wait() }()
	var werr error
	select {
	case werr = <-waitErr:
	case <-time.After(s.cfg.StopGrace):
		werr = errors.New("no exit status")
	}
	select {
	case <-errDone:
	case <-time.After(50 * time.Millisecond):
	}
	if ctx.Err() != nil && end != endSink {
		return endStopped, nil
	}
	if end == endLost {
		if werr == nil && !s.cfg.Follow && !s.framed {
			return endDone, nil // the tail fallback finished the backlog (the agent says so with Z)
		}
		var exitErr interface{ ExitStatus() int }
		if errors.As(werr, &exitErr) {
			// The remote command ended on its own with a status: not a lost connection.
			errMu.Lock()
			msg := strings.Join(errLines, "; ")
			errMu.Unlock()
			if msg == "" {
				msg = fmt.Sprintf("remote command exited with status %d", exitErr.ExitStatus())
			}
			return endFailed, remoteError(msg, s.info.Path, s.file.Sudo)
		}
		if endErr == nil {
			endErr = errors.New("channel closed")
		}
	}
	return end, endErr
}

// remoteError turns a remote command's complaint into an error with a way forward.
func remoteError(msg, path string, sudo bool) error {
	switch {
	case strings.Contains(msg, "No such file or directory"):
		return fileError("ENOENT", "", path, sudo) // tail -F fallback: "tail: cannot open ..."
	case strings.Contains(msg, "Permission denied"):
		return fileError("EACCES", "", path, sudo)
	case sudo && strings.Contains(msg, "sudo") && strings.Contains(msg, "not found"):
		return &HintedError{Err: fmt.Errorf("%s: sudo is not installed on the CVM", path),
			HintText: "this log is root's; follow it on a CVM with sudo, or follow another log"}
	case sudo && strings.Contains(msg, "sudo") && (strings.Contains(msg, "password") || strings.Contains(msg, "not allowed") ||
		strings.Contains(msg, "terminal") || strings.Contains(msg, "tty") || strings.Contains(msg, "not in the sudoers")):
		return &HintedError{Err: fmt.Errorf("%s: not permitted to read it with sudo -n (%s)", path, msg),
			HintText: "the SSH user needs passwordless sudo for this log (sudo -n), or follow another log"}
	}
	return errors.New(msg)
}

// HintedError is an error with a way forward.
type HintedError struct {
	Err      error
	HintText string
}

func (e *HintedError) Error() string { return e.Err.Error() }
func (e *HintedError) Unwrap() error { return e.Err }

// Hint is the way forward.
func (e *HintedError) Hint() string { return e.HintText }

const magicPrefix = "\x00CVMTAIL"

// read consumes the agent's output until it ends.
func (s *stream) read(ctx context.Context, stdout io.Reader, stdin io.Writer) (sessionEnd, error) {
	// Small: frame payloads bigger than the buffer are read past it, straight into the line
	// buffer, and hundreds of streams each keep one.
	br := bufio.NewReaderSize(stdout, 8<<10)
	// Skip anything a shell start-up file printed before the agent's greeting.
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return endLost, err
		}
		if i := bytes.Index(line, []byte(magicPrefix)); i >= 0 {
			rest := string(bytes.TrimSpace(line[i+len(magicPrefix):]))
			if strings.HasPrefix(rest, "1") {
				s.framed = true
				return s.readFrames(ctx, br, stdin)
			}
			if !s.cfg.Since.IsZero() && s.ident == "" {
				s.cfg.Events(Event{Kind: EventNotice, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path,
					Err: fmt.Errorf("no python on the CVM: --since cannot search the file; showing the last %d lines instead", s.cfg.Lines)})
			}
			return s.readRaw(ctx, br, strings.TrimSpace(strings.TrimPrefix(rest, "0")))
		}
	}
}

// lineBuffer accumulates bytes and hands whole lines to the sink.
type lineBuffer struct {
	buf     []byte
	scanned int // buf[:scanned] holds no newline: a long line is searched once, not per frame
}

// emit hands every whole line in lb to the sink and keeps the tail. It returns the number
// of bytes handed over.
func (s *stream) emit(lb *lineBuffer) (int, error) {
	i := bytes.LastIndexByte(lb.buf[lb.scanned:], '\n')
	if i < 0 {
		lb.scanned = len(lb.buf)
		return 0, nil
	}
	n := lb.scanned + i + 1
	s.info.Ident, s.info.EndOffset = s.ident, -1
	if s.framed {
		s.info.EndOffset = s.recvOffset - int64(len(lb.buf)-n)
		if s.info.EndOffset > s.recvOffset { // a partial line completed by us: nothing pending
			s.info.EndOffset = s.recvOffset
		}
	}
	if err := s.sink.Lines(&s.info, lb.buf[:n], s.cfg.Now()); err != nil {
		return 0, err
	}
	rest := copy(lb.buf, lb.buf[n:])
	lb.buf = lb.buf[:rest]
	lb.scanned = rest
	// Give back memory after a giant line; an idle stream keeps no buffer at all.
	if rest == 0 {
		lb.release()
	} else if cap(lb.buf) > 4<<20 && rest < 64<<10 {
		lb.buf = append(make([]byte, 0, 256<<10), lb.buf...)
	}
	return n, nil
}

// flushPartial hands over a last line without newline, as a whole line.
func (s *stream) flushPartial(lb *lineBuffer) error {
	if len(lb.buf) == 0 {
		return nil
	}
	lb.buf = append(lb.buf, '\n')
	_, err := s.emit(lb)
	lb.buf, lb.scanned = lb.buf[:0], 0
	return err
}

func (s *stream) notice(msg string) {
	s.cfg.Events(Event{Kind: EventNotice, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path, Err: errors.New(msg)})
}

func (s *stream) readFrames(ctx context.Context, br *bufio.Reader, stdin io.Writer) (sessionEnd, error) {
	var lb lineBuffer
	var ack []byte
	acksGone := false
	lastErrCode := ""
	for {
		hdr, err := br.ReadSlice('\n')
		if err != nil {
			return endLost, err
		}
		fields := strings.SplitN(strings.TrimSuffix(string(hdr), "\n"), " ", 2)
		kind, rest := fields[0], ""
		if len(fields) > 1 {
			rest = fields[1]
		}
		switch kind {
		case "D":
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return endFailed, fmt.Errorf("agent protocol: bad frame %q", hdr)
			}
			start := len(lb.buf)
			lb.buf = grow(lb.buf, n)
			if _, err := io.ReadFull(br, lb.buf[start:start+n]); err != nil {
				return endLost, err
			}
			s.recvOffset += int64(n)
			if _, err := s.emit(&lb); err != nil {
				return endSink, err
			}
			s.deliveredOffset = s.recvOffset - int64(len(lb.buf))
			// Credit for the agent. Once the agent has sent everything and exited, the channel
			// may refuse it while buffered frames are still being read: that is no loss, the
			// frames decide how the stream ends.
			if !acksGone {
				ack = strconv.AppendInt(ack[:0], int64(n), 10)
				ack = append(ack, '\n')
				if _, err := stdin.Write(ack); err != nil {
					acksGone = true
				}
			}
		case "O":
			f := strings.Fields(rest)
			if len(f) < 2 {
				return endFailed, fmt.Errorf("agent protocol: bad frame %q", hdr)
			}
			off, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] != s.ident || off != s.recvOffset {
				// Another file, or a jump: a partial line of the old position is complete.
				if err := s.flushPartial(&lb); err != nil {
					return endSink, err
				}
			}
			s.ident, s.recvOffset, s.deliveredOffset = f[0], off, off
			s.opened = true
			lastErrCode = ""
		case "R":
			if err := s.flushPartial(&lb); err != nil {
				return endSink, err
			}
			if s.cfg.Follow {
				s.notice("rotated; following the new file")
			}
		case "T":
			if err := s.flushPartial(&lb); err != nil {
				return endSink, err
			}
			s.recvOffset, s.deliveredOffset = 0, 0
			s.notice("file truncated; following from its start")
		case "W":
			s.notice(rest)
		case "E":
			code, text, _ := strings.Cut(rest, " ")
			ferr := fileError(code, text, s.info.Path, s.file.Sudo)
			if !s.cfg.Follow || code == "EACCES" || code == "EPERM" {
				return endFailed, ferr
			}
			if code != lastErrCode {
				lastErrCode = code
				s.cfg.Events(Event{Kind: EventNotice, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path,
					Err: fmt.Errorf("%w (waiting for it to appear)", ferr)})
			}
		case "Z":
			if err := s.flushPartial(&lb); err != nil {
				return endSink, err
			}
			return endDone, nil
		default:
			return endFailed, fmt.Errorf("agent protocol: unknown frame %q", hdr)
		}
		_ = ctx
	}
}

// readRaw reads the tail fallback's unframed bytes.
func (s *stream) readRaw(ctx context.Context, br *bufio.Reader, ident string) (sessionEnd, error) {
	var lb lineBuffer
	if ident != "" {
		s.opened = true
	}
	chunk := make([]byte, 64<<10)
	for {
		n, err := br.Read(chunk)
		if n > 0 {
			s.opened = true
			lb.buf = append(lb.buf, chunk[:n]...)
			if _, err := s.emit(&lb); err != nil {
				return endSink, err
			}
		}
		if err != nil {
			if ctx.Err() == nil && !s.cfg.Follow {
				if ferr := s.flushPartial(&lb); ferr != nil {
					return endSink, ferr
				}
				return endLost, err // Wait() decides: status 0 is done, else a failure
			}
			return endLost, err
		}
	}
}

// lineBufs holds the line buffers of streams that have nothing pending, so that hundreds
// of mostly idle streams share a few buffers instead of keeping one each.
var lineBufs sync.Pool

func (lb *lineBuffer) release() {
	if lb.buf != nil && cap(lb.buf) <= 1<<20 {
		b := lb.buf[:0]
		lineBufs.Put(&b)
	}
	lb.buf, lb.scanned = nil, 0
}

func grow(b []byte, n int) []byte {
	if b == nil {
		if p, ok := lineBufs.Get().(*[]byte); ok {
			b = *p
		}
	}
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// fileError explains why a file cannot be read, with a way forward.
func fileError(code, text, path string, sudo bool) error {
	switch code {
	case "ENOENT":
		return &HintedError{Err: fmt.Errorf("%s: no such file", path),
			HintText: "check the name with 'cvmtail logs --remote'"}
	case "EACCES", "EPERM":
		hint := "the SSH user may not read it; use --ssh-user, or a catalog name read through sudo"
		if sudo {
			hint = "the SSH user needs passwordless sudo to read it"
		}
		return &HintedError{Err: fmt.Errorf("%s: permission denied", path), HintText: hint}
	case "EISDIR":
		return fmt.Errorf("%s: is a directory", path)
	}
	return fmt.Errorf("%s: %s", path, strings.ToLower(text))
}
