package tailer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cvmRun follows every file on one CVM: one agent process for the files read as the SSH
// user and, only when some are asked, a second one under sudo -n, each on a channel of the
// CVM's connection. A CVM without Python follows each file with tail -F on its own channel.
//
// Whether and how a failure is told to the user is decided here, in fail and failCVM, and
// nowhere else: each stream and each CVM is reported once, never under a lock.
type cvmRun struct {
	run    *runState
	cfg    *Config
	target Target // its Name; the address it is reached at is the pool's
	pool   *pool
	ctx    context.Context
	stop   context.CancelFunc // stops this CVM alone (Engine.Remove) or with the run
	done   chan struct{}      // closed once every stream has stopped

	streams []*stream

	mu        sync.Mutex
	cvmFailed bool
	downSaid  bool // EventUnreachable was sent
	saidNoPy  bool // that --since and --until need Python was said (once per CVM)
}

// runState is what the CVMs of one Run share.
type runState struct {
	cancel  context.CancelFunc
	inline  bool // the sink is a SharedSink: each CVM's reader hands its lines over itself
	mu      sync.Mutex
	sinkErr error
}

// sinkFailed stops everything: the output is gone.
func (r *runState) sinkFailed(err error) {
	r.mu.Lock()
	if r.sinkErr == nil {
		r.sinkErr = err
	}
	r.mu.Unlock()
	r.cancel()
}

// fail ends streams for good with err: one event, naming the file when there is one stream,
// else the CVM. Streams already ended are not reported again.
func (c *cvmRun) fail(streams []*stream, err error) {
	c.mu.Lock()
	n := 0
	for _, s := range streams {
		if !s.failed && !s.done {
			s.failed = true
			n++
		}
	}
	c.mu.Unlock()
	if n == 0 {
		return
	}
	if len(streams) == 1 {
		s := streams[0]
		c.cfg.Events(Event{Kind: EventFailed, CVM: c.target.Name, Log: s.info.Log, Path: s.info.Path, Err: err})
		return
	}
	c.cfg.Events(Event{Kind: EventFailed, CVM: c.target.Name, Err: err})
}

// failCVM ends every stream of the CVM (unreachable, refused, no channel): one event.
func (c *cvmRun) failCVM(err error) {
	c.mu.Lock()
	first := !c.cvmFailed
	c.cvmFailed = true
	for _, s := range c.streams {
		if !s.done {
			s.failed = true
		}
	}
	c.mu.Unlock()
	if first {
		c.cfg.Events(Event{Kind: EventFailed, CVM: c.target.Name, Err: err})
	}
}

func (c *cvmRun) finish(s *stream) {
	c.mu.Lock()
	if !s.failed {
		s.done = true
	}
	c.mu.Unlock()
}

// live are the streams of ss that have not ended.
func (c *cvmRun) live(ss []*stream) []*stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*stream
	for _, s := range ss {
		if !s.failed && !s.done {
			out = append(out, s)
		}
	}
	return out
}

func (c *cvmRun) runAll(ctx context.Context) {
	var plain, sudo []*stream
	for _, s := range c.streams {
		if s.file.Sudo {
			sudo = append(sudo, s)
		} else {
			plain = append(plain, s)
		}
	}
	var wg sync.WaitGroup
	for _, group := range [][]*stream{plain, sudo} {
		if len(group) == 0 {
			continue
		}
		g := &agentGroup{cvm: c, sudo: group[0].file.Sudo, streams: group}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.run(ctx)
		}()
	}
	wg.Wait()
	c.mu.Lock()
	all := append([]*stream(nil), c.streams...) // with the globs' matches
	c.mu.Unlock()
	for _, s := range all {
		s.endCut()
		s.lb.reset()
	}
}

// sessionNext is what a caller of cvmRun.session does next.
type sessionNext int

const (
	sessionOpened sessionNext = iota
	sessionRetry              // reconnecting: the pool waits out the backoff
	sessionGiveUp             // stopped, or the CVM failed for good (reported)
)

// session opens a channel, telling the user when it brought the CVM back (or reached it
// at last) and when it is found down at start, and failing the CVM when it cannot be
// reached for good.
func (c *cvmRun) session(ctx context.Context) (Session, *pooledConn, sessionNext) {
	sess, pc, back, err := c.pool.session(ctx)
	switch back {
	case reconnected:
		c.cfg.Events(Event{Kind: EventReconnected, CVM: c.target.Name})
	case reached:
		c.cfg.Events(Event{Kind: EventReached, CVM: c.target.Name})
	}
	var re *retryError
	switch {
	case err == nil:
		return sess, pc, sessionOpened
	case ctx.Err() != nil:
		return nil, nil, sessionGiveUp
	case errors.As(err, &re):
		if re.unreached {
			c.mu.Lock()
			first := !c.downSaid
			c.downSaid = true
			c.mu.Unlock()
			if first {
				c.cfg.Events(Event{Kind: EventUnreachable, CVM: c.target.Name, Err: re.err})
			}
		}
		return nil, nil, sessionRetry
	}
	c.failCVM(err)
	return nil, nil, sessionGiveUp
}

// exitFailure is the error to fail with when a channel whose output ended had a command
// that exited on its own with a status (werr); nil when it did not: a lost connection.
func exitFailure(werr error, tail *errTail, path string, sudo bool) error {
	var exitErr interface{ ExitStatus() int }
	if !errors.As(werr, &exitErr) {
		return nil
	}
	msg := tail.String()
	if msg == "" {
		msg = fmt.Sprintf("remote command exited with status %d", exitErr.ExitStatus())
	}
	return remoteError(msg, path, sudo)
}

// lost records a dropped connection; the first channel to notice tells the user.
func (c *cvmRun) lost(pc *pooledConn, err error) {
	if c.pool.lost(pc) {
		c.cfg.Events(Event{Kind: EventConnLost, CVM: c.target.Name, Err: err})
	}
}

// agentGroup is the streams of one CVM that one agent process follows.
type agentGroup struct {
	cvm     *cvmRun
	sudo    bool
	streams []*stream
}

// sessionEnd is how one channel ended.
type sessionEnd int

const (
	endDone     sessionEnd = iota // every stream finished (no-follow)
	endStopped                    // ctx done
	endLost                       // the connection dropped
	endFailed                     // the command or the agent failed: every stream of it fails
	endSink                       // the sink refused
	endRestart                    // a stream broke the framing and failed; the others go on in a new session
	endNoPython                   // the CVM has no Python
)

func (g *agentGroup) run(ctx context.Context) {
	c := g.cvm
	for {
		live := c.live(g.streams)
		if len(live) == 0 || ctx.Err() != nil {
			return
		}
		if c.pool.hasNoPython() {
			g.fallback(ctx, live)
			return
		}
		sess, pc, next := c.session(ctx)
		if next != sessionOpened {
			if next == sessionRetry {
				continue
			}
			return
		}
		end, err := g.runSession(ctx, sess, live)
		c.pool.release(pc)
		switch end {
		case endDone, endStopped, endSink:
			return
		case endRestart:
			continue
		case endNoPython:
			c.pool.setNoPython()
		case endFailed:
			c.fail(c.live(live), err)
			return
		case endLost:
			if !c.cfg.Follow {
				c.fail(c.live(live), fmt.Errorf("connection lost: %w", err))
				return
			}
			c.lost(pc, err)
		}
	}
}

// request is what the agent is asked for the streams that are still live.
func (g *agentGroup) request(live []*stream) agentRequest {
	cfg := g.cvm.cfg
	r := agentRequest{Follow: cfg.Follow, PollMillis: int(cfg.Poll / time.Millisecond), Sudo: g.sudo,
		History: !cfg.Since.IsZero(), Until: cfg.Until}
	if !cfg.Since.IsZero() || !cfg.Until.IsZero() {
		zone := cfg.SyslogZone
		if zone == nil {
			zone = time.UTC
		}
		at := cfg.Since
		if at.IsZero() {
			at = cfg.Until
		}
		_, r.ZoneOffset = at.In(zone).Zone()
	}
	for _, s := range live {
		sr := streamRequest{ID: s.id, Path: s.file.Path, Window: cfg.Window, Lines: cfg.Lines, Since: cfg.Since}
		if s.ident != "" {
			sr.ResumeIdent, sr.ResumeOffset, sr.Lines = s.ident, s.deliveredOffset, -1
		}
		if s.file.Glob {
			sr.Glob = g.globRequest(s)
			if s.globAsked {
				// Expanded before: what matches now and was not announced appeared since.
				sr.Lines, sr.Since = -1, time.Time{}
			}
		}
		r.Streams = append(r.Streams, sr)
	}
	return r
}

// globRequest is the id range of glob s, and the matches of earlier sessions that ended
// (the live ones are in the request as streams of their own).
func (g *agentGroup) globRequest(s *stream) *globRequest {
	gr := &globRequest{Lo: s.globFirst, Next: s.globNext, Hi: s.globLast}
	live := g.cvm.live(s.children)
	for _, ch := range s.children {
		if !slices.Contains(live, ch) {
			gr.Done = append(gr.Done, ch.file.Path)
		}
	}
	for _, p := range s.globResume {
		if !s.globPaths[p.Path] {
			gr.Resume = append(gr.Resume, p)
		}
	}
	return gr
}

// addChild makes the stream of a match the agent announced for glob parent: Log is the
// file's base name, as for a path; optional, as any file a glob selected.
func (g *agentGroup) addChild(parent *stream, id int, p string) *stream {
	c := g.cvm
	f := File{Name: path.Base(p), Path: p, Sudo: parent.file.Sudo, Optional: true}
	s := &stream{cfg: c.cfg, cvm: c, id: id, file: f, sink: parent.sink,
		info: StreamInfo{CVM: c.target.Name, Address: c.pool.address(), Log: f.Name, Path: p, File: p}}
	s.lb.budget = parent.lb.budget
	parent.children = append(parent.children, s)
	parent.globNext = id + 1
	c.mu.Lock()
	c.streams = append(c.streams, s)
	c.mu.Unlock()
	g.streams = append(g.streams, s)
	return s
}

// errTail keeps the last few lines a remote command wrote on stderr, each bounded, for the
// message when it fails: a CVM cannot make cvmtail hold more than errTailLines×errTailLine.
type errTail struct {
	mu    sync.Mutex
	lines []string
}

const (
	errTailLines = 8
	errTailLine  = 512
)

func (e *errTail) add(line string) {
	if len(line) > errTailLine {
		line = line[:errTailLine] + "..."
	}
	e.mu.Lock()
	if len(e.lines) == errTailLines {
		copy(e.lines, e.lines[1:])
		e.lines = e.lines[:errTailLines-1]
	}
	e.lines = append(e.lines, line)
	e.mu.Unlock()
}

func (e *errTail) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.lines, "; ")
}

// readStderr feeds a channel's stderr to tail, line by line (each cut at errTailLine), and
// to notice when set; it returns at EOF.
func readStderr(r io.Reader, tail *errTail, notice func(string)) {
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadSlice('\n')
		l := strings.TrimSpace(string(line))      // before the buffer is read again
		for errors.Is(err, bufio.ErrBufferFull) { // the rest of an overlong line
			_, err = br.ReadSlice('\n')
		}
		if l != "" {
			tail.add(l)
			if notice != nil {
				notice(l)
			}
		}
		if err != nil {
			return
		}
	}
}

// channel is one running remote command: its pipes and how to stop it.
type channel struct {
	sess   Session
	stdin  io.WriteCloser
	stdout io.Reader
	stderr io.Reader
	stop   func()
	done   chan struct{}
}

// startChannel starts command on sess; the channel stops when ctx is done or stop is
// called: EOF on stdin tells the agent (or the fallback's watchdog) to exit at once, and
// closing the channel makes our reads return.
func startChannel(ctx context.Context, sess Session, command string) (*channel, error) {
	ch := &channel{sess: sess, done: make(chan struct{})}
	var err error
	if ch.stdin, err = sess.StdinPipe(); err == nil {
		if ch.stdout, err = sess.StdoutPipe(); err == nil {
			if ch.stderr, err = sess.StderrPipe(); err == nil {
				err = sess.Start(command)
			}
		}
	}
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	stopped := make(chan struct{})
	var once sync.Once
	ch.stop = func() {
		once.Do(func() {
			close(stopped)
			_ = ch.stdin.Close()
			_ = sess.Close()
		})
	}
	go func() {
		defer close(ch.done)
		select {
		case <-ctx.Done():
			ch.stop()
		case <-stopped:
		}
	}()
	return ch, nil
}

// finish stops the channel and waits a moment for its exit status, so that the agent sees
// EOF before the connection may be dropped; never long enough to hold up Ctrl-C.
func (ch *channel) finish(grace time.Duration, stderrDone <-chan struct{}) error {
	ch.stop()
	<-ch.done
	waitErr := make(chan error, 1)
	go func() { waitErr <- ch.sess.Wait() }()
	var werr error
	select {
	case werr = <-waitErr:
	case <-time.After(grace):
		werr = errors.New("no exit status")
	}
	select {
	case <-stderrDone:
	case <-time.After(50 * time.Millisecond):
	}
	return werr
}

func (g *agentGroup) runSession(ctx context.Context, sess Session, live []*stream) (sessionEnd, error) {
	cfg := g.cvm.cfg
	ch, err := startChannel(ctx, sess, g.request(live).command())
	if err != nil {
		return endLost, err
	}
	var tail errTail
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		readStderr(ch.stderr, &tail, nil) // the agent's notices come as W frames
	}()

	var end sessionEnd
	var endErr error
	var wait func()
	br := bufio.NewReaderSize(ch.stdout, 32<<10)
	version, _, err := readGreeting(br)
	var ape *agentProtocolError
	switch {
	case errors.As(err, &ape):
		end, endErr = endFailed, err
	case err != nil:
		end, endErr = endLost, err
	case version == noPythonVersion:
		end = endNoPython
	case version != protocolVersion:
		end, endErr = endFailed, fmt.Errorf("the CVM's agent speaks protocol %s, this cvmtail %s", strconv.Quote(version), protocolVersion)
	default:
		end, wait, endErr = g.demux(br, ch, live)
	}
	werr := ch.finish(cfg.StopGrace, stderrDone)
	if wait != nil {
		wait()
	}
	if ctx.Err() != nil && end != endSink {
		return endStopped, nil
	}
	if g.cvm.run.hasSinkErr() {
		return endSink, nil
	}
	if end == endLost {
		path := ""
		if len(live) == 1 {
			path = live[0].file.Path
		}
		if err := exitFailure(werr, &tail, path, g.sudo); err != nil {
			return endFailed, err
		}
		if endErr == nil {
			endErr = errors.New("channel closed")
		}
	}
	return end, endErr
}

func (r *runState) hasSinkErr() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sinkErr != nil
}

// demux reads the agent's frames and hands each stream's over: to the stream's deliverer,
// which gives the agent credit as the sink takes the lines, so that a stream whose lines
// wait holds at most its window and the others go on; or, when the sink's backpressure is
// shared by every stream (runState.inline), itself, giving the credits of all the frames of
// one read in one write. It returns when the output ends or breaks the protocol; wait then
// waits for the deliverers to hand over what arrived.
func (g *agentGroup) demux(br *bufio.Reader, ch *channel, live []*stream) (end sessionEnd, wait func(), endErr error) {
	cfg := g.cvm.cfg
	inline := g.cvm.run.inline
	credits := newCreditWriter(ch.stdin, lowWater(cfg.Window))
	credits.batched = inline
	wires := make(map[int]*wireStream, len(live))
	byID := make(map[int]*sessionStream, len(live))
	var deliverers sync.WaitGroup
	begin := func(s *stream, wire *wireStream) {
		s.beginSession()
		s.framed = true
		ss := &sessionStream{s: s, wire: wire, credits: credits, box: newInbox(), window: cfg.Window}
		wires[s.id], byID[s.id] = ss.wire, ss
		if inline {
			return
		}
		deliverers.Add(1)
		go func() {
			defer deliverers.Done()
			ss.deliver()
		}()
	}
	hand := func(ss *sessionStream, it item) {
		if inline {
			ss.apply(it)
		} else {
			ss.box.push(it)
		}
	}
	for _, s := range live {
		wire := &wireStream{}
		wire.credit.Store(int64(cfg.Window))
		if s.file.Glob {
			dir, pattern := splitGlob(s.file.Path)
			wire.glob = &wireGlob{dir: dir, pattern: pattern, next: s.globNext, last: s.globLast,
				window: cfg.Window, paths: s.globPaths}
			s.globAsked = true
		}
		begin(s, wire)
	}
	wait = func() {
		deliverers.Wait()
		credits.stop()
	}
	defer func() {
		for _, ss := range byID {
			ss.box.close()
		}
	}()

	fr := newFrameReader(br, wires)
	// Inline, a D payload is read into scratch, which the sink has done with when it
	// returns: the same few pages for every frame of every stream, rather than a ring of the
	// window's size for each (224 streams: up to 56 MiB, and a page fault for every 4 KiB
	// that arrives until the rings wrap).
	var scratch []byte
	for {
		if inline && br.Buffered() == 0 {
			// What this read brought is handed over: before waiting for more, the credits.
			credits.due()
		}
		f, err := fr.next()
		if err != nil {
			var spe *streamProtocolError
			var ape *agentProtocolError
			switch {
			case errors.As(err, &spe):
				ss := byID[spe.id]
				ss.closed.Store(true)
				hand(ss, item{fail: fmt.Errorf("%w; the stream is closed", err)})
				if spe.framingLost {
					ch.stop()
					return endRestart, wait, err
				}
				credits.close(spe.id)
				continue
			case errors.As(err, &ape):
				ch.stop()
				return endFailed, wait, err
			}
			return g.ended(byID, err), wait, err
		}
		if f.kind == frameNewStream {
			// Checked by the reader, which holds its wire already: a stream from now on.
			begin(g.addChild(byID[f.parent].s, f.id, f.path), wires[f.id])
			continue
		}
		ss := byID[f.id]
		if f.kind == frameEnd {
			ss.sawEnd.Store(true)
		}
		if f.kind == frameData {
			if ss.closed.Load() {
				if err := fr.discard(f.n); err != nil {
					return g.ended(byID, err), wait, err
				}
				continue
			}
			var a, b []byte
			var err error
			if inline {
				// Handed over before the next frame is read: one buffer for every stream.
				if cap(scratch) < f.n {
					scratch = make([]byte, f.n)
				}
				a, err = scratch[:f.n], fr.readPayload(scratch[:f.n])
			} else {
				a, b, err = ss.store(fr, f.n)
			}
			if err != nil {
				return g.ended(byID, err), wait, err
			}
			hand(ss, item{f: f, data: a, data2: b})
			continue
		}
		if !ss.closed.Load() {
			hand(ss, item{f: f})
		}
	}
}

// ended tells how a session whose output ended went: done when every stream had finished
// (the agent exits after the last Z), lost otherwise.
func (g *agentGroup) ended(byID map[int]*sessionStream, _ error) sessionEnd {
	for _, ss := range byID {
		if !ss.sawEnd.Load() && !ss.closed.Load() {
			return endLost
		}
	}
	return endDone
}

// sessionStream is one stream within one agent session.
type sessionStream struct {
	s       *stream
	wire    *wireStream
	credits *creditWriter
	box     *inbox
	closed  atomic.Bool // failed or closed: the reader drops its frames
	sawEnd  atomic.Bool // a Z frame arrived
	stopped bool        // the deliverer hands nothing more over (failed, or the sink refused)

	// ring holds the payloads on their way to the deliverer (not inline: a stream that may
	// block alone has a goroutine of its own): the reader writes at wpos, the deliverer reads
	// in the same order. The agent never has more than the window in flight, so a ring of
	// the window's size never overflows, and no frame allocates.
	window int
	ring   []byte
	wpos   int
}

// store reads a D payload of n bytes (within the stream's credit) into the ring; b is the
// part that wrapped around, if any.
func (ss *sessionStream) store(fr *frameReader, n int) (a, b []byte, err error) {
	if ss.ring == nil {
		ss.ring = make([]byte, ss.window) // only for streams that send something
	}
	end := ss.wpos + n
	if end <= len(ss.ring) {
		a = ss.ring[ss.wpos:end]
	} else {
		a, b = ss.ring[ss.wpos:], ss.ring[:end-len(ss.ring)]
	}
	if err := fr.readPayload(a); err != nil {
		return nil, nil, err
	}
	if b != nil {
		if err := fr.readPayload(b); err != nil {
			return nil, nil, err
		}
	}
	ss.wpos = end % len(ss.ring)
	return a, b, nil
}

// item is a frame on its way from the reader to a stream's deliverer.
type item struct {
	f           frame
	data, data2 []byte // D's payload, in the ring (data2: what wrapped around)
	fail        error  // the reader found a protocol error: the stream fails with it
}

// deliver applies the stream's frames in order until the session's output has ended.
func (ss *sessionStream) deliver() {
	for {
		items, ok := ss.box.take()
		if !ok {
			return
		}
		for i, it := range items {
			ss.apply(it)
			items[i] = item{}
		}
		ss.box.recycle(items)
	}
}

// apply hands one frame over.
func (ss *sessionStream) apply(it item) {
	s := ss.s
	c := s.cvm
	if ss.stopped {
		return
	}
	switch {
	case it.fail != nil:
		ss.stopped = true
		c.fail([]*stream{s}, it.fail)
	case it.f.kind == frameData:
		err := s.data(it.data)
		if err == nil && it.data2 != nil {
			err = s.data(it.data2)
		}
		n := len(it.data) + len(it.data2)
		if err != nil {
			ss.stopped = true
			c.run.sinkFailed(err)
			return
		}
		ss.credits.credit(s.id, n, ss.wire.credit.Add(int64(n)))
	default:
		finished, err := s.control(it.f)
		var ff *fileFailure
		switch {
		case errors.As(err, &ff):
			ss.stopped = true
			ss.closed.Store(true)
			ss.credits.close(s.id)
			c.fail([]*stream{s}, ff.err)
		case err != nil:
			ss.stopped = true
			c.run.sinkFailed(err)
		case finished:
			ss.stopped = true
			c.finish(s)
		}
	}
}

// inbox carries one stream's frames from the reader to its deliverer. It is bounded by
// the protocol: D frames never exceed the stream's credit, and the rest are few.
type inbox struct {
	mu     sync.Mutex
	items  []item
	spare  []item
	closed bool
	wake   chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (b *inbox) push(it item) {
	b.mu.Lock()
	b.items = append(b.items, it)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take waits for items; false once the inbox is closed and empty.
func (b *inbox) take() ([]item, bool) {
	for {
		b.mu.Lock()
		if len(b.items) > 0 {
			out := b.items
			b.items, b.spare = b.spare[:0], nil
			b.mu.Unlock()
			return out, true
		}
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return nil, false
		}
		<-b.wake
	}
}

func (b *inbox) recycle(items []item) {
	b.mu.Lock()
	if b.spare == nil && cap(items) <= 1024 {
		b.spare = items[:0]
	}
	b.mu.Unlock()
}

// creditWriter sends the agent its credits ("<id> <bytes>\n") and closes ("<id> -\n"),
// gathering those of many streams into one write. Credit goes out only when a stream's
// agent runs low (below lowWater, as far as the client knows): every write costs an SSH
// packet each way and wakes both the agent and this process, and an agent with lowWater
// left sends on without it. A following stream that gets a line now and then thus costs no
// write for a long while; the credits of the others ride along when one runs low.
type creditWriter struct {
	w        io.Writer
	lowWater int64
	// batched: the reader hands the lines over itself and calls due when it has handed over
	// what one read brought; credit that runs low waits for that, to share its write.
	batched bool
	mu      sync.Mutex
	urgent  bool // batched: some credit runs low, to be sent at due
	pending map[int]int64
	order   []int
	closes  []int
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// lowWater is the credit the agent has left (as far as the client knows) below which new
// credit is sent at once: two chunks, so that it never waits for a whole one (it sends only
// when it has room for a chunk). A window of fewer chunks gets its credit at once.
func lowWater(window int) int64 { return int64(min(2*agentChunk(window), window)) }

// agentChunk is the agent's frame size for a window (agent.py: Stream.chunk): it sends a
// frame only when it has that much credit.
func agentChunk(window int) int { return min(window, max(4096, min(256<<10, window/4))) }

func newCreditWriter(w io.Writer, lowWater int64) *creditWriter {
	c := &creditWriter{w: w, lowWater: lowWater, pending: map[int]int64{}, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// credit gives the agent n more bytes of stream id; withCredit is the stream's credit as
// the client counts it, n included.
func (c *creditWriter) credit(id, n int, withCredit int64) {
	c.mu.Lock()
	if _, ok := c.pending[id]; !ok {
		c.order = append(c.order, id)
	}
	c.pending[id] += int64(n)
	// What the agent has until this write reaches it: the client's count less what waits.
	urgent := withCredit-c.pending[id] < c.lowWater
	if urgent && c.batched {
		c.urgent, urgent = true, false
	}
	c.mu.Unlock()
	if urgent {
		c.signal()
	}
}

// due sends the credit that runs low, batched.
func (c *creditWriter) due() {
	c.mu.Lock()
	urgent := c.urgent
	c.urgent = false
	c.mu.Unlock()
	if urgent {
		c.signal()
	}
}

func (c *creditWriter) close(id int) {
	c.mu.Lock()
	c.closes = append(c.closes, id)
	c.mu.Unlock()
	c.signal()
}

func (c *creditWriter) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *creditWriter) run() {
	defer close(c.done)
	var buf []byte
	broken := false
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		c.mu.Lock()
		buf = buf[:0]
		for _, id := range c.order {
			buf = strconv.AppendInt(buf, int64(id), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, c.pending[id], 10)
			buf = append(buf, '\n')
		}
		for _, id := range c.closes {
			buf = strconv.AppendInt(buf, int64(id), 10)
			buf = append(buf, " -\n"...)
		}
		clear(c.pending)
		c.order, c.closes = c.order[:0], c.closes[:0]
		c.mu.Unlock()
		// Once the agent has sent everything and exited, the channel may refuse credit while
		// buffered frames are still being read: no loss, the frames decide how it ends.
		if len(buf) > 0 && !broken {
			if _, err := c.w.Write(buf); err != nil {
				broken = true
			}
		}
	}
}

// stop ends the writer; the channel must be closed already, so that no write blocks.
func (c *creditWriter) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}
