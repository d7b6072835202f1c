package tailer_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
)

// sharedRecorder is a SharedSink: its lines may come from one goroutine per CVM. It counts
// the calls for one CVM that overlapped, which a SharedSink never sees.
type sharedRecorder struct {
	*recorder
	mu         sync.Mutex
	inCall     map[string]int
	overlapped atomic.Int64
}

func (r *sharedRecorder) SharedBackpressure() bool { return true }

func (r *sharedRecorder) Lines(info *tailer.StreamInfo, data []byte, at time.Time) error {
	r.mu.Lock()
	r.inCall[info.CVM]++
	if r.inCall[info.CVM] > 1 {
		r.overlapped.Add(1)
	}
	r.mu.Unlock()
	time.Sleep(200 * time.Microsecond) // a window for another stream's call to overlap
	err := r.recorder.Lines(info, data, at)
	r.mu.Lock()
	r.inCall[info.CVM]--
	r.mu.Unlock()
	return err
}

// With a SharedSink, the reader of a CVM's frames hands the lines of all its streams over
// itself, and its credits (batched per read) keep backlogs many windows long flowing.
func TestSharedSinkTakesEveryStreamFromTheReader(t *testing.T) {
	dir := t.TempDir()
	var files []tailer.File
	for i := 1; i <= 4; i++ {
		f := tailer.File{Name: fmt.Sprintf("f%d", i), Path: filepath.Join(dir, fmt.Sprintf("f%d.log", i))}
		writeFile(t, f.Path, numbered(f.Name+" a line long enough to fill the window soon", 1, 2000))
		files = append(files, f)
	}
	rec := &sharedRecorder{recorder: newRecorder(), inCall: map[string]int{}}
	cfg := baseConfig(rec.recorder, []tailer.Target{{Name: "c", Address: "c"}}, files)
	cfg.Lines, cfg.Window = -1, 4096 // each backlog about 25 windows
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := tailer.Run(ctx, cfg, cluster{"c": local(t)}.dialer(), rec); done <- err }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for _, f := range files {
		waitFor(t, "the backlog of "+f.Name, 20*time.Second, func() bool { return len(rec.get(key("c", f.Name))) >= 2000 })
	}
	for _, f := range files {
		appendFile(t, f.Path, numbered(f.Name+" a line long enough to fill the window soon", 2001, 2010))
	}
	for _, f := range files {
		waitFor(t, "new lines of "+f.Name, 10*time.Second, func() bool { return len(rec.get(key("c", f.Name))) >= 2010 })
		equal(t, f.Name, rec.get(key("c", f.Name)), want(f.Name+" a line long enough to fill the window soon", 1, 2010))
	}
	if n := rec.overlapped.Load(); n > 0 {
		t.Errorf("%d calls for one CVM overlapped another", n)
	}
}

// gatedRecorder is a plain Sink that blocks one stream until released.
type gatedRecorder struct {
	*recorder
	gated   string
	release chan struct{}
	blocked chan struct{}
	once    sync.Once
}

func (r *gatedRecorder) Lines(info *tailer.StreamInfo, data []byte, at time.Time) error {
	if info.Log == r.gated {
		r.once.Do(func() { close(r.blocked) })
		<-r.release
	}
	return r.recorder.Lines(info, data, at)
}

// A sink that is not a SharedSink may block one stream alone: the other streams of the
// same CVM, on the same agent, go on (issue 13: flow control per stream).
func TestBlockedStreamDoesNotHoldUpItsCVMsOthers(t *testing.T) {
	dir := t.TempDir()
	stuck := tailer.File{Name: "stuck", Path: filepath.Join(dir, "stuck.log")}
	free := tailer.File{Name: "free", Path: filepath.Join(dir, "free.log")}
	writeFile(t, stuck.Path, numbered("stuck", 1, 10))
	writeFile(t, free.Path, numbered("free", 1, 10))
	rec := &gatedRecorder{recorder: newRecorder(), gated: "stuck", release: make(chan struct{}), blocked: make(chan struct{})}
	cfg := baseConfig(rec.recorder, []tailer.Target{{Name: "c", Address: "c"}}, []tailer.File{stuck, free})
	cfg.Lines = -1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := tailer.Run(ctx, cfg, cluster{"c": local(t)}.dialer(), rec); done <- err }()
	released := false
	defer func() {
		if !released {
			close(rec.release)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-rec.blocked:
	case <-time.After(15 * time.Second):
		t.Fatal("the stuck stream got no lines")
	}
	for i := 11; i <= 30; i += 10 {
		appendFile(t, stuck.Path, numbered("stuck", i, i+9))
		appendFile(t, free.Path, numbered("free", i, i+9))
	}
	waitFor(t, "the free stream's lines while the other is blocked", 10*time.Second, func() bool { return len(rec.get(key("c", "free"))) >= 30 })
	equal(t, "free", rec.get(key("c", "free")), want("free", 1, 30))
	close(rec.release)
	released = true
	waitFor(t, "the stuck stream's lines once released", 10*time.Second, func() bool { return len(rec.get(key("c", "stuck"))) >= 30 })
	equal(t, "stuck", rec.get(key("c", "stuck")), want("stuck", 1, 30))
}
