package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/filter"
	"github.com/cvmtail/cvmtail/internal/logtime"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
)

// received is when the tests' lines arrive.
var received = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func matchers(t testing.TB, exprs ...string) []*filter.Matcher {
	t.Helper()
	var ms []*filter.Matcher
	for _, e := range exprs {
		m, err := filter.Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// start builds a pipeline writing to the returned buffer, which is complete once the
// pipeline is closed.
func start(t *testing.T, cfg Config) (*Pipeline, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	cfg.Out = &out
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, &out
}

func closeOK(t *testing.T, p *Pipeline) {
	t.Helper()
	if stdoutErr, captureErr := p.Close(); stdoutErr != nil || captureErr != nil {
		t.Fatalf("close: stdout %v, capture %v", stdoutErr, captureErr)
	}
}

func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

func TestFiltersBeforeOutputAndCapture(t *testing.T) {
	dir := t.TempDir()
	p, out := start(t, Config{
		Render:     output.Options{Format: output.Text},
		Filter:     filter.Config{Level: logtime.Error, Exclude: matchers(t, "continuation")},
		CaptureDir: filepath.Join(dir, "cap"),
	})
	data := lines(
		"I1122 10:00:00.000000 1 a.cc:1] heartbeat ok",
		"E1122 10:00:01.000000 1 a.cc:2] op 17 failed",
		"  continuation of op 17",
		"W1122 10:00:02.000000 1 a.cc:3] heartbeat slow",
		"F1122 10:00:03.000000 1 a.cc:4] Check failed",
	)
	info := &tailer.StreamInfo{CVM: "c1", Address: "c1", Log: "stargate.INFO", Path: "/logs/stargate.INFO", Ident: "1:2", EndOffset: int64(len(data))}
	if err := p.Lines(info, data, received); err != nil {
		t.Fatal(err)
	}
	closeOK(t, p)
	want := "E1122 10:00:01.000000 1 a.cc:2] op 17 failed\nF1122 10:00:03.000000 1 a.cc:4] Check failed\n"
	if got := out.String(); got != "c1 stargate.INFO "+strings.ReplaceAll(strings.TrimSuffix(want, "\n"), "\n", "\nc1 stargate.INFO ")+"\n" {
		t.Errorf("stdout %q", got)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "cap", "c1", "stargate.INFO.log"))
	if string(got) != want {
		t.Errorf("capture %q, want %q", got, want)
	}
}

func TestLogTimeInEveryFormat(t *testing.T) {
	const path = "/logs/genesis.out"
	data := lines("2026-11-22 09:59:58,250Z INFO genesis.py:1 up", "Traceback (most recent call last):")
	for format, want := range map[output.Format]string{
		output.Text: "2026-11-22T09:59:58.250Z c1 genesis.out 2026-11-22 09:59:58,250Z INFO genesis.py:1 up\n" +
			"- c1 genesis.out Traceback (most recent call last):\n",
		output.Raw: "2026-11-22T10:00:00.000Z 2026-11-22T09:59:58.250Z 2026-11-22 09:59:58,250Z INFO genesis.py:1 up\n" +
			"2026-11-22T10:00:00.000Z - Traceback (most recent call last):\n",
		output.JSON: `{"time":"2026-11-22T10:00:00.000Z","log_time":"2026-11-22T09:59:58.250Z","cvm":"c1","address":"c1","log":"genesis.out","path":"` + path + `","file":"` + path + `","line":"2026-11-22 09:59:58,250Z INFO genesis.py:1 up"}` + "\n" +
			`{"time":"2026-11-22T10:00:00.000Z","cvm":"c1","address":"c1","log":"genesis.out","path":"` + path + `","file":"` + path + `","line":"Traceback (most recent call last):"}` + "\n",
	} {
		t.Run(string(format), func(t *testing.T) {
			p, out := start(t, Config{
				Render: output.Options{Format: format, LogTime: true, Timestamps: format == output.Raw},
				Filter: filter.Config{Times: true},
			})
			if err := p.Lines(&tailer.StreamInfo{CVM: "c1", Address: "c1", Log: "genesis.out", Path: path}, data, received); err != nil {
				t.Fatal(err)
			}
			closeOK(t, p)
			if out.String() != want {
				t.Errorf("stdout\n got %q\nwant %q", out.String(), want)
			}
		})
	}
}

func TestTemplateAndHighlight(t *testing.T) {
	info := &tailer.StreamInfo{CVM: "c1", Address: "c1", Log: "acropolis.out", Path: "/logs/acropolis.out"}
	data := lines("2026-11-22 09:59:58,250Z ERROR vm 42 failed", "plain \x1b line")
	// cvmcolor gives the CVM the colour the run assigned it, as the text prefix does.
	colors := map[string]string{"c1": "38;5;29;1"}
	tpl, err := output.NewTemplate(`{{cvmcolor .cvm}} {{upper .log}} [{{.log_time}}] {{color "red" .line}}`, true, output.WithCVMColors(colors))
	if err != nil {
		t.Fatal(err)
	}
	p, out := start(t, Config{
		Render: output.Options{Format: output.Text, Color: true, Template: tpl, CVMColors: colors},
		Filter: filter.Config{Times: true},
	})
	if err := p.Lines(info, data, received); err != nil {
		t.Fatal(err)
	}
	closeOK(t, p)
	cc := "\x1b[38;5;29;1m"
	ccOff := "\x1b[0m"
	want := cc + "c1" + ccOff + " ACROPOLIS.OUT [2026-11-22T09:59:58.250Z] \x1b[31m2026-11-22 09:59:58,250Z ERROR vm 42 failed\x1b[0m\n" +
		cc + "c1" + ccOff + " ACROPOLIS.OUT [] \x1b[31mplain \x1b line\x1b[0m\n"
	if out.String() != want {
		t.Errorf("template\n got %q\nwant %q", out.String(), want)
	}

	// --grep's matches are highlighted with --highlight's.
	grep := matchers(t, "vm")
	p, out = start(t, Config{
		Render: output.Options{Format: output.Text, Color: true, Highlight: []*regexp.Regexp{grep[0].Regexp(), regexp.MustCompile(`\d+`)}},
		Filter: filter.Config{Grep: grep},
	})
	if err := p.Lines(info, data, received); err != nil {
		t.Fatal(err)
	}
	closeOK(t, p)
	if !strings.Contains(out.String(), "ERROR \x1b[1;31mvm\x1b[0m \x1b[1;31m42\x1b[0m failed\n") || strings.Contains(out.String(), "plain") {
		t.Errorf("highlight %q", out.String())
	}
}

func TestMergeWindowOrdersAcrossStreams(t *testing.T) {
	var want []string
	// One event seen by three services: c logged first, then a, then b, each with a
	// traceback that must stay with its record.
	order := []string{"c", "a", "b", "c", "a"}
	byStream := map[string][]string{}
	for i, c := range order {
		l := fmt.Sprintf("2026-11-22 09:59:%02d,000Z ERROR step %d on %s", 10+i, i, c)
		byStream[c] = append(byStream[c], l, fmt.Sprintf("  traceback of step %d", i))
		want = append(want, "c1 "+c+".out "+l, fmt.Sprintf("c1 %s.out   traceback of step %d", c, i))
	}
	// Closing flushes what the window holds: a long window costs nothing here.
	p, out := start(t, Config{
		Render:      output.Options{Format: output.Text},
		Filter:      filter.Config{Times: true},
		MergeWindow: 10 * time.Second,
	})
	// Each stream's lines arrive at once, a's first: arrival order is not the events' order.
	for _, c := range []string{"a", "b", "c"} {
		info := &tailer.StreamInfo{CVM: "c1", Address: "c1", Log: c + ".out", Path: "/logs/" + c + ".out"}
		if err := p.Lines(info, lines(byStream[c]...), received); err != nil {
			t.Fatal(err)
		}
	}
	closeOK(t, p)
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("merged\n got %q\nwant %q", got, want)
	}
}

// A stream is known by its names: the engine may hand its lines with another *StreamInfo
// (a reconnect), and a record's continuation must still follow its record.
func TestStreamStateOutlivesItsStreamInfo(t *testing.T) {
	p, out := start(t, Config{
		Render: output.Options{Format: output.Raw},
		Filter: filter.Config{Level: logtime.Error},
	})
	name := func() *tailer.StreamInfo {
		return &tailer.StreamInfo{CVM: "c1", Address: "c1", Log: "stargate.INFO", Path: "/logs/stargate.INFO"}
	}
	for _, data := range []string{"E1122 10:00:01.000000 1 a.cc:2] op failed\n", "  its continuation\n", "I1122 10:00:02.000000 1 a.cc:3] ok\n", "  not this one\n"} {
		if err := p.Lines(name(), []byte(data), received); err != nil {
			t.Fatal(err)
		}
	}
	closeOK(t, p)
	if want := "E1122 10:00:01.000000 1 a.cc:2] op failed\n  its continuation\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
}

// A capture that cannot be written stops the run and says why: it must never lose lines
// silently.
func TestCaptureWriteErrorStopsTheStream(t *testing.T) {
	dir := t.TempDir()
	// The capture file's name is taken by a directory.
	if err := os.MkdirAll(filepath.Join(dir, "c1", "svc.out.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, out := start(t, Config{Render: output.Options{Format: output.Text}, CaptureDir: dir})
	err := p.Lines(&tailer.StreamInfo{CVM: "c1", Address: "c1", Log: "svc.out", Path: "/logs/svc.out"}, lines("one"), received)
	if !errors.Is(err, tailer.ErrSinkClosed) {
		t.Errorf("Lines: %v, want an error that stops the streams (tailer.ErrSinkClosed)", err)
	}
	stdoutErr, captureErr := p.Close()
	if stdoutErr != nil || captureErr == nil || !strings.Contains(captureErr.Error(), "svc.out.log") {
		t.Errorf("close: stdout %v, capture %v; want the capture's error naming its file", stdoutErr, captureErr)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q: a line that was not captured was shown", out.String())
	}
}

func TestCaptureDirThatCannotBeUsed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Out: &bytes.Buffer{}, CaptureDir: filepath.Join(file, "dir")}); err == nil {
		t.Error("New succeeded with a capture directory under a file")
	}
}

// follow runs the engine over a local fake CVM into a pipeline, as cvmtail tail
// --no-follow does, and returns stdout.
func follow(t *testing.T, cfg Config, path string) string {
	t.Helper()
	p, out := start(t, cfg)
	res, err := tailer.Run(context.Background(), tailer.Config{
		Targets: []tailer.Target{{Name: "c1", Address: "c1"}},
		Files:   []tailer.File{{Name: filepath.Base(path), Path: path}},
		Lines:   10,
		Now:     func() time.Time { return received },
		Resume:  p.Resume(),
	}, (&tailertest.Local{}).Dialer(), p)
	if err != nil || res.Failed > 0 {
		t.Fatalf("run: %v (%d of %d streams failed)", err, res.Failed, res.Streams)
	}
	closeOK(t, p)
	return out.String()
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestCaptureResumesWithoutRepeating(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "svc.out")
	appendTo(t, p, "1\n2\n3\n")
	capDir := filepath.Join(dir, "capture")
	if out := follow(t, Config{Render: output.Options{Format: output.None}, CaptureDir: capDir}, p); out != "" {
		t.Errorf("format none wrote %q", out)
	}
	appendTo(t, p, "4\n5\n")
	if out := follow(t, Config{Render: output.Options{Format: output.Text}, CaptureDir: capDir}, p); out != "c1 svc.out 4\nc1 svc.out 5\n" {
		t.Errorf("second run printed %q, want only the new lines", out)
	}
	got, _ := os.ReadFile(filepath.Join(capDir, "c1", "svc.out.log"))
	if string(got) != "1\n2\n3\n4\n5\n" {
		t.Errorf("capture %q", got)
	}
}

// A filtered capture stopped between writing lines and recording their position must not
// turn the size of what it kept into a remote offset: that would skip lines.
func TestFilteredCaptureNeverResumesBySize(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "svc.out")
	appendTo(t, p, "keep 1\ndrop 2\nkeep 3\n")
	capDir := filepath.Join(dir, "capture")
	cfg := Config{Render: output.Options{Format: output.None}, Filter: filter.Config{Grep: matchers(t, "keep")}, CaptureDir: capDir}
	follow(t, cfg, p)
	capFile := filepath.Join(capDir, "c1", "svc.out.log")
	// As if the last run died after writing a line but before recording its position.
	appendTo(t, capFile, "keep x\n")
	appendTo(t, p, "keep 4\n")
	follow(t, cfg, p)
	got, _ := os.ReadFile(capFile)
	if !strings.HasSuffix(string(got), "keep 4\n") {
		t.Errorf("capture %q: the new line was skipped", got)
	}
}

// Benchmark the first steps on realistic stargate lines: the baseline renders without
// filters; the others add grep and exclude (literal and regexp), level and log times.
func BenchmarkLines(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 1000; i++ {
		sev := "IIIIIIIWEI"[i%10]
		fmt.Fprintf(&buf, "%c1122 10:%02d:%02d.%06d %5d vdisk_controller.cc:%d] vdisk_id=%d operation_id=%d Completed read of %d bytes at offset %d\n",
			sev, i/60%60, i%60, i*997%1000000, 12000+i%37, 100+i%900, 4000+i%13, 900000+i, 4096*(1+i%16), int64(i)*8192)
		if i%50 == 0 {
			buf.WriteString("    @     0x7f0c1b2c3d4e  google::LogMessage::Fail()\n")
		}
	}
	data := buf.Bytes()
	for _, bc := range []struct {
		name   string
		filter filter.Config
	}{
		{"baseline", filter.Config{}},
		{"grep-literal", filter.Config{Grep: matchers(b, "vdisk_id=4007")}},
		{"grep-regexp", filter.Config{Grep: matchers(b, `vdisk_id=40(07|11) `), Exclude: matchers(b, `offset \d+0 `)}},
		{"grep3-exclude2", filter.Config{Grep: matchers(b, "Completed", "failed", "timeout"), Exclude: matchers(b, "heartbeat", "vdisk_id=4001 ")}},
		{"level", filter.Config{Level: logtime.Warning}},
		{"log-time", filter.Config{Times: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Rendered into a buffer, not through the writer: what the stream's goroutine does.
			p := &Pipeline{render: output.Options{Format: output.Text, LogTime: bc.filter.Times}, streams: map[streamKey]*stream{}}
			if bc.filter.Active() {
				p.filter = &bc.filter
			}
			info := &tailer.StreamInfo{CVM: "NTNX-A-CVM", Address: "10.1.1.11", Log: "stargate", Path: "/home/nutanix/data/logs/stargate.INFO"}
			dst := make([]byte, 0, 1<<20)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st := p.stream(info)
				kept, times := data, []time.Time(nil)
				if st.filter != nil {
					kept, times = st.filter.Apply(data, received)
				}
				if times == nil {
					dst = st.renderer.Append(dst[:0], kept, received)
				} else {
					dst = st.renderer.AppendLines(dst[:0], kept, received, times)
				}
			}
		})
	}
}

// With --since, lines of a rotated file say so in "file" (and .file); "path" stays the
// followed name, whatever the order of the files.
func TestJSONNamesTheRotatedFile(t *testing.T) {
	tpl, err := output.NewTemplate("{{.path}} {{.file}} {{.line}}", false)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]output.Options{"json": {Format: output.JSON}, "template": {Template: tpl}} {
		t.Run(name, func(t *testing.T) {
			p, out := start(t, Config{Render: opts})
			info := &tailer.StreamInfo{CVM: "c1", Address: "c1", Log: "genesis", Path: "/logs/genesis.out"}
			for _, file := range []string{"/logs/genesis.out.20261201-010000.xz", "/logs/genesis.out.20261201-020000", "/logs/genesis.out"} {
				info.File = file
				if err := p.Lines(info, lines("from "+file), received); err != nil {
					t.Fatal(err)
				}
			}
			closeOK(t, p)
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if name == "template" {
					got = append(got, l)
					continue
				}
				var m map[string]string
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				got = append(got, m["path"]+" "+m["file"]+" "+m["line"])
			}
			want := []string{
				"/logs/genesis.out /logs/genesis.out.20261201-010000.xz from /logs/genesis.out.20261201-010000.xz",
				"/logs/genesis.out /logs/genesis.out.20261201-020000 from /logs/genesis.out.20261201-020000",
				"/logs/genesis.out /logs/genesis.out from /logs/genesis.out",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}

// Without a capture every stream waits only for stdout, so the engine may hand a CVM's
// streams over from one goroutine; a capture may hold up one stream alone (another run's
// lock, its own file), so its streams keep a goroutine each.
func TestSharedBackpressureOnlyWithoutCapture(t *testing.T) {
	p, _ := start(t, Config{Render: output.Options{Format: output.Text}})
	if !p.SharedBackpressure() {
		t.Error("without a capture: not shared")
	}
	closeOK(t, p)
	p, _ = start(t, Config{Render: output.Options{Format: output.Text}, CaptureDir: filepath.Join(t.TempDir(), "cap")})
	if p.SharedBackpressure() {
		t.Error("with a capture: shared")
	}
	closeOK(t, p)
	var _ tailer.SharedSink = p
}

// A CVM that joins a running follow (--refresh-interval adds a node) is painted in a
// colour no other CVM has, not its name's hash, which may be another CVM's.
func TestAJoiningCVMGetsAColourOfItsOwn(t *testing.T) {
	palette := []string{"31", "32", "33", "34"}
	p, out := start(t, Config{Render: output.Options{Format: output.Text, Color: true,
		CVMColors: output.AssignColors([]string{"c1", "c2", "c3"}, palette), Palette: palette}})
	for _, cvm := range []string{"c1", "c2", "c3", "joined"} {
		info := &tailer.StreamInfo{CVM: cvm, Address: cvm, Log: "genesis.out", Path: "/logs/genesis.out"}
		if err := p.Lines(info, []byte("a line\n"), received); err != nil {
			t.Fatal(err)
		}
	}
	closeOK(t, p)
	for cvm, sgr := range map[string]string{"c1": "31", "c2": "32", "c3": "33", "joined": "34"} {
		if want := "\x1b[" + sgr + "m" + cvm + "\x1b[0m"; !strings.Contains(out.String(), want) {
			t.Errorf("%s is not painted %s:\n%q", cvm, sgr, out.String())
		}
	}
}
