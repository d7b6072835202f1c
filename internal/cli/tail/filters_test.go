package tail

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/logtime"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
)

func TestReadingFlagParsing(t *testing.T) {
	o, err := parse(t, "genesis", "--cvm", "x", "--grep", "ERROR", "--grep", `op \d+`, "--exclude", "heartbeat",
		"--highlight", "vdisk", "--level", "warning", "--since", "15m", "--log-time", "--template", "{{.cvm}} {{.line}}",
		"--merge-window", "2s", "--cvm-timezone", "Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	r := o.Reading
	if len(r.filter.Grep) != 2 || len(r.filter.Exclude) != 1 || len(r.highlight) != 3 || r.filter.Level != logtime.Warning {
		t.Errorf("filters %+v", r)
	}
	if want := time.Date(2026, 11, 22, 9, 45, 0, 0, time.UTC); !r.sinceAt.Equal(want) {
		t.Errorf("since %v, want %v", r.sinceAt, want)
	}
	if !r.LogTime || r.MergeWindow != 2*time.Second || r.zone.String() != "Asia/Tokyo" || !r.filter.Times {
		t.Errorf("options %+v", r)
	}
	for in, want := range map[string]time.Time{
		"2026-11-22T08:00:00Z":      time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC),
		"2026-11-22T17:00:00+09:00": time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC),
		"2026-11-22 08:00:00":       time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC),
	} {
		o, err := parse(t, "genesis", "--cvm", "x", "--since-time", in)
		if err != nil || !o.Reading.sinceAt.Equal(want) {
			t.Errorf("--since-time %s: %v (err %v)", in, o.Reading.sinceAt, err)
		}
	}
	for _, lv := range []string{"W", "e", "F", "ERROR", "Fatal", "critical"} {
		if _, err := parse(t, "genesis", "--cvm", "x", "--level", lv); err != nil {
			t.Errorf("--level %s: %v", lv, err)
		}
	}
	if o, _ := parse(t, "genesis", "--cvm", "x"); o.Reading.filter.Active() || !o.Reading.sinceAt.IsZero() {
		t.Errorf("without reading flags the stage is active: %+v", o.Reading)
	}
}

func TestReadingUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--grep", "a(b"}, `invalid --grep "a(b": missing closing ): ` + "`a(b`"},
		{[]string{"--exclude", "x", "--exclude", "[z-a]"}, `invalid --exclude "[z-a]"`},
		{[]string{"--highlight", "*"}, `invalid --highlight "*"`},
		{[]string{"--level", "loud"}, `invalid --level "loud"`},
		{[]string{"--since", "-5m"}, "invalid --since"},
		{[]string{"--since", "5m", "--since-time", "2026-11-22T08:00:00Z"}, "cannot be used together"},
		{[]string{"--since-time", "yesterday"}, `invalid --since-time "yesterday"`},
		{[]string{"--cvm-timezone", "Mars/Olympus"}, `invalid --cvm-timezone "Mars/Olympus"`},
		{[]string{"--merge-window", "-1s"}, "invalid --merge-window"},
		{[]string{"--template", "{{.cvm"}, "invalid --template"},
		{[]string{"--template", "{{.nosuchfield}}"}, "invalid --template"},
		{[]string{"--template", "{{nosuchfunc .cvm}}"}, "invalid --template"},
		{[]string{"--template", `{{color "ultraviolet" .cvm}}`}, "unknown colour"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parse(t, append([]string{"genesis", "--cvm", "x"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
				t.Errorf("exit status %d, want 2", code)
			}
		})
	}
}

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunFiltersBeforeOutputAndCapture(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stargate.INFO")
	writeLines(t, p,
		"I1122 10:00:00.000000 1 a.cc:1] heartbeat ok",
		"E1122 10:00:01.000000 1 a.cc:2] op 17 failed",
		"  continuation of op 17",
		"W1122 10:00:02.000000 1 a.cc:3] heartbeat slow",
		"F1122 10:00:03.000000 1 a.cc:4] Check failed",
	)
	f, out, _ := testFactory()
	o := newOptions(f, []string{p}, "c1")
	o.Lines = 100
	o.OutputDir = filepath.Join(dir, "cap")
	o.Reading.Level = "E"
	o.Reading.Exclude = []string{"continuation"}
	if err := run(t, o, map[string]*tailertest.Local{"c1": {}}); err != nil {
		t.Fatal(err)
	}
	want := "E1122 10:00:01.000000 1 a.cc:2] op 17 failed\nF1122 10:00:03.000000 1 a.cc:4] Check failed\n"
	if got := out.String(); got != "c1 stargate.INFO "+strings.ReplaceAll(strings.TrimSuffix(want, "\n"), "\n", "\nc1 stargate.INFO ")+"\n" {
		t.Errorf("stdout %q", got)
	}
	got, _ := os.ReadFile(capturePath(filepath.Join(dir, "cap"), "c1", p))
	if string(got) != want {
		t.Errorf("capture %q, want %q", got, want)
	}
}

func TestRunLogTimeInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "genesis.out")
	writeLines(t, p, "2026-11-22 09:59:58,250Z INFO genesis.py:1 up", "Traceback (most recent call last):")
	for format, want := range map[string]string{
		"text": "2026-11-22T09:59:58.250Z c1 genesis.out 2026-11-22 09:59:58,250Z INFO genesis.py:1 up\n" +
			"- c1 genesis.out Traceback (most recent call last):\n",
		"raw": "2026-11-22T10:00:00.000Z 2026-11-22T09:59:58.250Z 2026-11-22 09:59:58,250Z INFO genesis.py:1 up\n" +
			"2026-11-22T10:00:00.000Z - Traceback (most recent call last):\n",
		"json": `{"time":"2026-11-22T10:00:00.000Z","log_time":"2026-11-22T09:59:58.250Z","cvm":"c1","address":"c1","log":"genesis.out","path":"` + p + `","line":"2026-11-22 09:59:58,250Z INFO genesis.py:1 up"}` + "\n" +
			`{"time":"2026-11-22T10:00:00.000Z","cvm":"c1","address":"c1","log":"genesis.out","path":"` + p + `","line":"Traceback (most recent call last):"}` + "\n",
	} {
		t.Run(format, func(t *testing.T) {
			f, out, _ := testFactory()
			o := newOptions(f, []string{p}, "c1")
			o.Output = format
			o.Reading.LogTime = true
			o.Timestamps = format == "raw"
			if err := run(t, o, map[string]*tailertest.Local{"c1": {}}); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("stdout\n got %q\nwant %q", out.String(), want)
			}
		})
	}
}

func TestRunTemplateAndHighlight(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "acropolis.out")
	writeLines(t, p, "2026-11-22 09:59:58,250Z ERROR vm 42 failed", "plain \x1b line")
	f, out, _ := testFactory()
	o := newOptions(f, []string{p}, "c1")
	o.Color = "always"
	o.Reading.Template = `{{cvmcolor .cvm}} {{upper .log}} [{{.log_time}}] {{color "red" .line}}`
	if err := run(t, o, map[string]*tailertest.Local{"c1": {}}); err != nil {
		t.Fatal(err)
	}
	cc := fmt.Sprintf("\x1b[%d;1m", output.CVMColor("c1"))
	ccOff := "\x1b[0;22m"
	want := cc + "c1" + ccOff + " ACROPOLIS.OUT [2026-11-22T09:59:58.250Z] \x1b[31m2026-11-22 09:59:58,250Z ERROR vm 42 failed\x1b[0m\n" +
		cc + "c1" + ccOff + " ACROPOLIS.OUT [] \x1b[31mplain \x1b line\x1b[0m\n"
	if out.String() != want {
		t.Errorf("template\n got %q\nwant %q", out.String(), want)
	}

	f, out, _ = testFactory()
	o = newOptions(f, []string{p}, "c1")
	o.Color = "always"
	o.Reading.Grep = []string{"vm"}
	o.Reading.Highlight = []string{`\d+`}
	if err := run(t, o, map[string]*tailertest.Local{"c1": {}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ERROR \x1b[1;31mvm\x1b[0m \x1b[1;31m42\x1b[0m failed\n") || strings.Contains(out.String(), "plain") {
		t.Errorf("highlight %q", out.String())
	}
}

func TestRunMergeWindowOrdersAcrossStreams(t *testing.T) {
	dir := t.TempDir()
	var want []string
	// One event seen by three services: c logged first, then a, then b, each with a
	// traceback that must stay with its record.
	order := []string{"c", "a", "b", "c", "a"}
	lines := map[string][]string{}
	for i, c := range order {
		l := fmt.Sprintf("2026-11-22 09:59:%02d,000Z ERROR step %d on %s", 10+i, i, c)
		lines[c] = append(lines[c], l, fmt.Sprintf("  traceback of step %d", i))
		want = append(want, "c1 "+c+".out "+l, fmt.Sprintf("c1 %s.out   traceback of step %d", c, i))
	}
	var paths []string
	for _, c := range []string{"a", "b", "c"} {
		paths = append(paths, filepath.Join(dir, c+".out"))
		writeLines(t, paths[len(paths)-1], lines[c]...)
	}
	f, out, _ := testFactory()
	o := newOptions(f, paths, "c1")
	o.Reading.MergeWindow = 10 * time.Second // --no-follow flushes at the end: a long window costs nothing
	if err := run(t, o, map[string]*tailertest.Local{"c1": {}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("merged\n got %q\nwant %q", got, want)
	}
}

func parseTB(tb testing.TB, args ...string) (*Options, error) {
	f, _, _ := testFactory()
	var got *Options
	cmd := NewCmdTail(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

// Benchmark the line stage on realistic stargate lines: the baseline renders without
// filters; the others add --grep/--exclude (literal and regexp) and --level.
func BenchmarkLineStage(b *testing.B) {
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
	received := time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"baseline", nil},
		{"grep-literal", []string{"--grep", "vdisk_id=4007"}},
		{"grep-regexp", []string{"--grep", `vdisk_id=40(07|11) `, "--exclude", `offset \d+0 `}},
		{"grep3-exclude2", []string{"--grep", "Completed", "--grep", "failed", "--grep", "timeout", "--exclude", "heartbeat", "--exclude", "vdisk_id=4001 "}},
		{"level", []string{"--level", "W"}},
		{"log-time", []string{"--log-time"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o, err := parseTB(b, append([]string{"stargate", "--cvm", "x"}, bc.args...)...)
			if err != nil {
				b.Fatal(err)
			}
			sk := &sink{opts: output.Options{Format: output.Text}, renderers: map[*tailer.StreamInfo]*output.Renderer{}}
			cfg := tailer.Config{}
			if err := o.Reading.setup(sk, &cfg); err != nil {
				b.Fatal(err)
			}
			info := &tailer.StreamInfo{CVM: "NTNX-A-CVM", Address: "10.1.1.11", Log: "stargate", Path: "/home/nutanix/data/logs/stargate.INFO"}
			dst := make([]byte, 0, 1<<20)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				kept, times := sk.filter(info, data, received)
				if times == nil {
					dst = sk.renderer(info).Append(dst[:0], kept, received)
				} else {
					dst = sk.renderer(info).AppendLines(dst[:0], kept, received, times)
				}
			}
		})
	}
}
