// Package tailer is cvmtail's engine: many CVMs × many files in, whole lines out.
//
// Each (CVM, file) pair is a stream. One agent process per CVM (a second one under sudo -n
// for the files that need root), on one SSH channel, follows every file of that CVM and
// sends their bytes in frames that carry a stream id, the file identity and byte offsets
// (docs/agent-protocol.md). The engine cuts them into whole lines, hands them to the sink,
// and gives the agent credit, stream by stream, for what the sink took, so a slow reader
// slows the remote side instead of filling memory, and a stream whose lines wait holds up
// no other. A CVM without Python gets tail -F, one channel per file; when sshd refuses
// another channel (MaxSessions), the engine opens another connection to that CVM.
package tailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Client is one SSH connection (an *ssh.Client through SSHClient in production).
type Client interface {
	NewSession() (Session, error)
	// Wait blocks until the connection is closed.
	Wait() error
	Close() error
}

// Session is one SSH channel running one command.
type Session interface {
	StdinPipe() (io.WriteCloser, error)
	StdoutPipe() (io.Reader, error)
	StderrPipe() (io.Reader, error)
	Start(cmd string) error
	Wait() error
	Close() error
}

// Dialer connects to a CVM.
type Dialer interface {
	Dial(ctx context.Context, address string) (Client, error)
}

// DialerFunc adapts a function to Dialer.
type DialerFunc func(ctx context.Context, address string) (Client, error)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, address string) (Client, error) { return f(ctx, address) }

// Target is a CVM.
type Target struct {
	Name    string // shown in the output: Prism's name or the address as given
	Address string
}

// File is a log file to follow on every CVM.
type File struct {
	Name string // catalog name or base name
	Path string // absolute path on the CVM
	Sudo bool   // read through sudo -n
	// Optional: a CVM that does not have the file is no failure (a glob selected it). In
	// follow mode the stream waits for it quietly; without follow it ends, skipped.
	Optional bool
	// Glob: Path's last component is a pattern (*, ?, [...]) that the agent expands on the
	// CVM, in Path's directory (taken literally): each matching file is followed as a
	// stream of its own, Log its base name, optional. A glob that matches nothing is no
	// failure; without Python on the CVM it is skipped, with a notice.
	Glob bool
}

// StreamInfo names a stream for the sink and for messages.
type StreamInfo struct {
	CVM     string
	Address string
	Log     string
	Path    string
	// File is the file the lines of a Sink.Lines call came from: Path, or with Since a
	// rotated predecessor of it on the CVM (genesis.out.20261201-101500.xz).
	File string

	// During a Sink.Lines call: the identity ("dev:ino") of the file the lines came from and
	// the offset in it right after them, so a capture can resume exactly. EndOffset is -1
	// when the CVM runs the tail fallback, which knows no offsets.
	Ident     string
	EndOffset int64
}

// ResumePoint is where a file's earlier run stopped: its identity ("dev:ino") and the offset
// of the first byte not delivered.
type ResumePoint struct {
	Path   string
	Ident  string
	Offset int64
}

// Sink receives whole lines. Lines of one stream come in order from one goroutine; lines of
// different streams come concurrently (a SharedSink's: those of one CVM one after another).
// data holds one or more lines, each ending in '\n' (a last line without newline gets one at
// stream end). data is the sink's only during the call: the engine reads the next frames
// into it afterwards. Blocking is backpressure. An error stops the stream; the sink's owner
// decides what it means for the run.
type Sink interface {
	Lines(info *StreamInfo, data []byte, received time.Time) error
}

// A SharedSink's Lines blocks only for what holds up every stream alike: one output that
// is not read fast enough. When SharedBackpressure says so, the engine hands a CVM's lines
// over from the goroutine that reads that CVM's frames, one stream after another, instead
// of from a goroutine of each stream: no hand-off per frame, and the credits of all the
// frames of one read go out in one write. A sink that may block one stream alone (waiting
// for a lock, writing a file of its own) must say false: its streams then keep a goroutine
// each, so that one of them cannot hold up the others.
type SharedSink interface {
	Sink
	SharedBackpressure() bool
}

func sharesBackpressure(s Sink) bool {
	ss, ok := s.(SharedSink)
	return ok && ss.SharedBackpressure()
}

// EventKind classifies an Event.
type EventKind int

const (
	EventNotice      EventKind = iota // something the user should know; the stream goes on
	EventFailed                       // the stream or CVM failed for good
	EventConnLost                     // a CVM's connection dropped; retrying
	EventReconnected                  // a CVM is back
	EventRotated                      // a file was rotated (or its symlink switched); following the new one
	EventSkipped                      // an optional file is not on the CVM (without follow: the stream ended)
	EventWaiting                      // an optional file is not on the CVM yet (follow): waited for quietly
	EventUnreachable                  // a CVM could not be reached at start (follow); retrying as after a drop
	EventReached                      // a CVM found unreachable at start is reached at last
)

// Event is a status report for stderr.
type Event struct {
	Kind EventKind
	CVM  string
	Log  string // "" for CVM-wide events
	Path string
	Err  error
}

// Config is everything the engine needs; it never sees a flag or the environment.
type Config struct {
	Targets []Target
	Files   []File
	Lines   int  // backlog lines per file; 0 = only new lines
	Follow  bool // false: print the backlog and return
	// Window is how many bytes a stream may have in flight before the agent waits for
	// credit. Default: WindowBudget shared by all streams, each between 16 and 256 KiB;
	// at most 1 MiB.
	Window int
	// Poll is how often the agent looks for new data, rotation and truncation (default 20ms).
	Poll time.Duration
	// Retryable tells whether a failed dial is worth retrying after a connection was lost
	// (a network error is; a refused key or changed host key is not). Default: retry.
	Retryable func(error) bool
	// RetryUnreached, with Follow, retries a CVM that cannot be reached at start (refused,
	// timed out, no route) as a dropped connection is, instead of failing it for good;
	// what Retryable says is not worth retrying still fails it.
	RetryUnreached bool
	// Backoff bounds between reconnect attempts (defaults 1s and 30s).
	BackoffMin, BackoffMax time.Duration
	// StopGrace is how long a stopping stream waits for the CVM to confirm the channel
	// closed before the connection is torn down (default 500ms).
	StopGrace time.Duration
	Now       func() time.Time
	Events    func(Event)
	// Resume, when set, gives a stream's starting point: the file identity and the offset
	// of the first byte not yet delivered (e.g. the end of a capture file from a previous
	// run). ok=false starts with the usual backlog.
	Resume func(info StreamInfo) (ident string, offset int64, ok bool)
	// GlobResume, when set, gives for a glob (info is the glob's) the starting points of
	// matches an earlier run followed (e.g. the captures of a previous run): a match the
	// agent finds among them resumes there instead of starting with the backlog. Points
	// that are not a match of the glob, a file identity and an offset are ignored.
	GlobResume func(info StreamInfo) []ResumePoint
	// Since, when set, starts each file's backlog at its first line stamped at or after
	// it instead of Lines, across the file's rotation history on the CVM: its rotated
	// predecessors in the same directory, compressed ones included, oldest first, then the
	// file itself. The agent binary-searches plain files by offset and decompresses and
	// skips the others on the CVM, so no file is copied. SyslogZone is the zone of
	// syslog-style times (nil: UTC). On a CVM without Python (tail fallback) Since is not
	// available and Lines applies.
	Since      time.Time
	SyslogZone *time.Location
	// Until, when set, ends each stream at its first line stamped at or after it; following,
	// a stream also ends when the CVM's clock passes it.
	Until time.Time
}

func (c *Config) defaults() {
	if c.Window <= 0 {
		c.Window = defaultWindow(len(c.Targets) * len(c.Files))
	}
	c.Window = min(max(c.Window, 4096), maxWindow)
	if c.Poll <= 0 {
		c.Poll = 20 * time.Millisecond
	}
	if c.Retryable == nil {
		c.Retryable = func(error) bool { return true }
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 500 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Events == nil {
		c.Events = func(Event) {}
	}
}

// WindowBudget is what all streams together may have in flight by default: what a stalled
// reader makes cvmtail hold, however many CVMs and files it follows.
const WindowBudget = 4 << 20

// defaultWindow shares WindowBudget among n streams: a few streams get big windows (bulk
// backlogs at the speed of ssh), hundreds get small ones (bounded memory).
func defaultWindow(n int) int {
	return min(max(WindowBudget/max(n, 1), 16<<10), 256<<10)
}

// Result says how the streams ended.
type Result struct {
	Streams   int // streams started
	Failed    int // streams that failed for good
	Delivered int // streams that opened their file at least once
	Skipped   int // optional streams whose file the CVM does not have (without follow)
}

// ErrSinkClosed may be returned by a Sink to stop every stream quietly (stdout closed).
var ErrSinkClosed = errors.New("output closed")

// Run follows cfg.Files on every cfg.Targets CVM until ctx is done, or, without Follow,
// until every backlog is delivered. It returns when every channel and connection is closed.
func Run(ctx context.Context, cfg Config, dialer Dialer, sink Sink) (Result, error) {
	e, err := Start(ctx, cfg, dialer, sink)
	if err != nil {
		return Result{}, err
	}
	return e.Wait()
}

// Engine is a run whose CVMs may change while it follows (a cluster gaining, losing or
// renumbering CVMs): Start it, Add, Remove or Update targets, then Wait. A target is known
// by its Name.
type Engine struct {
	ctx    context.Context
	cancel context.CancelFunc
	cfg    *Config
	dialer Dialer
	sink   Sink
	run    *runState
	budget *lineBudget

	mu      sync.Mutex
	all     []*cvmRun          // every CVM of the run, for the Result
	byName  map[string]*cvmRun // the CVMs followed now
	running int
	over    bool          // no CVM runs any more: the run has ended
	ended   chan struct{} // closed once over
}

// ErrEnded is returned by Add and Update once every CVM of the run has stopped.
var ErrEnded = errors.New("the run has ended")

// Start starts following cfg.Files on every cfg.Targets CVM, as Run does, and returns at once.
func Start(ctx context.Context, cfg Config, dialer Dialer, sink Sink) (*Engine, error) {
	cfg.defaults()
	if len(cfg.Targets) == 0 || len(cfg.Files) == 0 {
		return nil, errors.New("nothing to follow")
	}
	globs := 0
	for _, f := range cfg.Files {
		if f.Glob {
			globs++
		}
	}
	if len(cfg.Files)+globs*MaxGlobMatches > maxStreamID {
		return nil, fmt.Errorf("%d files and %d globs: at most %d streams", len(cfg.Files), globs, maxStreamID)
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &Engine{ctx: ctx, cancel: cancel, cfg: &cfg, dialer: dialer, sink: sink,
		budget: newLineBudget(LineBudget), byName: map[string]*cvmRun{}, ended: make(chan struct{})}
	e.run = &runState{cancel: cancel, inline: sharesBackpressure(sink)}
	var cvms []*cvmRun
	for _, t := range cfg.Targets {
		if e.byName[t.Name] != nil {
			cancel()
			return nil, fmt.Errorf("two targets named %s", t.Name)
		}
		c := e.newCVM(t)
		e.byName[t.Name] = c
		cvms = append(cvms, c)
	}
	e.mu.Lock()
	for _, c := range cvms {
		e.launch(c)
	}
	e.mu.Unlock()
	return e, nil
}

// newCVM prepares the streams of one CVM, each at its resume point when cfg.Resume has one.
func (e *Engine) newCVM(t Target) *cvmRun {
	cfg := e.cfg
	c := &cvmRun{run: e.run, cfg: cfg, target: t, pool: newPool(t, e.dialer, cfg), done: make(chan struct{})}
	c.ctx, c.stop = context.WithCancel(e.ctx)
	nextRange := len(cfg.Files) + 1 // the ids of the globs' matches follow the files'
	for i, f := range cfg.Files {
		s := &stream{cfg: cfg, cvm: c, id: i + 1, file: f, sink: e.sink,
			info: StreamInfo{CVM: t.Name, Address: t.Address, Log: f.Name, Path: f.Path, File: f.Path}}
		s.lb.budget = e.budget
		if f.Glob {
			s.globFirst, s.globNext, s.globLast = nextRange, nextRange, nextRange+MaxGlobMatches-1
			s.globPaths = map[string]bool{}
			nextRange += MaxGlobMatches
			if cfg.GlobResume != nil {
				s.globResume = validGlobResume(f.Path, cfg.GlobResume(s.info))
			}
			c.streams = append(c.streams, s)
			continue
		}
		if cfg.Resume != nil {
			ident, off, ok := cfg.Resume(s.info)
			switch {
			case !ok || ident == "":
			case !validIdent(ident) || off < 0 || off > maxNumber:
				// It goes into a command on the CVM: only what a CVM could have sent.
				cfg.Events(Event{Kind: EventNotice, CVM: t.Name, Log: f.Name, Path: f.Path,
					Err: fmt.Errorf("resume point %s at %d is not a file identity and offset: ignored", quote([]byte(ident)), off)})
			default:
				s.ident, s.deliveredOffset = ident, off
			}
		}
		c.streams = append(c.streams, s)
	}
	return c
}

// validGlobResume keeps the points that name a match of glob by a path a request may carry,
// with a file identity and an offset that could have come from a CVM, at most
// MaxGlobMatches of them.
func validGlobResume(glob string, points []ResumePoint) []ResumePoint {
	var out []ResumePoint
	for _, p := range points {
		if len(out) == MaxGlobMatches {
			break
		}
		if GlobMatches(glob, p.Path) && len(p.Path) <= maxHeader && !strings.ContainsAny(p.Path, "\x00\n") &&
			validIdent(p.Ident) && p.Offset >= 0 && p.Offset <= maxNumber {
			out = append(out, p)
		}
	}
	return out
}

// launch runs c, with e.mu held. Once c is stopped (the run, or Remove), it gets StopGrace
// to confirm its channels closed; then its connections are closed under the streams, so
// that an unresponsive CVM cannot hold up Ctrl-C (a channel read only returns once the peer
// confirms the close).
func (e *Engine) launch(c *cvmRun) {
	e.all = append(e.all, c)
	e.running++
	go func() {
		c.runAll(c.ctx)
		c.pool.closeAll()
		close(c.done)
		e.mu.Lock()
		e.running--
		if e.running == 0 && !e.over {
			e.over = true
			close(e.ended)
		}
		e.mu.Unlock()
	}()
	go func() {
		select {
		case <-c.done:
			return
		case <-c.ctx.Done():
		}
		t := time.NewTimer(e.cfg.StopGrace)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.pool.closeAll()
		}
	}()
}

// Add follows the files on one more CVM, from the usual backlog (or its resume point).
func (e *Engine) Add(t Target) error {
	e.mu.Lock()
	over, known := e.over, e.byName[t.Name] != nil
	e.mu.Unlock()
	switch {
	case over:
		return ErrEnded
	case known:
		return fmt.Errorf("%s is followed already", t.Name)
	}
	c := e.newCVM(t) // may wait for a capture's lock: not under e.mu
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.over:
		c.stop()
		return ErrEnded
	case e.byName[t.Name] != nil:
		c.stop()
		return fmt.Errorf("%s is followed already", t.Name)
	}
	e.byName[t.Name] = c
	e.launch(c)
	return nil
}

// Remove stops following a CVM (its channels are closed, its streams end without failing).
// It returns false when no CVM of that name is followed.
func (e *Engine) Remove(name string) bool {
	e.mu.Lock()
	c := e.byName[name]
	delete(e.byName, name)
	e.mu.Unlock()
	if c == nil {
		return false
	}
	c.stop()
	return true
}

// Update reaches a followed CVM at a new address: its connection is dropped and made again
// there, each file resuming after its last delivered byte, as after a lost connection.
func (e *Engine) Update(t Target) error {
	e.mu.Lock()
	c := e.byName[t.Name]
	over := e.over
	e.mu.Unlock()
	switch {
	case over:
		return ErrEnded
	case c == nil:
		return fmt.Errorf("%s is not followed", t.Name)
	}
	select {
	case <-c.done:
		// Stopped for good at its old address (e.g. refused there): start it afresh.
		e.mu.Lock()
		if e.byName[t.Name] == c {
			delete(e.byName, t.Name)
		}
		e.mu.Unlock()
		return e.Add(t)
	default:
	}
	c.pool.retarget(t.Address)
	return nil
}

// Wait waits until every CVM has stopped: ctx done, every stream ended, or the sink
// refused. It returns when every channel and connection is closed.
func (e *Engine) Wait() (Result, error) {
	<-e.ended
	e.cancel()
	var res Result
	e.mu.Lock()
	cvms := append([]*cvmRun(nil), e.all...)
	e.mu.Unlock()
	for _, c := range cvms {
		c.pool.closeAll()
		c.mu.Lock()
		for _, s := range c.streams {
			if s.file.Glob && !s.failed && !s.skipped {
				continue // its matches are the streams; a glob that failed or matched nothing counts
			}
			res.Streams++
			if s.failed {
				res.Failed++
			}
			if s.opened {
				res.Delivered++
			}
			if s.skipped {
				res.Skipped++
			}
		}
		c.mu.Unlock()
	}
	e.run.mu.Lock()
	sinkErr := e.run.sinkErr
	e.run.mu.Unlock()
	if sinkErr != nil {
		return res, sinkErr
	}
	if res.Failed > 0 && res.Failed == res.Streams {
		return res, fmt.Errorf("every stream failed")
	}
	return res, nil
}
