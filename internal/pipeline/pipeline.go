// Package pipeline is what happens to each line between the engine and stdout. For every
// batch of whole lines a stream delivers, in this order:
//
//  1. the filter keeps or drops lines (grep, exclude, level) and reads their own times;
//  2. the capture, when there is one, appends the kept lines to the stream's file, exactly
//     as they are on the CVM, with the position reached;
//  3. the renderer formats them (text, json, raw, a template; colour, highlights);
//  4. the one writer of stdout takes them, through the merge window when there is one.
//
// A Pipeline is the engine's tailer.Sink. It takes plain values (compiled expressions,
// formats, booleans, a writer) and never sees a flag, the environment or a terminal.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cvmtail/cvmtail/internal/filter"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// Config is everything a Pipeline needs.
type Config struct {
	// Out is where rendered lines go (stdout), through one writer.
	Out io.Writer
	// Render decides how lines look. With Format output.None nothing is written to Out.
	Render output.Options
	// Filter keeps and drops lines and reads their own times (needed by Render.LogTime, a
	// template and MergeWindow). A Filter with nothing to do costs nothing.
	Filter filter.Config
	// MergeWindow, when positive, holds lines up to that long and releases them in the order
	// of their own times across streams.
	MergeWindow time.Duration
	// CaptureDir, when set, also appends each stream's kept lines to its own file under
	// CaptureDir (see output.Capture), and records beside it how far into the remote file
	// the capture got, for Resume.
	CaptureDir string
	// CaptureByPath tells the logs the user gave as a path (captured under paths/), by log
	// name and path; nil: none.
	CaptureByPath func(log, path string) bool
	// LockWait is how long a stream's capture waits for another run capturing it;
	// LockWaiting is told once when one starts to wait.
	LockWait    time.Duration
	LockWaiting func(capturePath, holder string)
	// Context bounds the waits for a capture's lock (a signal ends them).
	Context context.Context
}

// Pipeline renders each stream's lines and hands them to the one writer.
type Pipeline struct {
	render output.Options
	filter *filter.Config // nil: nothing to filter or parse
	w      *output.Writer
	merge  *output.Merger // nil without a merge window
	// started is when the run began: a line stamped before it is backlog (history, -n,
	// --since), which the merge window orders across CVMs however late it arrives.
	started time.Time
	capture *capturer // nil without a capture

	mu      sync.Mutex
	streams map[streamKey]*stream
}

// streamKey tells streams apart by what names them, not by the *StreamInfo the engine
// passes: the engine may hand the same stream's lines with another one.
type streamKey struct{ cvm, address, log, path string }

// stream is the state of one stream, touched only by the calls that deliver its lines,
// which the engine makes one at a time.
type stream struct {
	key      streamKey
	filter   *filter.Stream // nil when p.filter is
	renderer *output.Renderer
	capture  *output.CaptureStream // opened at the first kept lines
	catching bool                  // its lines are backlog (see Pipeline.started)
}

// New starts a pipeline writing to cfg.Out. It fails only when cfg.CaptureDir cannot be
// used (it cannot be created or written to).
func New(cfg Config) (*Pipeline, error) {
	p := &Pipeline{render: cfg.Render, streams: map[streamKey]*stream{}, started: time.Now()}
	if cfg.CaptureDir != "" {
		c, err := output.NewCapture(cfg.CaptureDir)
		if err != nil {
			return nil, err
		}
		c.Filtered = cfg.Filter.Drops()
		c.LockWait, c.Waiting = cfg.LockWait, cfg.LockWaiting
		ctx := cfg.Context
		if ctx == nil {
			ctx = context.Background()
		}
		p.capture = &capturer{c: c, ctx: ctx, byPath: cfg.CaptureByPath}
	}
	if cfg.Filter.Active() {
		f := cfg.Filter
		p.filter = &f
	}
	p.w = output.NewWriter(cfg.Out)
	if cfg.MergeWindow > 0 && cfg.Render.Format != output.None {
		p.merge = output.NewMerger(p.w, cfg.MergeWindow, nil)
	}
	return p, nil
}

// Resume is the engine's tailer.Config.Resume: where a stream's capture stopped last time.
// It is nil without a capture.
func (p *Pipeline) Resume() func(info tailer.StreamInfo) (ident string, offset int64, ok bool) {
	if p.capture == nil {
		return nil
	}
	return func(info tailer.StreamInfo) (string, int64, bool) {
		cs, err := p.capture.open(p.capture.ctx, info.CVM, info.Log, info.Path)
		if err != nil {
			return "", 0, false
		}
		return cs.ResumePoint()
	}
}

// GlobResume is the engine's tailer.Config.GlobResume: where the earlier captures of a
// glob's matches stopped, found among the capture files of the glob's directory. Each is
// opened (and locked) as its stream will be. It is nil without a capture.
func (p *Pipeline) GlobResume() func(glob tailer.StreamInfo) []tailer.ResumePoint {
	if p.capture == nil {
		return nil
	}
	return func(glob tailer.StreamInfo) []tailer.ResumePoint {
		dir := path.Dir(glob.Path)
		matches := func(base string) bool { return tailer.GlobMatches(glob.Path, path.Join(dir, base)) }
		var out []tailer.ResumePoint
		for _, base := range p.capture.c.CapturedIn(glob.CVM, dir, matches, tailer.MaxGlobMatches) {
			remote := path.Join(dir, base)
			cs, err := p.capture.open(p.capture.ctx, glob.CVM, base, remote)
			if err != nil {
				continue
			}
			if ident, offset, ok := cs.ResumePoint(); ok && ident != "" {
				out = append(out, tailer.ResumePoint{Path: remote, Ident: ident, Offset: offset})
			}
		}
		return out
	}
}

// CaptureWarnings are what the capture directory is worth a warning for (owned by another
// user, writable by others).
func (p *Pipeline) CaptureWarnings() []string {
	if p.capture == nil {
		return nil
	}
	return p.capture.c.Warnings
}

// ExpectBacklog tells the merge window (when there is one) that every stream of targets ×
// files starts with a backlog (--since): each one's later lines wait for the others' first
// ones, up to wait.
func (p *Pipeline) ExpectBacklog(targets []tailer.Target, files []tailer.File, wait time.Duration) {
	if p.merge == nil {
		return
	}
	for _, t := range targets {
		for _, f := range files {
			key := streamKey{t.Name, t.Address, f.Name, f.Path}
			p.merge.Expect(key, wait)
			p.stream(&tailer.StreamInfo{CVM: t.Name, Address: t.Address, Log: f.Name, Path: f.Path}).catching = true
		}
	}
}

// OpenCaptures opens every stream's capture before anything is followed: each takes its
// lock (another run capturing the same stream is waited for, up to LockWait) and reads
// where the last run stopped. It returns the first failure (an *output.LockedError, a
// refused symlink, ctx's error).
func (p *Pipeline) OpenCaptures(ctx context.Context, targets []tailer.Target, files []tailer.File) error {
	if p.capture == nil {
		return nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, t := range targets {
		for _, f := range files {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := p.capture.open(ctx, t.Name, f.Name, f.Path); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return first
}

func (p *Pipeline) stream(info *tailer.StreamInfo) *stream {
	key := streamKey{info.CVM, info.Address, info.Log, info.Path}
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.streams[key]
	if !ok {
		if p.render.Color && p.render.CVMColors != nil {
			// A CVM that joined after the start (--refresh-interval): a colour of its own
			// rather than its name's hash, which may be another CVM's.
			p.render.CVMColors = output.AddColor(p.render.CVMColors, info.CVM, p.render.Palette)
		}
		st = &stream{key: key, renderer: output.NewRenderer(p.render, info.CVM, info.Address, info.Log, info.Path)}
		if p.filter != nil {
			st.filter = p.filter.NewStream()
		}
		p.streams[key] = st
	}
	return st
}

// Lines is tailer.Sink's: it takes one or more whole lines of one stream. An error (the
// capture or stdout failed) wraps tailer.ErrSinkClosed: the engine then stops every stream.
func (p *Pipeline) Lines(info *tailer.StreamInfo, data []byte, received time.Time) error {
	st := p.stream(info)
	if p.merge != nil && (st.catching || info.File != "" && info.File != info.Path) {
		// Busy reading history, even when --grep keeps none of these lines.
		p.merge.CatchingUp(st.key, true)
	}
	var logTimes []time.Time
	if st.filter != nil {
		data, logTimes = st.filter.Apply(data, received)
	}
	if len(data) == 0 {
		return nil
	}
	if p.capture != nil {
		if err := p.capture.write(st, info, data); err != nil {
			return fmt.Errorf("%w: %w", tailer.ErrSinkClosed, err)
		}
	}
	if p.render.Format == output.None {
		return nil
	}
	if err := p.emit(st, info, data, logTimes, received); err != nil {
		return fmt.Errorf("%w: %w", tailer.ErrSinkClosed, err)
	}
	return nil
}

// SharedBackpressure is tailer.SharedSink's: without a capture, Lines blocks only when
// stdout (or the merge window in front of it) does, which holds up every stream alike. A
// capture may wait for another run's lock on one stream's file, and writes each stream's own
// file: then each stream keeps its own goroutine in the engine.
func (p *Pipeline) SharedBackpressure() bool { return p.capture == nil }

// emit renders kept lines and hands them to the writer, or line by line to the merger.
func (p *Pipeline) emit(st *stream, info *tailer.StreamInfo, data []byte, logTimes []time.Time, received time.Time) error {
	r := st.renderer
	if info.File != "" {
		r.SetFile(info.File)
	}
	switch {
	case p.merge != nil:
		// A stream reading a rotated file, or lines stamped before the run, is catching up:
		// the merge holds the other CVMs' later lines until it gets there.
		rotated := info.File != "" && info.File != info.Path
		var one []byte
		for i := 0; len(data) > 0; i++ {
			n := strings.IndexByte(string(data), '\n') + 1 // no copy: the compiler converts in place
			var lt time.Time
			if i < len(logTimes) {
				lt = logTimes[i]
			}
			catching := rotated || st.catching // a continuation line: as its record
			if !lt.IsZero() {
				catching = rotated || lt.Before(p.started)
			}
			// Said at each batch too: the merger forgets a stream quiet for a window.
			if catching != st.catching || i == 0 && catching {
				st.catching = catching
				p.merge.CatchingUp(st.key, catching)
			}
			one = r.AppendLines(one[:0], data[:n], received, []time.Time{lt})
			data = data[n:]
			if err := p.merge.Add(st.key, lt, one); err != nil {
				return err
			}
		}
		return nil
	case logTimes == nil:
		return p.w.Write(r.Append(p.w.Buffer(), data, received))
	default:
		return p.w.Write(r.AppendLines(p.w.Buffer(), data, received, logTimes))
	}
}

// Abort gives up on stdout: queued lines are dropped and a stream blocked on a reader that
// does not read (a paused pager) is let go. For a run stopped by a signal.
func (p *Pipeline) Abort() { p.w.Abort() }

// Close releases what the merge window still holds, waits until stdout has taken every
// line and closes the capture files. It returns the first error of writing stdout
// (output.ErrAborted after Abort) and, apart, the first error of the capture: a capture
// must never lose lines silently, whatever happened to stdout.
func (p *Pipeline) Close() (stdoutErr, captureErr error) {
	if p.merge != nil {
		_ = p.merge.Close() // its error is the writer's, returned by Close below
	}
	stdoutErr = p.w.Close()
	if p.capture != nil {
		captureErr = p.capture.close()
	}
	return stdoutErr, captureErr
}
