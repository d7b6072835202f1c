package tailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestErrTailIsBounded: a CVM writing endless stderr cannot make cvmtail hold it.
func TestErrTailIsBounded(t *testing.T) {
	var e errTail
	r, w := io.Pipe()
	go func() {
		for i := 0; i < 2000; i++ {
			fmt.Fprintf(w, "line %d %s\n", i, strings.Repeat("e", 10000))
		}
		_ = w.Close()
	}()
	readStderr(r, &e, nil)
	if len(e.lines) != errTailLines {
		t.Errorf("%d lines kept, want %d", len(e.lines), errTailLines)
	}
	for _, l := range e.lines {
		if len(l) > errTailLine+3 {
			t.Errorf("a line of %d bytes kept", len(l))
		}
	}
	if !strings.HasPrefix(e.lines[errTailLines-1], "line 1999 ") {
		t.Errorf("not the last lines: %.20q", e.lines[errTailLines-1])
	}
}

// deadClient is a connection that is already gone.
type deadClient struct{}

func (deadClient) NewSession() (Session, error) { return nil, errors.New("connection closed") }
func (deadClient) Wait() error                  { return io.EOF }
func (deadClient) Close() error                 { return nil }

// TestPoolKeepsNoDeadConnections: reconnecting again and again does not pile up dead
// connections in the pool.
func TestPoolKeepsNoDeadConnections(t *testing.T) {
	cfg := Config{BackoffMin: time.Microsecond, BackoffMax: time.Microsecond}
	cfg.defaults()
	dials := 0
	p := newPool(Target{Address: "x"}, DialerFunc(func(context.Context, string) (Client, error) {
		dials++
		if dials > 50 {
			return nil, errors.New("enough")
		}
		return deadClient{}, nil
	}), &cfg)
	p.connected = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 60 && dials <= 50; i++ {
		_, _, _, _ = p.session(ctx)
		time.Sleep(time.Millisecond) // the connections' Wait marks them dead
	}
	p.mu.Lock()
	n := len(p.conns)
	p.mu.Unlock()
	if dials < 50 || n > 2 {
		t.Errorf("after %d dials the pool holds %d connections", dials, n)
	}
}

// TestLongLinesShareOneBudget: when long lines of other streams have taken the run's
// budget, a line is cut at what every stream may hold (freeLine), with the notice; lines
// below freeLine never need the budget.
func TestLongLinesShareOneBudget(t *testing.T) {
	sink := &linesSink{}
	var notices []string
	cfg := Config{Targets: []Target{{}}, Files: []File{{}}, Events: func(ev Event) { notices = append(notices, ev.Err.Error()) }}
	_, streams := testGroup(&cfg, sink, 2)
	budget := newLineBudget(1<<20 - freeLine + 1) // what the first long line takes, newline included
	for _, s := range streams {
		s.lb.budget = budget
		s.framed = true
	}
	a, b := streams[0], streams[1]
	if err := a.data([]byte(strings.Repeat("a", 1<<20))); err != nil { // takes the budget
		t.Fatal(err)
	}
	for _, chunk := range []string{strings.Repeat("b", freeLine), strings.Repeat("b", freeLine), "\nshort\n"} {
		if err := b.data([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.data([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	if got := len(sink.lines["f1"]); got != 1 || len(sink.lines["f1"][0]) != 1<<20 {
		t.Errorf("f1: %d lines", got)
	}
	f2 := sink.lines["f2"]
	if len(f2) != 2 || len(f2[0]) != freeLine-1 || f2[1] != "short" {
		t.Errorf("f2: %d lines, first %d bytes", len(f2), len(f2[0]))
	}
	if len(notices) != 1 || !strings.Contains(notices[0], fmt.Sprintf("cut after its first %d bytes, %d bytes of it dropped", freeLine-1, freeLine+1)) {
		t.Errorf("notices %q", notices)
	}
	if b.deliveredOffset != int64(2*freeLine+len("\nshort\n")) {
		t.Errorf("f2 resumes at %d", b.deliveredOffset)
	}
	a.lb.reset()
	if budget.left != 1<<20-freeLine+1 {
		t.Errorf("budget %d after the long line, want it all back", budget.left)
	}
}
