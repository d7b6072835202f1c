package tailer_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// writeLog writes n records, one a second from start, each followed by a continuation line
// every 5th record, formatted by stamp.
func writeLog(t *testing.T, path string, start time.Time, n int, stamp func(time.Time, int) string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "%s record %d\n", stamp(start.Add(time.Duration(i)*time.Second), i), i)
		if i%5 == 0 {
			fmt.Fprintf(w, "  continuation of %d\n", i)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSinceStartsAtTheFirstLineAtOrAfter(t *testing.T) {
	eachPython(t, testSinceStartsAtTheFirstLineAtOrAfter)
}

func testSinceStartsAtTheFirstLineAtOrAfter(t *testing.T, py pythons.Python) {
	// Yearless formats (glog, syslog) are placed by the CVM's clock: write recent lines.
	start := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour)
	tokyo := time.FixedZone("JST", 9*3600)
	formats := map[string]func(time.Time, int) string{
		"glog": func(ts time.Time, i int) string {
			return ts.Format("I0102 15:04:05.000000") + fmt.Sprintf(" %d stargate.cc:%d]", 1000+i%7, i%900)
		},
		"glog8":  func(ts time.Time, _ int) string { return ts.Format("W20060102 15:04:05.000000") + " 12 a.cc:1]" },
		"python": func(ts time.Time, _ int) string { return ts.Format("2006-01-02 15:04:05,000Z") + " INFO genesis.py:1" },
		"syslog": func(ts time.Time, _ int) string { return ts.In(tokyo).Format("Jan _2 15:04:05") + " ntnx-cvm sshd[1]:" },
		"rfc3339": func(ts time.Time, _ int) string {
			return ts.Format("2006-01-02T15:04:05.000000+00:00") + " ntnx-cvm p:"
		},
	}
	const n = 100000 // about 6 MB per file: many halvings
	dir := t.TempDir()
	var files []tailer.File
	for name, f := range formats {
		p := filepath.Join(dir, name+".log")
		writeLog(t, p, start, n, f)
		files = append(files, tailer.File{Name: name, Path: p})
	}
	froms := []int{0, 1, 4242, 77777, n - 1}
	if py.Name != "system" {
		froms = []int{0, 77777} // the same search; fewer runs
	}
	for _, from := range froms {
		t.Run(fmt.Sprint(from), func(t *testing.T) {
			rec := newRecorder()
			cfg := baseConfig(rec, []tailer.Target{{Name: "c", Address: "c"}}, files)
			cfg.Follow = false
			cfg.Since = start.Add(time.Duration(from)*time.Second - 300*time.Millisecond)
			cfg.SyslogZone = tokyo
			if _, err := tailer.Run(context.Background(), cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec); err != nil {
				t.Fatal(err)
			}
			for name := range formats {
				got := rec.get(key("c", name))
				wantLines := (n - from) + (n-1)/5 - (from-1)/5
				if from == 0 {
					wantLines = n + (n+4)/5
				}
				if len(got) == 0 || len(got) != wantLines {
					t.Errorf("%s: %d lines, want %d (first %q)", name, len(got), wantLines, clip(got))
					continue
				}
				if wantFirst := fmt.Sprintf("record %d", from); len(got[0]) < len(wantFirst) || got[0][len(got[0])-len(wantFirst):] != wantFirst {
					t.Errorf("%s: first line %q, want record %d", name, got[0], from)
				}
			}
		})
	}
}

func TestSinceAfterTheLastLineStartsAtTheEnd(t *testing.T) {
	eachPython(t, testSinceAfterTheLastLineStartsAtTheEnd)
}

func testSinceAfterTheLastLineStartsAtTheEnd(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	writeLog(t, p, start, 1000, func(ts time.Time, _ int) string { return ts.Format("2006-01-02 15:04:05,000Z") + " INFO" })
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "c", Address: "c"}}, []tailer.File{{Name: "a", Path: p}})
	cfg.Since = start.Add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_, _ = tailer.Run(ctx, cfg, cluster{"c": &tailertest.Local{Env: py.Env}}.dialer(), rec)
		close(done)
	}()
	time.Sleep(300 * time.Millisecond)
	appendFile(t, p, "2026-11-21 01:00:01,000Z INFO new\n")
	waitFor(t, "the new line", 5*time.Second, func() bool { return len(rec.get(key("c", "a"))) >= 1 })
	cancel()
	<-done
	equal(t, "lines", rec.get(key("c", "a")), []string{"2026-11-21 01:00:01,000Z INFO new"})
}

func TestSinceOnACVMWithoutPythonFallsBackToLines(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.out")
	writeFile(t, p, numbered("x", 1, 30))
	writeFile(t, p+".20261201-010000", numbered("old", 1, 30))
	writeFile(t, filepath.Join(dir, "y.out"), numbered("y", 1, 30))
	rec := newRecorder()
	cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "x", Path: p}, {Name: "y", Path: filepath.Join(dir, "y.out")}})
	cfg.Follow, cfg.Lines = false, 3
	cfg.Since = time.Now().Add(-time.Hour)
	if _, err := tailer.Run(context.Background(), cfg, cluster{"h": &tailertest.Local{Env: oldCVMEnv(t)}}.dialer(), rec); err != nil {
		t.Fatal(err)
	}
	equal(t, "fallback", rec.get(key("h", "x")), want("x", 28, 30))
	equal(t, "fallback", rec.get(key("h", "y")), want("y", 28, 30))
	// Said once for the CVM, not once per file.
	if ev := rec.eventText(); strings.Count(ev, "no python on the CVM: --since cannot read the files' rotated history nor search them; showing the last 3 lines of each file instead") != 1 {
		t.Errorf("events %q", ev)
	}
}
