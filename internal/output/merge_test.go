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
