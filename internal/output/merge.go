package output

import (
	"container/heap"
	"sync"
	"time"
)

// Merger sits between the streams and the Writer for --merge-window: it holds rendered
// lines for up to Window after they arrived and releases them in the order of their log
// time, so that an event seen by several CVMs reads in order. A record's continuation lines
// (no time of their own) join the record while it is still held, so a record is never torn
// apart by lines of another stream. Memory is bounded: when the held lines exceed MaxLines
// or MaxBytes, the earliest is released at once, in the caller's goroutine, which also
// carries the Writer's backpressure back to the streams.
//
// History (--since over rotated files) arrives in bursts, each CVM at its own pace, hours
// of log in seconds: a stream marked catching up (CatchingUp) holds back every line later
// than its own last one, however long they have waited, until it gets past them, ends its
// history, or sends nothing for a window (at least a second: a loaded CVM or network
// pauses). So the histories of all CVMs come out in time
// order, within the bounds above.
type Merger struct {
	w      *Writer
	window time.Duration
	quiet  time.Duration // a stream catching up that sends nothing this long holds no more
	now    func() time.Time

	maxLines, maxBytes int

	mu      sync.Mutex // held while releasing too, so released batches keep their order
	held    entryHeap
	arrival []*entry // in arrival order; released entries are skipped lazily
	bytes   int
	seq     uint64
	last    map[any]*entry // each stream's last entry, while held
	lastKey map[any]time.Time
	// Streams catching up (reading history): when each last gave a line.
	catching map[any]time.Time

	stop chan struct{}
	done chan struct{}
}

type entry struct {
	key      time.Time // the record's log time (or its stream's previous, or its arrival)
	seq      uint64    // arrival order breaks ties and keeps a stream's lines in order
	arrived  time.Time
	b        []byte
	index    int // in the heap; -1 once released
	released bool
}

type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].key.Equal(h[j].key) {
		return h[i].key.Before(h[j].key)
	}
	return h[i].seq < h[j].seq
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) { e := x.(*entry); e.index = len(*h); *h = append(*h, e) }
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// MergeLimits bound what a Merger holds.
const (
	MergeMaxLines = 100000
	MergeMaxBytes = 64 << 20
)

// NewMerger starts a merger in front of w. now is the clock for holding (nil: time.Now).
func NewMerger(w *Writer, window time.Duration, now func() time.Time) *Merger {
	if now == nil {
		now = time.Now
	}
	m := &Merger{w: w, window: window, quiet: max(window, time.Second), now: now, maxLines: MergeMaxLines, maxBytes: MergeMaxBytes,
		last: map[any]*entry{}, lastKey: map[any]time.Time{}, catching: map[any]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{})}
	tick := window / 4
	if tick < 5*time.Millisecond {
		tick = 5 * time.Millisecond
	}
	go m.loop(tick)
	return m
}

func (m *Merger) loop(tick time.Duration) {
	defer close(m.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.mu.Lock()
			_ = m.releaseDue()
			m.mu.Unlock()
		}
	}
}

// CatchingUp says whether stream's next lines come from its history (see Merger); on also
// says the stream is busy now, when its lines are filtered out before they reach the merge.
func (m *Merger) CatchingUp(stream any, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		if at, ok := m.catching[stream]; !ok || at.Before(m.now()) {
			m.catching[stream] = m.now()
		}
		return
	}
	delete(m.catching, stream)
}

// Expect marks stream as catching up before its first line: the others' lines wait for it
// up to wait (the start of a history can take seconds: connecting, skipping the start of a
// compressed file).
func (m *Merger) Expect(stream any, wait time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catching[stream] = m.now().Add(wait - m.quiet) // quiet after wait: given up
}

// heldBack tells whether a stream still catching up has not reached key yet.
func (m *Merger) heldBack(key, now time.Time) bool {
	for s, lastAt := range m.catching {
		if now.Sub(lastAt) >= m.quiet {
			delete(m.catching, s) // quiet: its history is done, or it is stuck
			continue
		}
		if m.lastKey[s].Before(key) {
			return true
		}
	}
	return false
}

// Add holds one rendered output line of stream (any comparable identity). logTime is the
// line's own time, zero for a continuation line, which then joins its stream's held record
// (or, once that is released, follows it with the same time).
func (m *Merger) Add(stream any, logTime time.Time, rendered []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if logTime.IsZero() {
		if e := m.last[stream]; e != nil && !e.released {
			e.b = append(e.b, rendered...)
			m.bytes += len(rendered)
			return m.releaseOverflow()
		}
	}
	now := m.now()
	if _, ok := m.catching[stream]; ok {
		m.catching[stream] = now
	}
	key := logTime
	if key.IsZero() {
		key = m.lastKey[stream]
		if key.IsZero() {
			key = now
		}
	}
	m.lastKey[stream] = key
	m.seq++
	e := &entry{key: key, seq: m.seq, arrived: now, b: append([]byte(nil), rendered...)}
	heap.Push(&m.held, e)
	m.arrival = append(m.arrival, e)
	m.last[stream] = e
	m.bytes += len(e.b)
	if err := m.releaseOverflow(); err != nil {
		return err
	}
	return m.releaseDue()
}

// releaseOverflow releases the earliest lines while over the bounds.
func (m *Merger) releaseOverflow() error {
	var out []byte
	for m.held.Len() > 0 && (m.held.Len() > m.maxLines || m.bytes > m.maxBytes) {
		out = m.pop(out)
	}
	return m.write(out)
}

// releaseDue releases, in log-time order, everything up to the latest line whose hold is
// over, so that no line waits longer than the window.
func (m *Merger) releaseDue() error {
	now := m.now()
	deadline := now.Add(-m.window)
	var out []byte
	for len(m.arrival) > 0 {
		e := m.arrival[0]
		if !e.released {
			if e.arrived.After(deadline) || len(m.catching) > 0 && m.heldBack(e.key, now) {
				break
			}
			for !e.released {
				out = m.pop(out)
			}
		}
		m.arrival[0] = nil
		m.arrival = m.arrival[1:]
	}
	return m.write(out)
}

func (m *Merger) pop(out []byte) []byte {
	e := heap.Pop(&m.held).(*entry)
	e.released = true
	m.bytes -= len(e.b)
	if out == nil {
		out = m.w.Buffer()
	}
	return append(out, e.b...)
}

func (m *Merger) write(out []byte) error {
	if out == nil {
		return nil
	}
	return m.w.Write(out)
}

// Close releases everything still held, in order, and stops the merger. The Writer stays
// open.
func (m *Merger) Close() error {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []byte
	for m.held.Len() > 0 {
		out = m.pop(out)
	}
	m.arrival = nil
	return m.write(out)
}
