package tail

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
)

// startSummaryWait bounds how long the start summary waits for every stream to show how it
// started. The engine tells when a stream fails or its file is missing, but not when one
// opens its file: a first line is the sign of that, and a quiet file (-n 0) gives none. As
// long as the default --connect-timeout, so that an unreachable CVM is counted as failed
// rather than "still connecting", and a start slowed by a busy machine is waited for.
const startSummaryWait = 10 * time.Second

// startSummary prints, once, the stderr line that says what a run follows: as soon as every
// stream has delivered a line, failed, or said that its file is missing, or after the wait,
// whichever comes first; nothing once the run has ended.
type startSummary struct {
	cvms  []string      // in the order of the targets
	globs []tailer.File // files that are globs: their matches' lines count for them
	logs  []string      // in the order of the files
	print func(line string)

	done  atomic.Bool // printed, or the run ended: the hot path then only checks this
	timer *time.Timer

	mu      sync.Mutex
	state   map[streamID]streamState
	pending int
}

type streamID struct{ cvm, log, path string }

type streamState int

const (
	statePending   streamState = iota // nothing heard yet: connecting, or a quiet file
	stateFollowing                    // delivered lines
	stateWaiting                      // its file is missing (or unreadable for now); the engine waits for it
	stateFailed                       // failed for good, alone or with its CVM
	stateRetrying                     // its CVM was unreachable at start: retried as after a drop
)

func newStartSummary(targets []tailer.Target, files []tailer.File, print func(string)) *startSummary {
	s := &startSummary{print: print, state: map[streamID]streamState{}}
	for _, f := range files {
		s.logs = append(s.logs, f.Name)
		if f.Glob {
			s.globs = append(s.globs, f)
		}
	}
	for _, t := range targets {
		s.cvms = append(s.cvms, t.Name)
		for _, f := range files {
			s.state[streamID{t.Name, f.Name, f.Path}] = statePending
		}
	}
	s.pending = len(s.state)
	return s
}

// start arms the wait; stop ends the summary without printing it if it has not been.
func (s *startSummary) start(wait time.Duration) { s.timer = time.AfterFunc(wait, s.flush) }

func (s *startSummary) stop() {
	s.done.Store(true)
	if s.timer != nil {
		s.timer.Stop()
	}
}

// sink wraps the pipeline: a stream's first lines mark it as following.
func (s *startSummary) sink(next tailer.Sink) tailer.Sink { return &summarySink{s: s, next: next} }

type summarySink struct {
	s    *startSummary
	next tailer.Sink
}

func (k *summarySink) Lines(info *tailer.StreamInfo, data []byte, received time.Time) error {
	if !k.s.done.Load() {
		id := streamID{info.CVM, info.Log, info.Path}
		for _, g := range k.s.globs {
			if tailer.GlobMatches(g.Path, info.Path) {
				id = streamID{info.CVM, g.Name, g.Path} // a match of a glob path follows for it
				break
			}
		}
		k.s.set(id, stateFollowing)
	}
	return k.next.Lines(info, data, received)
}

// SharedBackpressure passes on the pipeline's (tailer.SharedSink): the summary never blocks.
func (k *summarySink) SharedBackpressure() bool {
	ss, ok := k.next.(tailer.SharedSink)
	return ok && ss.SharedBackpressure()
}

// event takes the engine's events: failures, and notices of a stream not open yet (its
// file is missing: the engine waits for it to appear).
func (s *startSummary) event(ev tailer.Event) {
	if s.done.Load() {
		return
	}
	switch ev.Kind {
	case tailer.EventFailed:
		if ev.Log != "" {
			s.set(streamID{ev.CVM, ev.Log, ev.Path}, stateFailed)
			return
		}
		for _, id := range s.ofCVM(ev.CVM) {
			s.set(id, stateFailed)
		}
	case tailer.EventNotice, tailer.EventWaiting:
		s.set(streamID{ev.CVM, ev.Log, ev.Path}, stateWaiting)
	case tailer.EventUnreachable:
		for _, id := range s.ofCVM(ev.CVM) {
			s.set(id, stateRetrying)
		}
	}
}

// ofCVM lists the streams of one CVM.
func (s *startSummary) ofCVM(cvm string) []streamID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []streamID
	for id := range s.state {
		if id.cvm == cvm {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *startSummary) set(id streamID, to streamState) {
	s.mu.Lock()
	from, ok := s.state[id]
	switch {
	case !ok, from == to, from == stateFailed:
		s.mu.Unlock()
		return
	case (to == stateWaiting || to == stateRetrying) && from != statePending:
		s.mu.Unlock()
		return // a notice once following (a rotation) says nothing of how it started
	}
	s.state[id] = to
	if from == statePending {
		s.pending--
	}
	all := s.pending == 0
	s.mu.Unlock()
	if all {
		s.flush()
	}
}

func (s *startSummary) flush() {
	if !s.done.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	line, ok := s.line()
	s.mu.Unlock()
	if ok {
		s.print(line)
	}
}

// line is the summary, e.g. "following 8 files on 4 CVMs", or, when not every stream
// follows, "8 files on 4 CVMs: 5 following, 1 waiting to appear (NTNX-C/genesis), 2 failed
// (NTNX-B)". ok is false when every stream failed: the failures were said already, and
// nothing follows.
func (s *startSummary) line() (string, bool) {
	count := map[streamState]int{}
	following := map[string]bool{}
	for id, st := range s.state {
		count[st]++
		if st == stateFollowing {
			following[id.cvm] = true
		}
	}
	total := len(s.state)
	if count[stateFailed] == total {
		return "", false
	}
	if count[stateFollowing] == total {
		return fmt.Sprintf("following %s on %s", plural(total, "file"), plural(len(s.cvms), "CVM")), true
	}
	parts := []string{fmt.Sprintf("%d following", count[stateFollowing])}
	for _, c := range []struct {
		st   streamState
		what string
	}{
		{stateWaiting, "waiting to appear"},
		{statePending, "quiet or still connecting"},
		{stateRetrying, "unreachable, retrying"},
		{stateFailed, "failed"},
	} {
		if count[c.st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", count[c.st], c.what, s.streams(c.st)))
		}
	}
	return fmt.Sprintf("%s on %s: %s", plural(total, "file"), plural(len(s.cvms), "CVM"), strings.Join(parts, ", ")), true
}

// maxNamed is how many CVMs or streams a part of the summary names before "+N more".
const maxNamed = 4

// streams names the streams in state st: a CVM alone when all its files are, else
// CVM/log, in the order of the targets and files.
func (s *startSummary) streams(st streamState) string {
	var names []string
	for _, cvm := range s.cvms {
		var logs []string
		for id, got := range s.state {
			if id.cvm == cvm && got == st {
				logs = append(logs, id.log)
			}
		}
		switch {
		case len(logs) == 0:
		case len(logs) == len(s.logs):
			names = append(names, cvm)
		default:
			for _, l := range s.logs { // the files' order, not the map's
				for _, got := range logs {
					if got == l {
						names = append(names, cvm+"/"+l)
						break
					}
				}
			}
		}
	}
	if len(names) > maxNamed {
		names = append(names[:maxNamed], fmt.Sprintf("+%d more", len(names)-maxNamed))
	}
	return strings.Join(names, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
