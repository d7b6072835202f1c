package tailer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// stream follows one file on one CVM, across sessions and reconnects. Its lines reach the
// sink from one goroutine at a time: the session's deliverer for this stream (agent) or its
// fallback loop.
type stream struct {
	cfg  *Config
	cvm  *cvmRun
	id   int // the stream's id in the agent protocol, unique on its CVM
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
	skipped         bool  // optional, and not on the CVM (read once every stream has ended)
	lastErrCode     string

	// A glob (file.Glob): its matches take the ids globFirst..globLast, globNext the first
	// not used yet; globPaths are the matches announced so far, children their streams.
	// Touched by the CVM's agent group alone.
	globFirst, globNext, globLast int
	globPaths                     map[string]bool
	globResume                    []ResumePoint // matches an earlier run followed (Config.GlobResume)
	children                      []*stream
	globAsked                     bool // a session asked for it: later matches are new files

	lb lineBuffer
	// cutting: the rest of a line that outgrew its bound is being dropped (see MaxLine);
	// cutKept bytes of it were delivered, cutDropped dropped so far.
	cutting             bool
	cutKept, cutDropped int64

	// Guarded by cvm.mu: how the stream ended.
	failed bool
	done   bool
}

// Lines longer than MaxLine are cut: the first MaxLine bytes are delivered as a line, the
// rest up to its newline is dropped, with a notice naming how many bytes. Lines longer than
// freeLine hold memory from the run's line budget (LineBudget, shared by every stream);
// when it is spent, a line is cut at the length it has reached. So hostile or broken CVMs
// cannot make cvmtail hold more than (streams × freeLine) + LineBudget in partial lines.
const (
	MaxLine    = 64 << 20
	LineBudget = 256 << 20
	freeLine   = 256 << 10
)

// lineBudget is the memory partial lines longer than freeLine may take in one run.
type lineBudget struct {
	mu   sync.Mutex
	left int64
}

func newLineBudget(n int64) *lineBudget { return &lineBudget{left: n} }

func (b *lineBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

func (b *lineBudget) give(n int64) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}

// lineBuffer holds the start of a line whose newline has not arrived.
type lineBuffer struct {
	buf      []byte
	budget   *lineBudget
	reserved int64 // taken from budget for cap(buf) beyond freeLine
}

// grow makes room for n more bytes, within MaxLine (and its newline) and the budget; false
// when there is no room: the line must be cut at what the buffer can hold.
func (lb *lineBuffer) grow(n int) bool {
	need := len(lb.buf) + n
	if need <= cap(lb.buf) {
		return true
	}
	if need > MaxLine+1 {
		return false
	}
	if lb.buf == nil && need <= freeLine {
		if p, ok := lineBufs.Get().(*[]byte); ok && need <= cap(*p) {
			lb.buf = (*p)[:0]
			return true
		}
	}
	newCap := min(max(2*cap(lb.buf), need, 4096), MaxLine+1)
	if !lb.reserve(newCap) && !lb.reserve(need) {
		// Spent by other streams' long lines: what every stream may hold is still there.
		if cap(lb.buf) >= freeLine {
			return false
		}
		newCap = freeLine
	}
	nb := make([]byte, len(lb.buf), newCap)
	copy(nb, lb.buf)
	lb.buf = nb
	return need <= newCap
}

// reserve takes from the budget what a buffer of capacity c needs beyond freeLine.
func (lb *lineBuffer) reserve(c int) bool {
	extra := int64(max(c-freeLine, 0)) - lb.reserved
	if extra <= 0 {
		return true
	}
	if lb.budget == nil || !lb.budget.take(extra) {
		return false
	}
	lb.reserved += extra
	return true
}

// reset empties the buffer, giving memory back: an idle stream keeps no buffer at all.
func (lb *lineBuffer) reset() {
	if lb.reserved > 0 {
		lb.budget.give(lb.reserved)
		lb.reserved = 0
		lb.buf = nil
		return
	}
	if lb.buf != nil && cap(lb.buf) <= freeLine {
		b := lb.buf[:0]
		lineBufs.Put(&b)
	}
	lb.buf = nil
}

// lineBufs holds the line buffers of streams that have nothing pending, so that hundreds
// of mostly idle streams share a few buffers instead of keeping one each.
var lineBufs sync.Pool

// beginSession readies the stream for a new session: bytes come again from deliveredOffset,
// from the address the CVM is reached at now (Engine.Update may have changed it).
func (s *stream) beginSession() {
	s.lb.reset()
	s.recvOffset = s.deliveredOffset
	s.info.Address = s.cvm.pool.address()
}

func (s *stream) notice(msg string) {
	s.cfg.Events(Event{Kind: EventNotice, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path, Err: errors.New(msg)})
}

// lines hands whole lines to the sink; end is the file offset right after them.
func (s *stream) lines(p []byte, end int64) error {
	s.info.Ident, s.info.EndOffset = s.ident, -1
	if s.framed {
		s.info.EndOffset = end
	}
	return s.sink.Lines(&s.info, p, s.cfg.Now())
}

// data takes the next bytes of the current file (framed: at recvOffset) and hands every
// whole line to the sink; the start of a line without its newline stays in lb.
func (s *stream) data(p []byte) error {
	start := s.recvOffset
	s.recvOffset += int64(len(p))
	if s.cutting {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.cutDropped += int64(len(p))
			s.deliveredOffset = s.recvOffset
			return nil
		}
		s.cutDropped += int64(i)
		s.endCut()
		p, start = p[i+1:], start+int64(i+1)
	}
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		whole := p[:i+1]
		if len(s.lb.buf) > 0 {
			// The line held so far ends in this chunk.
			first := bytes.IndexByte(whole, '\n')
			if len(s.lb.buf)+first > MaxLine || !s.lb.grow(first+1) {
				if err := s.cutLine(whole[:first], start); err != nil {
					return err
				}
				s.endCut()
			} else {
				s.lb.buf = append(s.lb.buf, whole[:first+1]...)
				err := s.lines(s.lb.buf, start+int64(first+1))
				s.lb.reset()
				if err != nil {
					return err
				}
			}
			whole, start = whole[first+1:], start+int64(first+1)
		}
		if len(whole) > 0 {
			// Whole lines straight from the frame: no copy.
			if err := s.lines(whole, start+int64(len(whole))); err != nil {
				return err
			}
			start += int64(len(whole))
		}
		p = p[i+1:]
	}
	if len(p) > 0 {
		// With room for the newline to come, so that the end of a line never needs more.
		if len(s.lb.buf)+len(p) > MaxLine || !s.lb.grow(len(p)+1) {
			if err := s.cutLine(p, start); err != nil {
				return err
			}
		} else {
			s.lb.buf = append(s.lb.buf, p...)
		}
	}
	s.deliveredOffset = s.recvOffset - int64(len(s.lb.buf))
	return nil
}

// cutLine delivers the start of a line that outgrew its bound, lb and as much of p (bytes
// of it at offset start, no newline among them) as fits, and drops the rest of the line up
// to its newline.
func (s *stream) cutLine(p []byte, start int64) error {
	s.lb.grow(min(len(p), MaxLine-len(s.lb.buf)) + 1) // as far as it goes
	take := max(min(len(p), cap(s.lb.buf)-len(s.lb.buf)-1, MaxLine-len(s.lb.buf)), 0)
	s.lb.buf = append(s.lb.buf, p[:take]...)
	end := start + int64(take)
	dropped := int64(len(p) - take)
	if len(s.lb.buf) == cap(s.lb.buf) {
		// Not even room for the newline: the last byte held gives way to it.
		s.lb.buf = s.lb.buf[:len(s.lb.buf)-1]
		end--
		dropped++
	}
	s.lb.buf = append(s.lb.buf, '\n')
	s.cutting, s.cutKept, s.cutDropped = true, int64(len(s.lb.buf)-1), dropped
	err := s.lines(s.lb.buf, end)
	s.lb.reset()
	s.deliveredOffset = start + int64(len(p))
	return err
}

// endCut reports a cut line once its end is known.
func (s *stream) endCut() {
	if !s.cutting {
		return
	}
	s.notice(fmt.Sprintf("a line was cut after its first %d bytes, %d bytes of it dropped (lines are kept whole up to %d MiB while memory for long lines lasts)",
		s.cutKept, s.cutDropped, MaxLine>>20))
	s.cutting, s.cutKept, s.cutDropped = false, 0, 0
}

// flushPartial hands over a last line without newline, as a whole line.
func (s *stream) flushPartial() error {
	s.endCut()
	if len(s.lb.buf) == 0 {
		return nil
	}
	if s.lb.grow(1) {
		s.lb.buf = append(s.lb.buf, '\n')
	} else {
		s.lb.buf[len(s.lb.buf)-1] = '\n' // no room left: its last byte gives way
	}
	err := s.lines(s.lb.buf, s.recvOffset)
	s.lb.reset()
	return err
}

// control applies a frame other than D. It returns whether the stream finished (Z) and an
// error: a *fileFailure when the stream fails, a sink error otherwise.
func (s *stream) control(f frame) (finished bool, err error) {
	switch f.kind {
	case frameOpen, frameHistory:
		if f.ident != s.ident || f.offset != s.recvOffset {
			// Another file, or a jump: a partial line of the old position is complete.
			if err := s.flushPartial(); err != nil {
				return false, err
			}
		}
		s.ident, s.recvOffset, s.deliveredOffset = f.ident, f.offset, f.offset
		s.info.File = s.info.Path
		if f.kind == frameHistory {
			s.info.File = f.path
		}
		s.opened = true
		s.lastErrCode = ""
	case frameRotated:
		if err := s.flushPartial(); err != nil {
			return false, err
		}
		if s.cfg.Follow {
			s.cfg.Events(Event{Kind: EventRotated, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path,
				Err: errors.New("rotated; following the new file")})
		}
	case frameTruncated:
		if err := s.flushPartial(); err != nil {
			return false, err
		}
		s.recvOffset, s.deliveredOffset = 0, 0
		s.notice("file truncated; following from its start")
	case frameNotice:
		s.notice(f.text)
	case frameError:
		ferr := fileError(f.code, f.text, s.info.Path, s.file.Sudo)
		if s.file.Optional && f.code == "ENOENT" {
			// A glob selected it and this CVM has none: no failure. Without follow the
			// agent's end frame follows and ends the stream; with it, wait quietly.
			switch {
			case !s.cfg.Follow && !s.skipped:
				s.skipped = true
				s.cfg.Events(Event{Kind: EventSkipped, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path, Err: ferr})
			case s.cfg.Follow && s.lastErrCode != f.code:
				s.cfg.Events(Event{Kind: EventWaiting, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path, Err: ferr})
			}
			s.lastErrCode = f.code
			break
		}
		if !s.cfg.Follow || f.code == "EACCES" || f.code == "EPERM" {
			return false, &fileFailure{ferr}
		}
		if f.code != s.lastErrCode {
			s.lastErrCode = f.code
			s.cfg.Events(Event{Kind: EventNotice, CVM: s.info.CVM, Log: s.info.Log, Path: s.info.Path,
				Err: fmt.Errorf("%w (waiting for it to appear)", ferr)})
		}
	case frameEnd:
		if err := s.flushPartial(); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// fileFailure is a stream that fails for good (the file cannot be read).
type fileFailure struct{ err error }

func (e *fileFailure) Error() string { return e.err.Error() }
func (e *fileFailure) Unwrap() error { return e.err }

// rawData takes the tail fallback's unframed bytes.
func (s *stream) rawData(p []byte) error {
	s.opened = true
	resume := s.deliveredOffset
	err := s.data(p)
	s.deliveredOffset = resume // the fallback knows no offsets: only a resume point's
	return err
}

// remoteError turns a remote command's complaint into an error. path is "" when the
// command followed several files.
func remoteError(msg, path string, sudo bool) error {
	where := ""
	if path != "" {
		where = path + ": "
	}
	switch {
	case path != "" && strings.Contains(msg, "No such file or directory"):
		return fileError("ENOENT", "", path, sudo) // tail -F fallback: "tail: cannot open ..."
	case path != "" && strings.Contains(msg, "Permission denied"):
		return fileError("EACCES", "", path, sudo)
	case sudo && strings.Contains(msg, "sudo") && strings.Contains(msg, "not found"):
		return &SudoError{Path: path, NotInstalled: true}
	case sudo && strings.Contains(msg, "sudo") && (strings.Contains(msg, "password") || strings.Contains(msg, "not allowed") ||
		strings.Contains(msg, "terminal") || strings.Contains(msg, "tty") || strings.Contains(msg, "not in the sudoers")):
		return &SudoError{Path: path, Said: msg}
	}
	return errors.New(where + msg)
}

// SudoError is a file read through sudo -n that sudo would not read: not installed, or
// not permitted without a password.
type SudoError struct {
	Path         string // "" when the command followed several files
	NotInstalled bool
	Said         string // sudo's words, when it refused
}

func (e *SudoError) Error() string {
	where := ""
	if e.Path != "" {
		where = e.Path + ": "
	}
	if e.NotInstalled {
		return where + "sudo is not installed on the CVM"
	}
	return fmt.Sprintf("%snot permitted to read it with sudo -n (%s)", where, e.Said)
}

// FileError is a file the CVM cannot read: Code is the errno's name (ENOENT, EACCES, ...).
type FileError struct {
	Path string
	Code string
	Text string // the CVM's strerror, for codes without a message of ours
	Sudo bool   // read through sudo -n
}

func (e *FileError) Error() string {
	switch e.Code {
	case "ENOENT":
		return e.Path + ": no such file"
	case "EACCES", "EPERM":
		return e.Path + ": permission denied"
	case "EISDIR":
		return e.Path + ": is a directory"
	}
	return e.Path + ": " + strings.ToLower(e.Text)
}

// fileError explains why a file cannot be read.
func fileError(code, text, path string, sudo bool) error {
	return &FileError{Path: path, Code: code, Text: text, Sudo: sudo}
}
