package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/targets"
)

// summaryFor is a start summary over these CVMs and log names, printing into *got.
func summaryFor(cvms, logs []string, got *[]string) *startSummary {
	var targets []tailer.Target
	for _, c := range cvms {
		targets = append(targets, tailer.Target{Name: c, Address: c})
	}
	var files []tailer.File
	for _, l := range logs {
		files = append(files, tailer.File{Name: l, Path: "/logs/" + l})
	}
	var mu sync.Mutex
	return newStartSummary(targets, files, func(line string) {
		mu.Lock()
		defer mu.Unlock()
		*got = append(*got, line)
	})
}

type nopSink struct{}

func (nopSink) Lines(*tailer.StreamInfo, []byte, time.Time) error { return nil }

// delivers is a stream of s delivering a line.
func delivers(s *startSummary, cvm, log string) {
	_ = s.sink(nopSink{}).Lines(&tailer.StreamInfo{CVM: cvm, Log: log, Path: "/logs/" + log}, []byte("x\n"), time.Time{})
}

func TestStartSummaryOnceEveryStreamFollows(t *testing.T) {
	var got []string
	s := summaryFor([]string{"a", "b"}, []string{"genesis", "stargate.INFO"}, &got)
	s.start(time.Hour)
	defer s.stop()
	delivers(s, "a", "genesis")
	delivers(s, "a", "stargate.INFO")
	delivers(s, "b", "genesis")
	if len(got) != 0 {
		t.Fatalf("printed %q before every stream was heard from", got)
	}
	delivers(s, "b", "stargate.INFO")
	delivers(s, "b", "stargate.INFO")
	s.event(tailer.Event{Kind: tailer.EventFailed, CVM: "a", Err: errors.New("gone")})
	if want := []string{"following 4 files on 2 CVMs"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// A glob path is followed once one of its matches (streams of their own, named by their
// base names) delivers a line.
func TestStartSummaryAGlobFollowsThroughItsMatches(t *testing.T) {
	var got []string
	targets := []tailer.Target{{Name: "a", Address: "a"}}
	files := []tailer.File{{Name: "genesis", Path: "/logs/genesis.out"}, {Name: "svc*.log", Path: "/logs/svc*.log", Glob: true}}
	s := newStartSummary(targets, files, func(line string) { got = append(got, line) })
	s.start(time.Hour)
	defer s.stop()
	_ = s.sink(nopSink{}).Lines(&tailer.StreamInfo{CVM: "a", Log: "genesis", Path: "/logs/genesis.out"}, []byte("x\n"), time.Time{})
	_ = s.sink(nopSink{}).Lines(&tailer.StreamInfo{CVM: "a", Log: "other.log", Path: "/elsewhere/svc.1.log"}, []byte("x\n"), time.Time{})
	if len(got) != 0 {
		t.Fatalf("printed %q before the glob's match was heard from", got)
	}
	_ = s.sink(nopSink{}).Lines(&tailer.StreamInfo{CVM: "a", Log: "svc.1.log", Path: "/logs/svc.1.log"}, []byte("x\n"), time.Time{})
	if want := []string{"following 2 files on 1 CVM"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestStartSummarySaysWhatDoesNotFollow(t *testing.T) {
	var got []string
	s := summaryFor([]string{"a", "b", "c", "d"}, []string{"genesis", "stargate.INFO"}, &got)
	s.start(time.Hour)
	defer s.stop()
	delivers(s, "a", "genesis")
	delivers(s, "a", "stargate.INFO")
	s.event(tailer.Event{Kind: tailer.EventFailed, CVM: "b", Err: errors.New("connection refused")})
	s.event(tailer.Event{Kind: tailer.EventNotice, CVM: "c", Log: "genesis", Path: "/logs/genesis", Err: errors.New("no such file (waiting for it to appear)")})
	delivers(s, "c", "stargate.INFO")
	s.event(tailer.Event{Kind: tailer.EventFailed, CVM: "d", Log: "genesis", Path: "/logs/genesis", Err: errors.New("permission denied")})
	if len(got) != 0 {
		t.Fatalf("printed %q while d/stargate.INFO is still unheard of", got)
	}
	s.flush() // the wait is over
	want := "8 files on 4 CVMs: 3 following, 1 waiting to appear (c/genesis), 1 quiet or still connecting (d/stargate.INFO), 3 failed (b, d/genesis)"
	if len(got) != 1 || got[0] != want {
		t.Errorf("summary %q\nwant      %q", got, want)
	}
	s.flush()
	if len(got) != 1 {
		t.Errorf("printed twice: %q", got)
	}
}

func TestStartSummaryNamesAFewThenCounts(t *testing.T) {
	var got []string
	cvms := []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7"}
	s := summaryFor(cvms, []string{"genesis"}, &got)
	s.start(time.Hour)
	defer s.stop()
	delivers(s, "c1", "genesis")
	s.flush()
	if want := "7 files on 7 CVMs: 1 following, 6 quiet or still connecting (c2, c3, c4, c5, +2 more)"; len(got) != 1 || got[0] != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestStartSummaryNothingWhenTheRunEndsFirstOrEverythingFailed(t *testing.T) {
	var got []string
	s := summaryFor([]string{"a"}, []string{"genesis"}, &got)
	s.start(10 * time.Millisecond)
	s.stop()
	time.Sleep(50 * time.Millisecond)
	delivers(s, "a", "genesis")
	if len(got) != 0 {
		t.Errorf("printed %q after the run ended", got)
	}

	s = summaryFor([]string{"a", "b"}, []string{"genesis"}, &got)
	s.start(time.Hour)
	defer s.stop()
	s.event(tailer.Event{Kind: tailer.EventFailed, CVM: "a", Err: errors.New("refused")})
	s.event(tailer.Event{Kind: tailer.EventFailed, CVM: "b", Err: errors.New("refused")})
	if len(got) != 0 {
		t.Errorf("printed %q when nothing follows: the failures were said", got)
	}
}

func TestStartSummaryOnlyOnATerminalWhenFollowingAndNotQuiet(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		stderrTTY, follow, q bool
		want                 bool
	}{
		{"following, stderr a terminal", true, true, false, true},
		{"stderr into a file", false, true, false, false},
		{"--quiet", true, true, true, false},
		{"--no-follow", true, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory()
			f.IOStreams.SetStderrTTY(tc.stderrTTY)
			o := newOptions(f, []string{"genesis"}, "a")
			o.NoFollow, o.Quiet = !tc.follow, tc.q
			if err := o.validate(); err != nil {
				t.Fatal(err)
			}
			cfg := o.engineConfig([]targets.Target{{Name: "a", Address: "a"}}, o.newReporter(&stderrLog{w: f.IOStreams.ErrOut}))
			if got := o.startSummary(&cfg, &stderrLog{w: f.IOStreams.ErrOut}) != nil; got != tc.want {
				t.Errorf("summary %v, want %v", got, tc.want)
			}
		})
	}
}

// lockedBuffer is stderr written by the run while the test reads it.
type lockedBuffer struct {
	mu   sync.Mutex
	b    strings.Builder
	seen chan struct{}
	want string
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) && w.seen != nil {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestRunPrintsTheStartSummaryOnAFollowingTerminal(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "a.out")
	if err := os.WriteFile(present, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "later.out")
	f, _, _ := testFactory()
	// A CVM down at start is retried while following: counted as such, not as failed.
	want := "cvmtail: 4 files on 2 CVMs: 1 following, 1 waiting to appear (c1/later.out), 2 unreachable, retrying (cvm-down)\n"
	errOut := &lockedBuffer{seen: make(chan struct{}), want: want}
	seen := errOut.seen
	f.IOStreams.ErrOut = errOut
	f.IOStreams.SetStderrTTY(true)
	o := newOptions(f, []string{present, missing}, "c1", "cvm-down")
	o.NoFollow = false
	o.startWait = time.Hour // printed when every stream is accounted for, not by the wait
	cvms := map[string]*tailertest.Local{"c1": {}}
	o.Dial = tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		if l, ok := cvms[addr]; ok {
			return l.Dialer().Dial(ctx, addr)
		}
		return nil, errors.New(addr + ": connect to " + addr + ":22: connection refused")
	})
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tailRun(ctx, o) }()
	select {
	case <-seen:
	case err := <-done:
		t.Fatalf("the run ended (%v) without the summary; stderr:\n%s", err, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no summary; stderr:\n%s", errOut.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stopped by a signal: %v, want nil (Main decides the status)", err)
	}
	stderr := errOut.String()
	if strings.Count(stderr, "files on") != 1 {
		t.Errorf("the summary is one line, once:\n%s", stderr)
	}
	// The CVM's own line comes first.
	if i, j := strings.Index(stderr, "connection refused"), strings.Index(stderr, want); i < 0 || i > j {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestQuietSilencesNoticesNotWarnings(t *testing.T) {
	events := []struct {
		ev     tailer.Event
		silent bool
	}{
		{tailer.Event{Kind: tailer.EventRotated, CVM: "a", Log: "genesis", Err: errors.New("rotated; following the new file")}, true},
		{tailer.Event{Kind: tailer.EventNotice, CVM: "a", Log: "genesis", Err: errors.New("tail: '/x' has been replaced;  following new file")}, true},
		{tailer.Event{Kind: tailer.EventNotice, CVM: "a", Log: "genesis", Err: errors.New("file truncated; following from its start")}, false},
		{tailer.Event{Kind: tailer.EventNotice, CVM: "a", Log: "genesis", Err: errors.New("/x: no such file (waiting for it to appear)")}, false},
		{tailer.Event{Kind: tailer.EventConnLost, CVM: "a", Err: errors.New("EOF")}, false},
		{tailer.Event{Kind: tailer.EventReconnected, CVM: "a"}, false},
		{tailer.Event{Kind: tailer.EventFailed, CVM: "a", Err: errors.New("connection refused")}, false},
	}
	for _, quiet := range []bool{false, true} {
		f, _, errOut := testFactory()
		o := newOptions(f, []string{"genesis"}, "a")
		o.Quiet = quiet
		if err := o.validate(); err != nil {
			t.Fatal(err)
		}
		errLog := &stderrLog{w: errOut}
		cfg := o.engineConfig([]targets.Target{{Name: "a", Address: "a"}}, o.newReporter(errLog))
		for _, e := range events {
			errOut.Reset()
			cfg.Events(e.ev)
			if printed := errOut.Len() > 0; printed != (!quiet || !e.silent) {
				t.Errorf("quiet=%v: %v printed %q", quiet, e.ev.Err, errOut.String())
			}
		}
		pcfg, err := o.pipelineConfig(context.Background(), errLog)
		if err != nil {
			t.Fatal(err)
		}
		errOut.Reset()
		pcfg.LockWaiting("/cap/a/genesis.log", "pid 42")
		if printed := errOut.Len() > 0; printed == quiet {
			t.Errorf("quiet=%v: waiting for another capture printed %q", quiet, errOut.String())
		}
	}
	if o, err := parse(t, "genesis", "--cvm", "x", "-q"); err != nil || !o.Quiet {
		t.Errorf("-q: %v, %+v", err, o)
	}
}

func TestStartSummaryCountsCVMsDownAtStart(t *testing.T) {
	var got []string
	s := summaryFor([]string{"a", "b"}, []string{"genesis"}, &got)
	s.start(time.Hour)
	defer s.stop()
	delivers(s, "a", "genesis")
	s.event(tailer.Event{Kind: tailer.EventUnreachable, CVM: "b", Err: errors.New("connection refused")})
	want := "2 files on 2 CVMs: 1 following, 1 unreachable, retrying (b)"
	if len(got) != 1 || got[0] != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}
