package output

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func at(sec int) time.Time { return time.Date(2026, 11, 22, 10, 0, sec, 0, time.UTC) }

func TestMergerOrdersByLogTimeAndKeepsRecordsWhole(t *testing.T) {
	var out syncBuf
	w := NewWriter(&out)
	m := NewMerger(w, time.Hour, nil)
	add := func(stream string, sec int, text string) {
		t.Helper()
		var lt time.Time
		if sec >= 0 {
			lt = at(sec)
		}
		if err := m.Add(stream, lt, []byte(text+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	add("b", 3, "b3")
	add("a", 1, "a1")
	add("b", -1, "b3 continuation") // joins b3, not a1
	add("c", 2, "c2")
	add("a", 4, "a4")
	add("c", -1, "c2 continuation")
	add("a", 3, "a3 (same second as b3, arrived later)")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "a1\nc2\nc2 continuation\nb3\nb3 continuation\na3 (same second as b3, arrived later)\na4\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestMergerReleasesWithinTheWindow(t *testing.T) {
	var out syncBuf
	w := NewWriter(&out)
	defer w.Close()
	m := NewMerger(w, 100*time.Millisecond, nil)
	defer m.Close()
	start := time.Now()
	if err := m.Add("a", at(5), []byte("late one\n")); err != nil {
		t.Fatal(err)
	}
	for out.String() == "" {
		if time.Since(start) > 2*time.Second {
			t.Fatal("line held for more than 2s with a 100ms window")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("released after %v, before the window", d)
	}
}

func TestMergerIsBounded(t *testing.T) {
	var out syncBuf
	w := NewWriter(&out)
	m := NewMerger(w, time.Hour, nil)
	m.maxLines = 10
	for i := 0; i < 25; i++ {
		if err := m.Add("a", at(i), []byte(fmt.Sprintf("l%d\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	m.mu.Lock()
	held := m.held.Len()
	m.mu.Unlock()
	if held > 10 {
		t.Errorf("%d lines held, bound 10", held)
	}
	_ = m.Close()
	_ = w.Close()
	if got := strings.Count(out.String(), "\n"); got != 25 {
		t.Errorf("%d lines out, want 25", got)
	}
	if !strings.HasPrefix(out.String(), "l0\nl1\n") {
		t.Errorf("released out of order: %q", out.String()[:20])
	}
}

// History arrives hours at a time, each CVM at its own pace: a stream catching up holds the
// others' later lines, past the window, until it gets there.
func TestMergerWaitsForStreamsCatchingUp(t *testing.T) {
	var out syncBuf
	w := NewWriter(&out)
	m := NewMerger(w, 100*time.Millisecond, nil)
	m.CatchingUp("fast", true)
	m.CatchingUp("slow", true)
	for k := range 10 {
		if err := m.Add("fast", at(k), []byte(fmt.Sprintf("fast %d\n", k))); err != nil {
			t.Fatal(err)
		}
	}
	// The slow CVM's history comes a line every 40ms, well within the window each, the
	// whole taking four windows.
	for k := range 10 {
		time.Sleep(40 * time.Millisecond)
		if err := m.Add("slow", at(k), []byte(fmt.Sprintf("slow %d\n", k))); err != nil {
			t.Fatal(err)
		}
	}
	m.CatchingUp("slow", false)
	m.CatchingUp("fast", false)
	if err := m.Add("slow", at(20), []byte("slow live\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := out.String(); !strings.HasSuffix(got, "slow live\n") {
		t.Errorf("a live line waited past the window once nobody was catching up: %q", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for k := range 10 {
		fmt.Fprintf(&want, "fast %d\nslow %d\n", k, k)
	}
	want.WriteString("slow live\n")
	if out.String() != want.String() {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want.String())
	}
}

// A stream that stops sending while catching up (its history ended without a live line,
// or its CVM hangs) holds the others for one window only.
func TestMergerCatchingUpStreamGoneQuietHoldsOneWindow(t *testing.T) {
	var out syncBuf
	w := NewWriter(&out)
	defer w.Close()
	m := NewMerger(w, 100*time.Millisecond, nil)
	defer m.Close()
	m.CatchingUp("quiet", true)
	if err := m.Add("quiet", at(1), []byte("quiet 1\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Add("other", at(5), []byte("other 5\n")); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "other 5") {
		if time.Since(start) > 2*time.Second {
			t.Fatal("held for more than 2s by a quiet stream, with a 100ms window")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
