package tailer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// recorder is a sink that keeps every line per stream and checks chunks hold whole lines.
type recorder struct {
	mu     sync.Mutex
	lines  map[string][]string
	addr   map[string]string // the address of each stream's last lines
	events []tailer.Event
	bad    []string
}

func newRecorder() *recorder {
	return &recorder{lines: map[string][]string{}, addr: map[string]string{}}
}

func key(cvm, log string) string { return cvm + "|" + log }

func (r *recorder) Lines(info *tailer.StreamInfo, data []byte, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addr[key(info.CVM, info.Log)] = info.Address
	if len(data) == 0 || data[len(data)-1] != '\n' {
		r.bad = append(r.bad, fmt.Sprintf("%s: chunk without final newline: %.40q", info.CVM, data))
	}
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		r.lines[key(info.CVM, info.Log)] = append(r.lines[key(info.CVM, info.Log)], strings.TrimSuffix(l, "\n"))
	}
	return nil
}

func (r *recorder) event(ev tailer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) get(k string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines[k]...)
}

func (r *recorder) eventText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		fmt.Fprintf(&b, "%d %s %s %v\n", e.Kind, e.CVM, e.Log, e.Err)
	}
	return b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eachPython runs test under the system's python3 and the 2.7 and 3.6 that older CVMs have.
func eachPython(t *testing.T, test func(*testing.T, pythons.Python)) {
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			test(t, py)
		})
	}
}

// local is a fake CVM whose sessions find the system's python3.
func local(t *testing.T) *tailertest.Local {
	return &tailertest.Local{Env: pythons.System(t).Env}
}

// cluster maps addresses to fake CVMs.
type cluster map[string]*tailertest.Local

func (c cluster) dialer() tailer.Dialer {
	return tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		l, ok := c[addr]
		if !ok {
			return nil, fmt.Errorf("%s: connect: no route to host", addr)
		}
		return l.Dialer().Dial(ctx, addr)
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

func want(prefix string, from, to int) []string {
	return strings.Split(strings.TrimSuffix(numbered(prefix, from, to), "\n"), "\n")
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %d lines %q\nwant %d lines %q", what, len(got), clip(got), len(want), clip(want))
	}
}

func clip(s []string) []string {
	if len(s) > 12 {
		return append(append(append([]string(nil), s[:6]...), "..."), s[len(s)-6:]...)
	}
	return s
}

func baseConfig(rec *recorder, targets []tailer.Target, files []tailer.File) tailer.Config {
	return tailer.Config{
		Targets: targets, Files: files, Lines: 10, Follow: true,
		Poll: 10 * time.Millisecond, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Events: rec.event,
	}
}

func TestBacklogThenFollowAcrossCVMsAndFiles(t *testing.T) {
	eachPython(t, testBacklogThenFollowAcrossCVMsAndFiles)
}

func testBacklogThenFollowAcrossCVMsAndFiles(t *testing.T, py pythons.Python) {
	dirs := []string{t.TempDir(), t.TempDir()}
	cl := cluster{}
	var targets []tailer.Target
	for i := range dirs {
		addr := fmt.Sprintf("127.0.0.%d", 11+i)
		cl[addr] = &tailertest.Local{Env: py.Env}
		targets = append(targets, tailer.Target{Name: fmt.Sprintf("cvm%d", i+1), Address: addr})
	}
	// The same path on both fake CVMs would be the same local file, so each file is per-CVM
	// by name: the engine does not care what the path is.
	files := []tailer.File{{Name: "a", Path: filepath.Join(dirs[0], "a.log")}, {Name: "b", Path: filepath.Join(dirs[1], "b.log")}}
	writeFile(t, files[0].Path, numbered("a", 1, 20))
	writeFile(t, files[1].Path, numbered("b", 1, 20))

	rec := newRecorder()
	cfg := baseConfig(rec, targets, files)
	cfg.Lines = 5
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var res tailer.Result
	var err error
	go func() { res, err = tailer.Run(ctx, cfg, cl.dialer(), rec); close(done) }()

	for _, c := range []string{"cvm1", "cvm2"} {
		for _, f := range []string{"a", "b"} {
			waitFor(t, "backlog of "+c+" "+f, 5*time.Second, func() bool { return len(rec.get(key(c, f))) >= 5 })
		}
	}
	appendFile(t, files[0].Path, numbered("a", 21, 23))
	appendFile(t, files[1].Path, numbered("b", 21, 23))
	for _, c := range []string{"cvm1", "cvm2"} {
		for _, f := range []string{"a", "b"} {
			waitFor(t, "new lines", 5*time.Second, func() bool { return len(rec.get(key(c, f))) >= 8 })
		}
	}
	cancel()
	<-done
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Streams != 4 || res.Failed != 0 {
		t.Errorf("result %+v", res)
	}
	for _, c := range []string{"cvm1", "cvm2"} {
		equal(t, c+" a", rec.get(key(c, "a")), want("a", 16, 23))
		equal(t, c+" b", rec.get(key(c, "b")), want("b", 16, 23))
	}
	if len(rec.bad) > 0 {
		t.Errorf("bad chunks: %v", rec.bad)
	}
}

func TestNoFollowMissingFileFailsAlone(t *testing.T) {
	eachPython(t, testNoFollowMissingFileFailsAlone)
}

func testNoFollowMissingFileFailsAlone(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.log")
	writeFile(t, ok, "one\ntwo\nlast without newline")
	cl := cluster{"h1": &tailertest.Local{Env: py.Env}}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h1", Address: "h1"}},
		[]tailer.File{{Name: "ok", Path: ok}, {Name: "missing", Path: filepath.Join(dir, "nope.log")}})
	cfg.Follow = false
	res, err := tailer.Run(context.Background(), cfg, cl.dialer(), rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Failed != 1 || res.Streams != 2 {
		t.Errorf("result %+v, want 1 of 2 failed", res)
	}
	equal(t, "ok", rec.get(key("h1", "ok")), []string{"one", "two", "last without newline"})
	if ev := rec.eventText(); !strings.Contains(ev, "nope.log: no such file") {
		t.Errorf("events %q lack the missing file", ev)
	}
}

func TestUnreachableCVMFailsOnceOthersGoOn(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	writeFile(t, p, "hello\n")
	cl := cluster{"up": local(t)}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "up", Address: "up"}, {Name: "down", Address: "down"}},
		[]tailer.File{{Name: "x", Path: p}, {Name: "y", Path: p + ".y"}})
	cfg.Follow = false
	writeFile(t, p+".y", "y\n")
	res, err := tailer.Run(context.Background(), cfg, cl.dialer(), rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Failed != 2 {
		t.Errorf("failed %d, want the 2 streams of the unreachable CVM", res.Failed)
	}
	// One report for the CVM, not one per file.
	if n := strings.Count(rec.eventText(), "no route to host"); n != 1 {
		t.Errorf("unreachable reported %d times:\n%s", n, rec.eventText())
	}
	equal(t, "up x", rec.get(key("up", "x")), []string{"hello"})
}

func TestHugeLineIsNeverSplit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.log")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	content := append(append([]byte("before\n"), big...), []byte("\nafter\n")...)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	cl := cluster{"h": local(t)}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "big", Path: p}})
	cfg.Follow = false
	if _, err := tailer.Run(context.Background(), cfg, cl.dialer(), rec); err != nil {
		t.Fatal(err)
	}
	got := rec.get(key("h", "big"))
	if len(got) != 3 || got[0] != "before" || got[1] != string(big) || got[2] != "after" {
		t.Fatalf("got %d lines (lengths %v); events:\n%s", len(got), lens(got), rec.eventText())
	}
}

func lens(s []string) []int {
	var out []int
	for _, x := range s {
		out = append(out, len(x))
	}
	return out
}

func TestRotationTruncationAndLateFile(t *testing.T) {
	eachPython(t, testRotationTruncationAndLateFile)
}

func testRotationTruncationAndLateFile(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	p := filepath.Join(dir, "svc.out")
	link := filepath.Join(dir, "svc.INFO")
	late := filepath.Join(dir, "late.out")
	writeFile(t, p, "a1\n")
	writeFile(t, filepath.Join(dir, "svc.log.1"), "g1\n")
	if err := os.Symlink("svc.log.1", link); err != nil {
		t.Fatal(err)
	}
	cl := cluster{"h": &tailertest.Local{Env: py.Env}}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}},
		[]tailer.File{{Name: "out", Path: p}, {Name: "info", Path: link}, {Name: "late", Path: late}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _, _ = tailer.Run(ctx, cfg, cl.dialer(), rec); close(done) }()

	waitFor(t, "backlogs", 5*time.Second, func() bool {
		return len(rec.get(key("h", "out"))) == 1 && len(rec.get(key("h", "info"))) == 1
	})
	// Rename rotation: the rest of the old file, then the new one.
	appendFile(t, p, "a2\n")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p+".1", "a3\n")
	writeFile(t, p, "b1\n")
	waitFor(t, "renamed file", 5*time.Second, func() bool { return len(rec.get(key("h", "out"))) >= 4 })
	// Copy-truncate.
	time.Sleep(50 * time.Millisecond)
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	appendFile(t, p, "c1\n")
	waitFor(t, "truncated file", 5*time.Second, func() bool { return len(rec.get(key("h", "out"))) >= 5 })
	// glog-style symlink switch.
	appendFile(t, filepath.Join(dir, "svc.log.1"), "g2\n")
	writeFile(t, filepath.Join(dir, "svc.log.2"), "h1\n")
	if err := os.Symlink("svc.log.2", link+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".tmp", link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "symlink switch", 5*time.Second, func() bool { return len(rec.get(key("h", "info"))) >= 3 })
	// A file that appears later is read from its start.
	writeFile(t, late, "l1\nl2\n")
	waitFor(t, "late file", 5*time.Second, func() bool { return len(rec.get(key("h", "late"))) >= 2 })
	cancel()
	<-done
	equal(t, "out", rec.get(key("h", "out")), []string{"a1", "a2", "a3", "b1", "c1"})
	equal(t, "info", rec.get(key("h", "info")), []string{"g1", "g2", "h1"})
	equal(t, "late", rec.get(key("h", "late")), []string{"l1", "l2"})
	ev := rec.eventText()
	for _, w := range []string{"rotated", "truncated"} {
		if !strings.Contains(ev, w) {
			t.Errorf("no %q notice in events:\n%s", w, ev)
		}
	}
}

func TestReconnectResumesWithoutLossOrRepeat(t *testing.T) {
	eachPython(t, testReconnectResumesWithoutLossOrRepeat)
}

func testReconnectResumesWithoutLossOrRepeat(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.out")
	writeFile(t, p, numbered("x", 1, 100))
	l := &tailertest.Local{Env: py.Env}
	cl := cluster{"h": l}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "x", Path: p}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _, _ = tailer.Run(ctx, cfg, cl.dialer(), rec); close(done) }()
	waitFor(t, "backlog", 5*time.Second, func() bool { return len(rec.get(key("h", "x"))) == 10 })
	appendFile(t, p, numbered("x", 101, 150))
	waitFor(t, "appended", 5*time.Second, func() bool { return len(rec.get(key("h", "x"))) == 60 })

	l.Drop()
	appendFile(t, p, numbered("x", 151, 200)+"x 201 partial")
	time.Sleep(300 * time.Millisecond) // a few refused reconnects
	l.Up()
	appendFile(t, p, " done\n")
	waitFor(t, "resumed", 10*time.Second, func() bool { return len(rec.get(key("h", "x"))) >= 111 })
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	w := append(want("x", 91, 200), "x 201 partial done")
	equal(t, "after reconnect", rec.get(key("h", "x")), w)
	ev := rec.eventText()
	if strings.Count(ev, fmt.Sprintf("%d h ", tailer.EventConnLost)) != 1 || strings.Count(ev, fmt.Sprintf("%d h ", tailer.EventReconnected)) != 1 {
		t.Errorf("want one lost and one reconnected event, got:\n%s", ev)
	}
}

// oldCVMEnv emulates a CentOS 7 CVM: no python, and a tail whose output goes through
// another process, so neither notices the channel closing until the next write.
func oldCVMEnv(t *testing.T) []string {
	bin := t.TempDir()
	for _, tool := range []string{"cat", "stat", "sh"} {
		path, err := lookPath(tool)
		if err != nil {
			t.Skip(err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	realTail, err := lookPath("tail")
	if err != nil {
		t.Skip(err)
	}
	writeFile(t, filepath.Join(bin, "tail"), "#!/bin/sh\n"+realTail+" \"$@\" | cat\n")
	if err := os.Chmod(filepath.Join(bin, "tail"), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + bin}
}

func lookPath(tool string) (string, error) {
	for _, d := range []string{"/usr/bin", "/bin"} {
		if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
			return filepath.Join(d, tool), nil
		}
	}
	return "", fmt.Errorf("%s not found", tool)
}

func TestOldCVMFallbackDeliversBacklogAndFollows(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.out")
	writeFile(t, p, numbered("x", 1, 30))
	l := &tailertest.Local{Env: oldCVMEnv(t)}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "x", Path: p}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _, _ = tailer.Run(ctx, cfg, cluster{"h": l}.dialer(), rec); close(done) }()
	waitFor(t, "backlog", 5*time.Second, func() bool { return len(rec.get(key("h", "x"))) == 10 })
	appendFile(t, p, numbered("x", 31, 35))
	waitFor(t, "follow", 5*time.Second, func() bool { return len(rec.get(key("h", "x"))) == 15 })
	cancel()
	<-done
	equal(t, "fallback", rec.get(key("h", "x")), want("x", 21, 35))
}

func TestConcurrentWritersNothingSplitOrMislabelled(t *testing.T) {
	const cvms, files, perFile = 4, 3, 3000
	cl := cluster{}
	var targets []tailer.Target
	var paths []string
	var fs []tailer.File
	dir := t.TempDir()
	for c := 0; c < cvms; c++ {
		addr := fmt.Sprintf("c%d", c)
		cl[addr] = local(t)
		targets = append(targets, tailer.Target{Name: addr, Address: addr})
	}
	for f := 0; f < files; f++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d.out", f))
		writeFile(t, p, "")
		paths = append(paths, p)
		fs = append(fs, tailer.File{Name: fmt.Sprintf("f%d", f), Path: p})
	}
	rec := newRecorder()
	cfg := baseConfig(rec, targets, fs)
	cfg.Window = 16 << 10 // exercise flow control
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _, _ = tailer.Run(ctx, cfg, cl.dialer(), rec); close(done) }()
	// Make sure every agent has its file open before the writers start: the marker comes
	// either in the backlog or as a new line, once.
	for _, p := range paths {
		appendFile(t, p, "start\n")
	}
	for _, tg := range targets {
		for f := range paths {
			k := key(tg.Name, fmt.Sprintf("f%d", f))
			waitFor(t, "start of "+k, 10*time.Second, func() bool { return len(rec.get(k)) == 1 })
		}
	}

	var wg sync.WaitGroup
	for f, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer fh.Close()
			for i := 1; i <= perFile; i++ {
				// Lines of varied length, written in pieces, as a busy service would.
				line := fmt.Sprintf("f%d %d %s", f, i, strings.Repeat("z", (i*37)%700))
				half := len(line) / 2
				_, _ = fh.WriteString(line[:half])
				_, _ = fh.WriteString(line[half:] + "\n")
			}
		}()
	}
	wg.Wait()
	for _, tg := range targets {
		for f := range paths {
			k := key(tg.Name, fmt.Sprintf("f%d", f))
			waitFor(t, k, 20*time.Second, func() bool { return len(rec.get(k)) >= perFile+1 })
		}
	}
	cancel()
	<-done
	for _, tg := range targets {
		for f := range paths {
			got := rec.get(key(tg.Name, fmt.Sprintf("f%d", f)))[1:]
			for i, line := range got {
				wantLine := fmt.Sprintf("f%d %d %s", f, i+1, strings.Repeat("z", ((i+1)*37)%700))
				if line != wantLine {
					t.Fatalf("%s f%d line %d = %.60q, want %.60q", tg.Name, f, i+1, line, wantLine)
				}
			}
		}
	}
	if len(rec.bad) > 0 {
		t.Errorf("bad chunks: %v", rec.bad[:1])
	}
}

// TestNamesAreOnlyNames: spaces, quotes, shell syntax, newlines and non-ASCII in a path are
// characters of that path, in the command line and in the agent's inotify watches (a
// rotation a while after the start, once the watch is set up, is noticed by name).
func TestNamesAreOnlyNames(t *testing.T) { eachPython(t, testNamesAreOnlyNames) }

func testNamesAreOnlyNames(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	names := []string{
		`we ird 'q' "d" ;touch pwned; $(touch pwned2) ` + "`touch pwned3`" + ` & | > x`,
		"ünïcödé ログ.out",
		"tab\tand\nnewline.out",
	}
	var files []tailer.File
	for i, n := range names {
		p := filepath.Join(dir, n)
		writeFile(t, p, fmt.Sprintf("first %d\n", i))
		files = append(files, tailer.File{Name: fmt.Sprint("f", i), Path: p})
	}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, files)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		_, _ = tailer.Run(ctx, cfg, cluster{"h": &tailertest.Local{Env: py.Env}}.dialer(), rec)
		close(done)
	}()
	for i := range names {
		k := key("h", fmt.Sprint("f", i))
		waitFor(t, "backlog of "+k, 10*time.Second, func() bool { return len(rec.get(k)) == 1 })
	}
	time.Sleep(1500 * time.Millisecond) // past the agent's start: inotify is watching now
	for i, n := range names {
		p := filepath.Join(dir, n)
		appendFile(t, p, fmt.Sprintf("last %d\n", i))
		if err := os.Rename(p, p+".1"); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, fmt.Sprintf("new %d\n", i))
	}
	for i := range names {
		k := key("h", fmt.Sprint("f", i))
		waitFor(t, "rotation of "+k, 10*time.Second, func() bool { return len(rec.get(k)) == 3 })
		equal(t, k, rec.get(k), []string{fmt.Sprint("first ", i), fmt.Sprint("last ", i), fmt.Sprint("new ", i)})
	}
	cancel()
	<-done
	for _, p := range []string{"pwned", "pwned2", "pwned3"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a shell ran part of a path: %s exists", p)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a shell ran part of a path: %s exists", p)
		}
	}
}

func TestDownAtStartIsRetriedLikeADrop(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.out")
	writeFile(t, p, numbered("x", 1, 30))
	up, down := local(t), local(t)
	writeFile(t, p+".up", "up 1\n")
	down.Drop() // refuses connections from the start, as a CVM whose sshd is stopped
	cl := cluster{"up": up, "down": down}
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "up", Address: "up"}, {Name: "down", Address: "down"}},
		[]tailer.File{{Name: "x", Path: p}})
	cfg.RetryUnreached = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan tailer.Result)
	go func() { res, _ := tailer.Run(ctx, cfg, cl.dialer(), rec); done <- res }()
	waitFor(t, "the CVM up", 5*time.Second, func() bool { return len(rec.get(key("up", "x"))) == 10 })
	waitFor(t, "retries", 5*time.Second, func() bool { return down.Dials() >= 3 })
	ev := rec.eventText()
	if n := strings.Count(ev, fmt.Sprintf("%d down ", tailer.EventUnreachable)); n != 1 {
		t.Errorf("want one unreachable event while retrying, got:\n%s", ev)
	}
	if strings.Contains(ev, fmt.Sprintf("%d down ", tailer.EventFailed)) {
		t.Errorf("the CVM down at start failed for good:\n%s", ev)
	}
	appendFile(t, p, numbered("x", 31, 35))
	down.Up()
	// Reached: its file starts with the usual backlog (-n 10), then follows.
	waitFor(t, "the backlog once reached", 10*time.Second, func() bool { return len(rec.get(key("down", "x"))) == 10 })
	appendFile(t, p, numbered("x", 36, 40))
	waitFor(t, "new lines", 10*time.Second, func() bool { return len(rec.get(key("down", "x"))) == 15 })
	cancel()
	res := <-done
	equal(t, "down at start", rec.get(key("down", "x")), want("x", 26, 40))
	ev = rec.eventText()
	if strings.Count(ev, fmt.Sprintf("%d down ", tailer.EventUnreachable)) != 1 || strings.Count(ev, fmt.Sprintf("%d down ", tailer.EventReached)) != 1 {
		t.Errorf("want one unreachable and one reached event, got:\n%s", ev)
	}
	if res.Failed != 0 {
		t.Errorf("%d streams failed, want none", res.Failed)
	}
}

func TestDownAtStartFailsForGoodWhenRetryingCannotHelp(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.out")
	writeFile(t, p, "x\n")
	for _, tc := range []struct {
		name      string
		follow    bool
		retry     bool
		permanent bool
	}{
		{"not following", false, true, false},
		{"following without RetryUnreached (--duration)", true, false, false},
		{"a refusal retrying cannot fix", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			down := local(t)
			down.Drop()
			rec := newRecorder()
			cfg := baseConfig(rec, []tailer.Target{{Name: "down", Address: "down"}}, []tailer.File{{Name: "x", Path: p}})
			cfg.Follow, cfg.RetryUnreached = tc.follow, tc.retry
			cfg.Retryable = func(error) bool { return !tc.permanent }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := tailer.Run(ctx, cfg, cluster{"down": down}.dialer(), rec)
			if ctx.Err() != nil {
				t.Fatalf("still retrying after 10 s (%d dials)", down.Dials())
			}
			if err == nil || res.Failed != 1 || down.Dials() != 1 {
				t.Errorf("err %v, %d failed, %d dials; want every stream failed after one dial", err, res.Failed, down.Dials())
			}
			if n := strings.Count(rec.eventText(), fmt.Sprintf("%d down ", tailer.EventFailed)); n != 1 {
				t.Errorf("want one failure, got:\n%s", rec.eventText())
			}
		})
	}
}

func TestStopWhileRetryingADownCVMIsQuick(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.out")
	writeFile(t, p, "x\n")
	down := local(t)
	down.Drop()
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "down", Address: "down"}}, []tailer.File{{Name: "x", Path: p}})
	cfg.RetryUnreached = true
	cfg.BackoffMin, cfg.BackoffMax = 30*time.Second, 30*time.Second // a stop must not wait it out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _, _ = tailer.Run(ctx, cfg, cluster{"down": down}.dialer(), rec); close(done) }()
	waitFor(t, "the unreachable event", 5*time.Second, func() bool {
		return strings.Contains(rec.eventText(), fmt.Sprintf("%d down ", tailer.EventUnreachable))
	})
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run still retrying 2 s after the stop")
	}
}

func TestEngineAddsRemovesAndMovesCVMsWhileFollowing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.out")
	writeFile(t, p, numbered("x", 1, 20))
	moving := local(t) // one CVM, reached at b-old, then at b-new
	cl := cluster{"a": local(t), "b-old": moving, "b-new": moving, "c": local(t)}
	var mu sync.Mutex
	dials := map[string]int{}
	dialer := tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		mu.Lock()
		dials[addr]++
		mu.Unlock()
		return cl.dialer().Dial(ctx, addr)
	})
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "a", Address: "a"}, {Name: "b", Address: "b-old"}}, []tailer.File{{Name: "x", Path: p}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := tailer.Start(ctx, cfg, dialer, rec)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backlogs", 5*time.Second, func() bool {
		return len(rec.get(key("a", "x"))) == 10 && len(rec.get(key("b", "x"))) == 10
	})

	// A CVM that appears starts with its backlog.
	if err := e.Add(tailer.Target{Name: "c", Address: "c"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(tailer.Target{Name: "c", Address: "c"}); err == nil {
		t.Error("a CVM added twice")
	}
	waitFor(t, "the new CVM's backlog", 5*time.Second, func() bool { return len(rec.get(key("c", "x"))) == 10 })

	// A CVM that vanishes is stopped; the others go on.
	if !e.Remove("a") || e.Remove("a") {
		t.Error("Remove: want true, then false")
	}
	waitFor(t, "the vanished CVM's connection closed", 5*time.Second, func() bool { return cl["a"].Conns() == 1 && connsClosed(cl["a"]) })
	appendFile(t, p, numbered("x", 21, 25))
	waitFor(t, "lines after the removal", 5*time.Second, func() bool {
		return len(rec.get(key("b", "x"))) == 15 && len(rec.get(key("c", "x"))) == 15
	})

	// A CVM whose address changed is reached there, resuming its file.
	if err := e.Update(tailer.Target{Name: "b", Address: "b-new"}); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, numbered("x", 26, 30))
	waitFor(t, "lines from the new address", 10*time.Second, func() bool { return len(rec.get(key("b", "x"))) == 20 })
	appendFile(t, p, numbered("x", 31, 31)) // a repeated or late line would come before it
	waitFor(t, "the marker", 5*time.Second, func() bool {
		return len(rec.get(key("b", "x"))) >= 21 && len(rec.get(key("c", "x"))) >= 21
	})
	cancel()
	res, _ := e.Wait()
	equal(t, "vanished CVM", rec.get(key("a", "x")), want("x", 11, 20))
	equal(t, "moved CVM", rec.get(key("b", "x")), want("x", 11, 31))
	equal(t, "new CVM", rec.get(key("c", "x")), want("x", 11, 31))
	rec.mu.Lock()
	if got := rec.addr[key("b", "x")]; got != "b-new" {
		t.Errorf("the moved CVM's lines carry address %q, want b-new", got)
	}
	rec.mu.Unlock()
	mu.Lock()
	if dials["b-new"] != 1 {
		t.Errorf("dials %v, want one to the new address", dials)
	}
	mu.Unlock()
	ev := rec.eventText()
	if strings.Contains(ev, fmt.Sprintf("%d b ", tailer.EventConnLost)) || strings.Count(ev, fmt.Sprintf("%d b ", tailer.EventReconnected)) != 1 {
		t.Errorf("want one reconnected event for the moved CVM and no lost one:\n%s", ev)
	}
	if res.Failed != 0 || res.Streams != 3 {
		t.Errorf("result %+v, want 3 streams, none failed", res)
	}
	if err := e.Add(tailer.Target{Name: "d", Address: "d"}); err != tailer.ErrEnded {
		t.Errorf("Add after the end: %v, want ErrEnded", err)
	}
}

// connsClosed tells whether every connection to l has been closed.
func connsClosed(l *tailertest.Local) bool { return l.OpenConns() == 0 }
