package tailer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
)

// hostileCVM is a fake CVM whose "python3" is a shell script answering every stream the
// agent command asks for (docs/agent-protocol.md: after -S -E -c SCRIPT, 4 words, then 7 per
// stream) with frames that script writes: a compromised or broken CVM.
func hostileCVM(t *testing.T, frames string) *tailertest.Local {
	t.Helper()
	bin := t.TempDir()
	script := "#!/bin/sh\nshift 8\nprintf '\\000CVMTAIL2\\n'\nwhile [ $# -ge 7 ]; do\n  id=$1\n" + frames + "\n  shift 7\ndone\n"
	if err := os.WriteFile(filepath.Join(bin, "python3"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &tailertest.Local{Env: []string{"PATH=" + bin + ":/usr/bin:/bin"}}
}

// TestAbsurdFrameLengthFailsTheStreamAlone: a D frame whose length no window allows used to
// make the client allocate it (makeslice panic: every CVM and capture gone). It fails that
// stream, with one message naming the CVM and file; the other file of the same agent is
// delivered once, from a new agent session, and other CVMs are untouched.
func TestAbsurdFrameLengthFailsTheStreamAlone(t *testing.T) {
	bad := hostileCVM(t, `  if [ "$id" = 1 ]; then printf 'O 1 1:1 0 5\nD 1 99999999999999999999\nxx'; else printf 'O %s 1:2 0 3\nD %s 3\nok\nZ %s\n' $id $id $id; fi`)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.log")
	writeFile(t, good, "fine\n")
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "bad", Address: "bad"}, {Name: "ok", Address: "ok"}},
		[]tailer.File{{Name: "one", Path: good}, {Name: "two", Path: good}})
	cfg.Follow = false
	res, err := tailer.Run(context.Background(), cfg, cluster{"bad": bad, "ok": local(t)}.dialer(), rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Failed != 1 {
		t.Errorf("%d streams failed, want 1; events:\n%s", res.Failed, rec.eventText())
	}
	ev := rec.eventText()
	if strings.Count(ev, "agent protocol") != 1 || !strings.Contains(ev, "bad one agent protocol: data frame length") {
		t.Errorf("want one protocol error for bad/one, got:\n%s", ev)
	}
	equal(t, "bad two", rec.get(key("bad", "two")), []string{"ok"})
	equal(t, "ok one", rec.get(key("ok", "one")), []string{"fine"})
	equal(t, "ok two", rec.get(key("ok", "two")), []string{"fine"})
}

// TestUnattributableOutputFailsThatCVMOnce: frames for a stream nobody asked for fail every
// stream of that CVM's agent with one message.
func TestUnattributableOutputFailsThatCVMOnce(t *testing.T) {
	bad := hostileCVM(t, `  printf 'D 77 3\nabc'`)
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "bad", Address: "bad"}},
		[]tailer.File{{Name: "one", Path: "/x/1"}, {Name: "two", Path: "/x/2"}, {Name: "three", Path: "/x/3"}})
	res, _ := tailer.Run(context.Background(), cfg, cluster{"bad": bad}.dialer(), rec)
	if res.Failed != 3 {
		t.Errorf("%d streams failed, want 3", res.Failed)
	}
	if ev := rec.eventText(); strings.Count(ev, "\n") != 1 || !strings.Contains(ev, "stream 77, which was not asked for") {
		t.Errorf("want one message for the CVM, got:\n%s", ev)
	}
}

// TestWrongProtocolVersionIsAClearError: an agent of another version is a per-CVM error.
func TestWrongProtocolVersionIsAClearError(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "python3"), []byte("#!/bin/sh\nprintf '\\000CVMTAIL7\\n'\ncat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "a", Path: "/a"}, {Name: "b", Path: "/b"}})
	res, _ := tailer.Run(context.Background(), cfg, cluster{"h": &tailertest.Local{Env: []string{"PATH=" + bin + ":/usr/bin:/bin"}}}.dialer(), rec)
	if res.Failed != 2 || !strings.Contains(rec.eventText(), `the CVM's agent speaks protocol "7", this cvmtail 2`) {
		t.Errorf("failed %d; events:\n%s", res.Failed, rec.eventText())
	}
}

// refusing is a connection on which every channel is refused.
type refusing struct{ closed chan struct{} }

func (r *refusing) NewSession() (tailer.Session, error) {
	return nil, &ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "open failed"}
}
func (r *refusing) Wait() error  { <-r.closed; return io.EOF }
func (r *refusing) Close() error { return nil }

// TestCVMRefusingEveryChannelIsReported: it used to end with no message and exit 3.
func TestCVMRefusingEveryChannelIsReported(t *testing.T) {
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "a", Path: "/a"}, {Name: "b", Path: "/b"}})
	closed := make(chan struct{})
	defer close(closed)
	var dials atomic.Int32
	dialer := tailer.DialerFunc(func(context.Context, string) (tailer.Client, error) {
		dials.Add(1)
		return &refusing{closed: closed}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, _ := tailer.Run(ctx, cfg, dialer, rec)
	if ctx.Err() != nil {
		t.Fatal("Run did not give up on a CVM that refuses every channel")
	}
	if res.Failed != 2 {
		t.Errorf("%d of 2 streams failed", res.Failed)
	}
	if ev := rec.eventText(); strings.Count(ev, "refuses to open a session channel") != 1 {
		t.Errorf("want one report, got:\n%s", ev)
	}
	if n := dials.Load(); n > 4 {
		t.Errorf("dialed %d times", n)
	}
}

// TestLineBeyondMaxLineIsCutAndMemoryStaysBounded: 130 MiB without a newline used to pile
// up (a 300 MiB one took cvmtail to 1 GiB). The first MaxLine bytes are delivered as a
// line, the rest dropped with a notice saying how much; the lines after it arrive, with the
// right resume offset.
func TestLineBeyondMaxLineIsCutAndMemoryStaysBounded(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "long.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const long = 130 << 20
	block := []byte(strings.Repeat("x", 1<<20))
	_, _ = f.WriteString("before\n")
	for i := 0; i < long>>20; i++ {
		_, _ = f.Write(block)
	}
	_, _ = f.WriteString("\nafter\n")
	size, _ := f.Seek(0, io.SeekCurrent)
	_ = f.Close()

	sink := &lenSink{}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "long", Path: p}})
	cfg.Follow, cfg.Lines = false, 5
	// As cvmtail runs (a soft memory limit), so that the heap measured is what is held,
	// not what the collector has not got round to.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(32 << 20))
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	_, err = tailer.Run(context.Background(), cfg, cluster{"h": local(t)}.dialer(), tailer.Sink(multiSink{sink, rec}))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.lens(); len(got) != 3 || got[0] != len("before") || got[1] != tailer.MaxLine || got[2] != len("after") {
		t.Fatalf("line lengths %v, want [6 %d 5]", got, tailer.MaxLine)
	}
	if sink.lastEnd != size {
		t.Errorf("resume offset after the last line %d, want %d", sink.lastEnd, size)
	}
	if ev := rec.eventText(); !strings.Contains(ev, "a line was cut after its first 67108864 bytes, 69206016 bytes of it dropped") {
		t.Errorf("no notice of the cut:\n%s", ev)
	}
	t.Logf("heap in use peaked at %d MiB", peak.Load()>>20)
	if p := peak.Load(); p > 160<<20 {
		t.Errorf("heap in use peaked at %d MiB", p>>20)
	}
}

// lenSink keeps line lengths and the resume offset, not the lines.
type lenSink struct {
	mu      sync.Mutex
	lengths []int
	lastEnd int64
}

func (s *lenSink) Lines(info *tailer.StreamInfo, data []byte, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return errors.New("chunk without final newline")
		}
		s.lengths = append(s.lengths, i)
		data = data[i+1:]
	}
	s.lastEnd = info.EndOffset
	return nil
}

func (s *lenSink) lens() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.lengths...)
}

// multiSink hands lines to the first sink only; the recorder is there for its events.
type multiSink struct {
	first tailer.Sink
	_     *recorder
}

func (m multiSink) Lines(info *tailer.StreamInfo, data []byte, t time.Time) error {
	return m.first.Lines(info, data, t)
}
