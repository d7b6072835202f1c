package tailer

// The agent protocol, version 2. docs/agent-protocol.md is the contract; agent/agent.py
// speaks it on the CVM and this file reads it. Every bound the client enforces is here, and
// nowhere else: what a CVM sends is checked once, before anything else looks at it.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
)

const (
	protocolVersion = "2"
	greetingPrefix  = "\x00CVMTAIL"
	// noPythonVersion is what the agent command prints instead of starting the agent when
	// the CVM has no Python; the tail fallback's own greeting starts with it too.
	noPythonVersion = "0"

	maxHeader       = 4096      // bytes of a frame header, newline included
	maxText         = 1024      // bytes of a W or E text
	maxCode         = 32        // bytes of an E code
	maxStreamID     = 1<<20 - 1 // stream ids are 1..maxStreamID
	maxNumber       = 1<<62 - 1 // offsets and sizes
	maxWindow       = 1 << 20   // the largest window the client gives (Config.Window is clamped)
	maxGreetingJunk = 64 << 10  // bytes a login script may print before the greeting
)

// Frame types, agent to client.
const (
	frameOpen      = 'O' // O <id> <ident> <offset> <size>: reading file ident from offset
	frameData      = 'D' // D <id> <n>, then n bytes of the file at the current offset
	frameTruncated = 'T' // T <id> <oldsize> <newsize>: truncated; continuing at 0
	frameRotated   = 'R' // R <id> <ident>|-: the name points to another file; the old one is done
	frameNotice    = 'W' // W <id> <text>: something the user should know
	frameError     = 'E' // E <id> <code> <text>: the file cannot be read (ENOENT, EACCES, ...)
	frameEnd       = 'Z' // Z <id>: the stream ended (without follow: the backlog is sent)
	// frameHistory is O for a file of the history (asked with history=1): H <id> <ident>
	// <offset> <size> <path>, the path of the rotated file to the end of the line.
	frameHistory = 'H'
	// frameNewStream is a stream the agent opens itself, a match of a glob the client asked
	// it to expand: N <id> <parent-id> <path>, the path to the end of the line.
	frameNewStream = 'N'
)

// frame is one parsed frame header. For D the payload follows: readPayload reads it.
type frame struct {
	kind   byte
	id     int
	ident  string // O, H; R ("" for "-")
	path   string // H, N
	offset int64  // O: offset; T: old size
	size   int64  // O: size; T: new size
	n      int    // D: payload bytes
	parent int    // N: the glob stream whose match this is
	code   string // E
	text   string // W, E
}

// wireStream is what the reader knows of one stream of the session.
type wireStream struct {
	// credit is how many bytes the agent may still send: the window plus the credit given
	// since, less what arrived. The reader takes, the stream's deliverer gives back.
	credit atomic.Int64
	opened bool // an O frame came: D frames have a file to belong to
	glob   *wireGlob
}

// wireGlob is what the reader knows of a glob stream: where its matches may be and which
// ids they may take.
type wireGlob struct {
	dir, pattern string
	next, last   int // ids next..last are free for its matches, in increasing order
	window       int // the credit each match starts with
	// paths are the matches announced, in this session or before: each is announced once.
	paths map[string]bool
}

// streamProtocolError is a frame that breaks the protocol and names a stream we opened: that
// stream fails. framingLost says the bytes after it cannot be trusted to start a frame, so
// the session must end (its other streams resume in a new one).
type streamProtocolError struct {
	id          int
	err         error
	framingLost bool
}

func (e *streamProtocolError) Error() string { return "agent protocol: " + e.err.Error() }
func (e *streamProtocolError) Unwrap() error { return e.err }

// agentProtocolError is output that cannot be attributed to a stream: every stream of the
// session fails.
type agentProtocolError struct{ err error }

func (e *agentProtocolError) Error() string { return "agent protocol: " + e.err.Error() }
func (e *agentProtocolError) Unwrap() error { return e.err }

// frameReader parses frames. A frame cut short by the end of the output is io.ErrUnexpectedEOF,
// the end at a frame boundary io.EOF: a dropped connection, not a protocol error.
type frameReader struct {
	br      *bufio.Reader
	streams map[int]*wireStream
}

func newFrameReader(br *bufio.Reader, streams map[int]*wireStream) *frameReader {
	return &frameReader{br: br, streams: streams}
}

// quote shows bytes from a CVM in a message, bounded.
func quote(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}

// next reads the next frame header; for D the caller then reads the payload with readPayload.
func (r *frameReader) next() (frame, error) {
	line, err := r.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxHeader:
		return frame{}, &agentProtocolError{fmt.Errorf("frame header longer than %d bytes: %s", maxHeader, quote(line))}
	case errors.Is(err, io.EOF) && len(line) == 0:
		return frame{}, io.EOF
	case errors.Is(err, io.EOF):
		return frame{}, io.ErrUnexpectedEOF
	case err != nil:
		return frame{}, err
	}
	line = line[:len(line)-1]
	if len(line) < 3 || line[1] != ' ' {
		return frame{}, &agentProtocolError{fmt.Errorf("malformed frame header %s", quote(line))}
	}
	f := frame{kind: line[0]}
	idField, rest, hasRest := bytes.Cut(line[2:], []byte{' '})
	id, ok := parseID(idField)
	if !ok {
		return frame{}, &agentProtocolError{fmt.Errorf("bad stream id in frame header %s", quote(line))}
	}
	if f.kind == frameNewStream {
		return r.newStream(line, id, rest)
	}
	ws := r.streams[id]
	if ws == nil {
		return frame{}, &agentProtocolError{fmt.Errorf("frame for stream %d, which was not asked for: %s", id, quote(line))}
	}
	f.id = id
	bad := func(framingLost bool, format string, args ...any) (frame, error) {
		return frame{}, &streamProtocolError{id: id, framingLost: framingLost, err: fmt.Errorf(format, args...)}
	}
	fields := func(n int) ([][]byte, bool) {
		if !hasRest {
			return nil, n == 0
		}
		fs := bytes.Split(rest, []byte{' '})
		return fs, len(fs) == n
	}
	switch f.kind {
	case frameData:
		if !hasRest {
			return bad(true, "data frame without a length: %s", quote(line))
		}
		n, ok := parseNumber(rest)
		if !ok || n > maxWindow {
			return bad(true, "data frame length %s beyond any window (%d)", quote(rest), maxWindow)
		}
		f.n = int(n)
		if credit := ws.credit.Load(); int64(f.n) > credit {
			// Skipped, so the frames after it still parse: at most maxWindow bytes.
			if err := r.discard(f.n); err != nil {
				return frame{}, err
			}
			return bad(false, "data frame of %d bytes with only %d bytes of credit", f.n, credit)
		}
		if !ws.opened {
			if err := r.discard(f.n); err != nil {
				return frame{}, err
			}
			return bad(false, "data before the file was opened")
		}
		ws.credit.Add(-int64(f.n))
		return f, nil
	case frameOpen:
		fs, ok := fields(3)
		if !ok || !validIdent(fs[0]) {
			return bad(false, "malformed open frame %s", quote(line))
		}
		off, ok1 := parseNumber(fs[1])
		size, ok2 := parseNumber(fs[2])
		if !ok1 || !ok2 {
			return bad(false, "malformed open frame %s", quote(line))
		}
		f.ident, f.offset, f.size = string(fs[0]), off, size
		ws.opened = true
		return f, nil
	case frameHistory:
		fs := bytes.SplitN(rest, []byte{' '}, 4)
		if !hasRest || len(fs) != 4 || !validIdent(fs[0]) || len(fs[3]) == 0 {
			return bad(false, "malformed history frame %s", quote(line))
		}
		off, ok1 := parseNumber(fs[1])
		size, ok2 := parseNumber(fs[2])
		if !ok1 || !ok2 {
			return bad(false, "malformed history frame %s", quote(line))
		}
		if !historyPath(fs[3]) {
			return bad(false, "history frame names %s, not an absolute path", quote(fs[3]))
		}
		f.ident, f.offset, f.size, f.path = string(fs[0]), off, size, string(fs[3])
		ws.opened = true
		return f, nil
	case frameTruncated:
		fs, ok := fields(2)
		if !ok {
			return bad(false, "malformed truncation frame %s", quote(line))
		}
		old, ok1 := parseNumber(fs[0])
		size, ok2 := parseNumber(fs[1])
		if !ok1 || !ok2 {
			return bad(false, "malformed truncation frame %s", quote(line))
		}
		f.offset, f.size = old, size
		return f, nil
	case frameRotated:
		fs, ok := fields(1)
		if !ok || (string(fs[0]) != "-" && !validIdent(fs[0])) {
			return bad(false, "malformed rotation frame %s", quote(line))
		}
		if string(fs[0]) != "-" {
			f.ident = string(fs[0])
		}
		return f, nil
	case frameNotice:
		if !hasRest || len(rest) == 0 || len(rest) > maxText {
			return bad(false, "notice frame without text or with more than %d bytes", maxText)
		}
		f.text = string(rest)
		return f, nil
	case frameError:
		code, text, _ := bytes.Cut(rest, []byte{' '})
		if !hasRest || !validCode(code) || len(text) > maxText {
			return bad(false, "malformed error frame %s", quote(line))
		}
		f.code, f.text = string(code), string(text)
		return f, nil
	case frameEnd:
		if hasRest {
			return bad(false, "malformed end frame %s", quote(line))
		}
		return f, nil
	}
	// Unknown: what follows it is anyone's guess.
	return bad(true, "unknown frame type %s", quote(line[:1]))
}

// newStream checks an N frame, a glob's match: its parent is a glob stream the client
// asked for; the id is in the glob's range and not used; the path is absolute, in the
// glob's directory, and its name matches the pattern. A bad one fails the glob, and the
// frames of the id it names cannot be attributed: the session starts again without it.
func (r *frameReader) newStream(line []byte, id int, rest []byte) (frame, error) {
	parentField, p, ok := bytes.Cut(rest, []byte{' '})
	parent, okParent := parseID(parentField)
	if !ok || !okParent {
		return frame{}, &agentProtocolError{fmt.Errorf("malformed new stream frame %s", quote(line))}
	}
	ps := r.streams[parent]
	if ps == nil {
		return frame{}, &agentProtocolError{fmt.Errorf("new stream of stream %d, which was not asked for: %s", parent, quote(line))}
	}
	bad := func(format string, args ...any) (frame, error) {
		return frame{}, &streamProtocolError{id: parent, framingLost: true, err: fmt.Errorf(format, args...)}
	}
	g := ps.glob
	if g == nil {
		return bad("new stream %d of a stream that is no glob", id)
	}
	if id < g.next || id > g.last || r.streams[id] != nil {
		return bad("new stream id %d is not one of the glob's free ids %d-%d", id, g.next, g.last)
	}
	if !historyPath(p) {
		return bad("new stream %d names %s, not an absolute path", id, quote(p))
	}
	if !GlobMatches(g.dir+"/"+g.pattern, string(p)) {
		return bad("new stream %d names %s, which is not a name in %s matching %s", id, quote(p), g.dir, quote([]byte(g.pattern)))
	}
	if g.paths[string(p)] {
		return bad("new stream %d names %s, announced already", id, quote(p))
	}
	g.paths[string(p)] = true
	g.next = id + 1
	ws := &wireStream{}
	ws.credit.Store(int64(g.window))
	r.streams[id] = ws
	return frame{kind: frameNewStream, id: id, parent: parent, path: string(p)}, nil
}

// readPayload reads a D frame's payload into dst (len(dst) == frame.n).
func (r *frameReader) readPayload(dst []byte) error {
	if _, err := io.ReadFull(r.br, dst); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

func (r *frameReader) discard(n int) error {
	if _, err := r.br.Discard(n); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// readGreeting skips what a login script printed and returns the version the greeting
// announces and the rest of its line (the tail fallback's file identity).
func readGreeting(br *bufio.Reader) (version, rest string, err error) {
	junk := 0
	for {
		line, err := br.ReadSlice('\n')
		if i := bytes.Index(line, []byte(greetingPrefix)); i >= 0 && err == nil {
			g := bytes.TrimRight(line[i+len(greetingPrefix):], "\r\n")
			v, r, _ := bytes.Cut(g, []byte{' '})
			if len(v) == 0 || len(v) > 8 || len(r) > 64 {
				return "", "", &agentProtocolError{fmt.Errorf("malformed greeting %s", quote(line[i:]))}
			}
			return string(v), string(r), nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return "", "", err
		}
		junk += len(line)
		if junk > maxGreetingJunk {
			return "", "", &agentProtocolError{fmt.Errorf("no agent greeting in the first %d bytes", maxGreetingJunk)}
		}
	}
}

// parseID reads a stream id: decimal digits, 1..maxStreamID.
func parseID(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 7 || b[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= maxStreamID
}

// parseNumber reads an offset, size or length: decimal digits only, below 2^62.
func parseNumber(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return int64(n), n <= maxNumber
}

// validIdent tells whether b is a file identity as the agent and the tail fallback write
// it: "dev:ino", both decimal, each fitting 64 bits. It is put into commands and .pos files.
func validIdent[T []byte | string](b T) bool {
	colon := -1
	for i := 0; i < len(b); i++ {
		if b[i] == ':' {
			if colon >= 0 {
				return false
			}
			colon = i
		} else if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	if colon <= 0 || colon == len(b)-1 {
		return false
	}
	_, err1 := strconv.ParseUint(string(b[:colon]), 10, 64)
	_, err2 := strconv.ParseUint(string(b[colon+1:]), 10, 64)
	return err1 == nil && err2 == nil
}

// ValidIdent tells whether ident is a file identity ("dev:ino", digits only) that the engine
// would accept from a CVM or a resume point.
func ValidIdent(ident string) bool { return validIdent(ident) }

func validCode(b []byte) bool {
	if len(b) == 0 || len(b) > maxCode {
		return false
	}
	for _, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// historyPath tells whether p, from an H frame, can be the path of a file of the history: a
// label for the lines (-o json's "file"), never opened or written by the client, but it
// must at least be an absolute path without NUL (the agent joins the directory it listed).
func historyPath(p []byte) bool {
	return len(p) > 1 && p[0] == '/' && bytes.IndexByte(p, 0) < 0
}
