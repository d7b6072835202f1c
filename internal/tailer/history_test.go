package tailer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// fileRecorder keeps each line with the file the engine says it came from.
type fileRecorder struct {
	mu    sync.Mutex
	lines []string // "<base name of File> <line>"
	ev    []string
}

func (r *fileRecorder) Lines(info *tailer.StreamInfo, data []byte, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l != "" {
			r.lines = append(r.lines, filepath.Base(info.File)+" "+strings.TrimSuffix(l, "\n"))
		}
	}
	return nil
}

func (r *fileRecorder) event(ev tailer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Err != nil && ev.Kind != tailer.EventReconnected && ev.Kind != tailer.EventConnLost {
		r.ev = append(r.ev, ev.Err.Error())
	}
}

func (r *fileRecorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *fileRecorder) events() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.ev, "\n")
}

// generation is one file of a history: records from..to-1, one a minute from base.
type generation struct {
	name     string // in the log directory; .gz and .xz are compressed
	from, to int
}

// writeHistory writes the generations, records stamped by stamp, each file's mtime at its
// last record (as a rotated file's is), and returns the lines in order, each with its file.
func writeHistory(t *testing.T, dir string, base time.Time, gens []generation, stamp func(time.Time) string) []string {
	t.Helper()
	var all []string
	for _, g := range gens {
		var b bytes.Buffer
		for i := g.from; i < g.to; i++ {
			line := fmt.Sprintf("%s record %d", stamp(base.Add(time.Duration(i)*time.Minute)), i)
			fmt.Fprintln(&b, line)
			all = append(all, g.name+" "+line)
			if i%3 == 0 {
				fmt.Fprintf(&b, "  continuation of %d\n", i)
				all = append(all, fmt.Sprintf("%s   continuation of %d", g.name, i))
			}
		}
		p := filepath.Join(dir, g.name)
		data := b.Bytes()
		switch {
		case strings.HasSuffix(g.name, ".gz"):
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, _ = w.Write(data)
			_ = w.Close()
			data = z.Bytes()
		case strings.HasSuffix(g.name, ".xz"):
			cmd := exec.Command("xz", "-c")
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("xz: %v", err)
			}
			data = out
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		last := base.Add(time.Duration(g.to-1) * time.Minute)
		if err := os.Chtimes(p, last, last); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

// from is the expected lines from record n on.
func from(all []string, n int) []string {
	for i, l := range all {
		if strings.HasSuffix(l, fmt.Sprintf(" record %d", n)) {
			return all[i:]
		}
	}
	return nil
}

// upTo is the expected lines before record n.
func upTo(all []string, n int) []string {
	for i, l := range all {
		if strings.HasSuffix(l, fmt.Sprintf(" record %d", n)) {
			return all[:i]
		}
	}
	return all
}

var isoStamp = func(ts time.Time) string { return ts.UTC().Format("2006-01-02 15:04:05,000Z") + " INFO genesis.py:1" }

func TestSinceReadsTheRotatedAndCompressedHistory(t *testing.T) {
	eachPython(t, testSinceReadsTheRotatedAndCompressedHistory)
}

func testSinceReadsTheRotatedAndCompressedHistory(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Hour)
	gens := []generation{
		{"genesis.out.20261130-010000Z.xz", 0, 120},
		{"genesis.out.20261130-030000.gz", 120, 240},
		{"genesis.out.20261130-050000", 240, 360},
		{"genesis.out", 360, 480},
	}
	all := writeHistory(t, dir, base, gens, isoStamp)
	// Not of this log, or not a generation: never read.
	writeFile(t, filepath.Join(dir, "genesis.outage"), isoStamp(base)+" not genesis\n")
	writeFile(t, filepath.Join(dir, "other.out.20261130-010000"), isoStamp(base)+" not genesis\n")
	path := filepath.Join(dir, "genesis.out")
	for _, start := range []int{0, 30, 130, 250, 400} {
		t.Run(fmt.Sprint(start), func(t *testing.T) {
			rec := &fileRecorder{}
			cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
				Files: []tailer.File{{Name: "genesis", Path: path}}, Events: rec.event,
				Since: base.Add(time.Duration(start)*time.Minute - 500*time.Millisecond)}
			if _, err := tailer.Run(context.Background(), cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec); err != nil {
				t.Fatal(err)
			}
			equal(t, "history", rec.get(), from(all, start))
			if start > 0 && rec.events() != "" {
				t.Errorf("events %q", rec.events())
			}
		})
	}
}

func TestSinceBeforeTheWholeHistorySaysWhereItStarts(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	all := writeHistory(t, dir, base, []generation{{"g.out.20261130-010000.gz", 0, 10}, {"g.out", 10, 20}}, isoStamp)
	rec := &fileRecorder{}
	cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
		Files: []tailer.File{{Name: "g", Path: filepath.Join(dir, "g.out")}}, Events: rec.event, Since: base.Add(-24 * time.Hour)}
	if _, err := tailer.Run(context.Background(), cfg, cluster{"c": local(t)}.dialer(), rec); err != nil {
		t.Fatal(err)
	}
	equal(t, "history", rec.get(), all)
	if ev := rec.events(); ev != "history starts at 2026-11-30T01:00:00Z" {
		t.Errorf("events %q, want the start once", ev)
	}
}

func TestUntilEndsEachStreamAcrossTheHistory(t *testing.T) {
	eachPython(t, testUntilEndsEachStreamAcrossTheHistory)
}

func testUntilEndsEachStreamAcrossTheHistory(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Hour)
	all := writeHistory(t, dir, base, []generation{
		{"g.out.20261130-010000.xz", 0, 100}, {"g.out.20261130-020000.gz", 100, 200},
		{"g.out.20261130-030000", 200, 300}, {"g.out", 300, 400}}, isoStamp)
	path := filepath.Join(dir, "g.out")
	for _, w := range []struct{ since, until int }{{10, 50}, {50, 150}, {150, 250}, {250, 350}, {320, 330}} {
		for _, follow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d-%d follow=%v", w.since, w.until, follow), func(t *testing.T) {
				rec := &fileRecorder{}
				cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}}, Follow: follow,
					Files: []tailer.File{{Name: "g", Path: path}}, Events: rec.event,
					Since: base.Add(time.Duration(w.since) * time.Minute), Until: base.Add(time.Duration(w.until) * time.Minute)}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if _, err := tailer.Run(ctx, cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec); err != nil {
					t.Fatal(err)
				}
				if ctx.Err() != nil {
					t.Fatal("the stream did not end at --until")
				}
				equal(t, "window", rec.get(), upTo(from(all, w.since), w.until))
			})
		}
	}
}

// Yearless times (glog's Lmmdd, syslog's "Jan  2") in files of the old year and the new.
func TestHistoryAcrossNewYear(t *testing.T) {
	eachPython(t, testHistoryAcrossNewYear)
}

func testHistoryAcrossNewYear(t *testing.T, py pythons.Python) {
	base := time.Date(2025, 12, 31, 22, 0, 0, 0, time.UTC)
	stamps := map[string]func(time.Time) string{
		"glog":   func(ts time.Time) string { return ts.Format("I0102 15:04:05.000000") + " 1234 stargate.cc:12]" },
		"syslog": func(ts time.Time) string { return ts.Format("Jan _2 15:04:05") + " ntnx-cvm sshd[1]:" },
	}
	for name, stamp := range stamps {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			all := writeHistory(t, dir, base, []generation{
				{"messages-20251231.xz", 0, 90}, {"messages-20260101.gz", 90, 150}, {"messages.1", 150, 210}, {"messages", 210, 240}}, stamp)
			rec := &fileRecorder{}
			cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
				Files: []tailer.File{{Name: "syslog", Path: filepath.Join(dir, "messages")}}, Events: rec.event,
				Since: base.Add(100 * time.Minute), Until: base.Add(160 * time.Minute)} // 23:40 to 00:40
			if _, err := tailer.Run(context.Background(), cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec); err != nil {
				t.Fatal(err)
			}
			equal(t, "new year", rec.get(), upTo(from(all, 100), 160))
		})
	}
}

// glog: stargate.INFO is a symlink to the live file; the older ones, some gzipped, sit next
// to it under the names of their start and pid.
func TestHistoryBehindAGlogSymlink(t *testing.T) {
	dir := t.TempDir()
	base, all, stamp := glogHistory(t, dir)
	writeHistory(t, dir, base, []generation{{"stargate.ntnx-18fm57500153-a-cvm.nutanix.log.WARNING.20261201-010000.1001", 0, 5}}, stamp)
	if err := os.Symlink(glogPrefix+"20261201-030000.1003", filepath.Join(dir, "stargate.INFO")); err != nil {
		t.Fatal(err)
	}
	rec := &fileRecorder{}
	cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
		Files: []tailer.File{{Name: "stargate.INFO", Path: filepath.Join(dir, "stargate.INFO")}}, Events: rec.event,
		Since: base.Add(20 * time.Minute)}
	if _, err := tailer.Run(context.Background(), cfg, cluster{"c": local(t)}.dialer(), rec); err != nil {
		t.Fatal(err)
	}
	got := rec.get()
	// The live file's lines are labelled with the followed name.
	wantLines := from(all, 20)
	for i, l := range wantLines {
		if strings.HasPrefix(l, glogPrefix+"20261201-030000.1003 ") {
			wantLines[i] = "stargate.INFO " + strings.TrimPrefix(l, glogPrefix+"20261201-030000.1003 ")
		}
	}
	equal(t, "glog history", got, wantLines)
}

// glogPrefix names stargate's INFO files; glogHistory writes three of them into dir,
// records 0-49 (gzipped), 50-99 and 100-149, started at 01:00, 02:00 and 03:00.
const glogPrefix = "stargate.ntnx-18fm57500153-a-cvm.nutanix.log.INFO."

func glogHistory(t *testing.T, dir string) (base time.Time, all []string, stamp func(time.Time) string) {
	t.Helper()
	base = time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour)
	stamp = func(ts time.Time) string { return ts.Format("I20060102 15:04:05.000000") + " 77 a.cc:1]" }
	all = writeHistory(t, dir, base, []generation{{glogPrefix + "20261201-010000.1001.gz", 0, 50},
		{glogPrefix + "20261201-020000.1002", 50, 100}, {glogPrefix + "20261201-030000.1003", 100, 150}}, stamp)
	return base, all, stamp
}

// A history file that cannot be read is said and skipped; the rest goes on.
func TestUnreadableHistoryFileIsSkipped(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour)
	all := writeHistory(t, dir, base, []generation{{"g.out.20261201-010000.gz", 0, 10}, {"g.out.20261201-020000.gz", 10, 20}, {"g.out", 20, 30}}, isoStamp)
	bad := filepath.Join(dir, "g.out.20261201-010000.gz")
	data, _ := os.ReadFile(bad)
	copy(data[len(data)/2:], bytes.Repeat([]byte{0xff}, 8)) // corrupt its middle
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	last := base.Add(9 * time.Minute)
	_ = os.Chtimes(bad, last, last)
	rec := &fileRecorder{}
	cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
		Files: []tailer.File{{Name: "g", Path: filepath.Join(dir, "g.out")}}, Events: rec.event, Since: base.Add(-time.Minute)}
	if _, err := tailer.Run(context.Background(), cfg, cluster{"c": local(t)}.dialer(), rec); err != nil {
		t.Fatal(err)
	}
	got := rec.get()
	equal(t, "after the bad file", got[len(got)-len(from(all, 10)):], from(all, 10))
	if ev := rec.events(); !strings.Contains(ev, "history file "+bad+": ") || !strings.Contains(ev, "skipped the rest") {
		t.Errorf("events %q", ev)
	}
}

// gateSink holds the stream after its first line until released, so that the test can
// rotate the file, or drop the connection, while the history is being read.
type gateSink struct {
	fileRecorder
	first   chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gateSink) Lines(info *tailer.StreamInfo, data []byte, rt time.Time) error {
	if err := g.fileRecorder.Lines(info, data, rt); err != nil {
		return err
	}
	g.once.Do(func() {
		close(g.first)
		<-g.release
	})
	return nil
}

// The followed file rotates (and the connection drops) while the history is read: every
// line from since on comes once, in order, across the hand-over to following.
func TestHistoryHandOverLosesAndRepeatsNothing(t *testing.T) {
	eachPython(t, testHistoryHandOverLosesAndRepeatsNothing)
}

func testHistoryHandOverLosesAndRepeatsNothing(t *testing.T, py pythons.Python) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			dir := t.TempDir()
			base := time.Now().UTC().Add(-30 * time.Hour).Truncate(time.Hour)
			all := writeHistory(t, dir, base, []generation{
				{"g.out.20261201-010000.xz", 0, 600}, {"g.out.20261201-020000.gz", 600, 1200},
				{"g.out.20261201-030000", 1200, 1500}, {"g.out", 1500, 1600}}, isoStamp)
			path := filepath.Join(dir, "g.out")
			cvm := &tailertest.Local{Env: py.Env}
			sink := &gateSink{first: make(chan struct{}), release: make(chan struct{})}
			cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}}, Follow: true, Window: 4096,
				Files: []tailer.File{{Name: "g", Path: path}}, Events: sink.event,
				BackoffMin: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
				Since: base.Add(100 * time.Minute)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = tailer.Run(ctx, cfg, cluster{"c": cvm}.dialer(), sink)
			}()
			defer func() { cancel(); <-done }()
			select {
			case <-sink.first:
			case <-time.After(15 * time.Second):
				t.Fatal("no first line")
			}
			// While the agent waits for credit in the oldest file: the followed file gets
			// more lines, is rotated away, and a new one starts.
			line := func(i int) string {
				return fmt.Sprintf("%s record %d", isoStamp(base.Add(time.Duration(i)*time.Minute)), i)
			}
			var more []string
			for i := 1600; i < 1610; i++ {
				appendFile(t, path, line(i)+"\n")
				more = append(more, "g.out "+line(i))
			}
			if err := os.Rename(path, filepath.Join(dir, "g.out.20261201-040000")); err != nil {
				t.Fatal(err)
			}
			for i := 1610; i < 1620; i++ {
				appendFile(t, path, line(i)+"\n")
				more = append(more, "g.out "+line(i))
			}
			if drop {
				cvm.Drop()
				cvm.Up()
			}
			close(sink.release)
			wantLines := append(from(all, 100), more...)
			waitFor(t, "every line", 30*time.Second, func() bool { return len(sink.get()) >= len(wantLines) })
			for i := 1620; i < 1625; i++ { // and following goes on
				appendFile(t, path, line(i)+"\n")
				wantLines = append(wantLines, "g.out "+line(i))
			}
			waitFor(t, "the new lines", 10*time.Second, func() bool { return len(sink.get()) >= len(wantLines) })
			time.Sleep(200 * time.Millisecond) // a repeat would come now
			got := sink.get()
			if drop {
				// Resumed after the rotation, the old file is found under its new name.
				for i := range got {
					got[i] = strings.Replace(got[i], "g.out.20261201-040000 ", "g.out ", 1)
				}
			}
			for i := range got {
				if i < len(wantLines) && got[i] != wantLines[i] {
					t.Errorf("line %d: %q, want %q", i, got[i], wantLines[i])
					break
				}
			}
			equal(t, "hand-over", got, wantLines)
		})
	}
}

// One glog file followed by its full name, not through the symlink: its history is the
// files of the same service and level that started before it, never the later ones. Under
// every Python the agent runs on.
func TestHistoryOfAGlogFileByItsFullName(t *testing.T) {
	eachPython(t, testHistoryOfAGlogFileByItsFullName)
}

func testHistoryOfAGlogFileByItsFullName(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	base, all, _ := glogHistory(t, dir)
	followed := glogPrefix + "20261201-020000.1002"
	rec := &fileRecorder{}
	cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
		Files: []tailer.File{{Name: followed, Path: filepath.Join(dir, followed)}}, Events: rec.event,
		Since: base.Add(20 * time.Minute)}
	if _, err := tailer.Run(context.Background(), cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec); err != nil {
		t.Fatal(err)
	}
	equal(t, "glog file by its full name", rec.get(), upTo(from(all, 20), 100))
}

// blockedRecorder holds its first Lines call until released: the agent, out of credit,
// waits with the history listed and its first file open.
type blockedRecorder struct {
	fileRecorder
	once             sync.Once
	started, release chan struct{}
}

func (r *blockedRecorder) Lines(info *tailer.StreamInfo, data []byte, at time.Time) error {
	r.once.Do(func() { close(r.started); <-r.release })
	return r.fileRecorder.Lines(info, data, at)
}

// Two logrotate rotations while the history is read: the names of the listing then hold
// other files (g.out.1 the file created by the first rotation, g.out.2 the followed one).
// Each listed generation is found again by its identity, so every line comes once and in
// order, none from a newer generation read as an older one. Under every Python.
func TestHistorySurvivesTwoRotationsWhileRead(t *testing.T) {
	eachPython(t, testHistorySurvivesTwoRotationsWhileRead)
}

func testHistorySurvivesTwoRotationsWhileRead(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	base := time.Now().UTC().Add(-50 * time.Hour).Truncate(time.Hour)
	all := writeHistory(t, dir, base, []generation{{"g.out.2", 0, 1000}, {"g.out.1", 1000, 2000}, {"g.out", 2000, 3000}}, isoStamp)
	rec := &blockedRecorder{started: make(chan struct{}), release: make(chan struct{})}
	cfg := tailer.Config{Targets: []tailer.Target{{Name: "c", Address: "c"}},
		Files: []tailer.File{{Name: "g.out", Path: filepath.Join(dir, "g.out")}}, Events: rec.event,
		Since: base, Window: 4096}
	done := make(chan error, 1)
	go func() {
		_, err := tailer.Run(context.Background(), cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec)
		done <- err
	}()
	select {
	case <-rec.started:
	case err := <-done:
		t.Fatalf("the run ended before its first lines: %v", err)
	}
	for r := range 2 {
		for _, mv := range [][2]string{{"g.out.3", "g.out.4"}, {"g.out.2", "g.out.3"}, {"g.out.1", "g.out.2"}, {"g.out", "g.out.1"}} {
			if err := os.Rename(filepath.Join(dir, mv[0]), filepath.Join(dir, mv[1])); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		writeHistory(t, dir, base, []generation{{"g.out", 3000 + 100*r, 3100 + 100*r}}, isoStamp)
	}
	close(rec.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	text := func(ls []string) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			_, out[i], _ = strings.Cut(l, " ")
		}
		return out
	}
	equal(t, "history across two rotations", text(rec.get()), text(upTo(all, 3000)))
}
