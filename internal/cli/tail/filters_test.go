package tail

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/logtime"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/targets"
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
	for _, tc := range []struct {
		args []string
		want time.Time
	}{
		{[]string{"--since-time", "2026-11-22 08:00:00", "--until", "2026-11-22 08:30:00"}, time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)},
		{[]string{"--until", "2026-11-22T09:30:00+01:00"}, time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)},
		{[]string{"--since", "2h", "--until", "1h"}, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)},
	} {
		o, err := parse(t, append([]string{"genesis", "--cvm", "x", "--no-follow"}, tc.args...)...)
		if err != nil || !o.Reading.untilAt.Equal(tc.want) {
			t.Errorf("%q: until %v (err %v), want %v", tc.args, o.Reading.untilAt, err, tc.want)
			continue
		}
		if ec := o.engineConfig(nil, newReporter(&stderrLog{w: &bytes.Buffer{}}, false)); !ec.Until.Equal(tc.want) || !ec.Since.Equal(o.Reading.sinceAt) {
			t.Errorf("%q: engine until %v since %v", tc.args, ec.Until, ec.Since)
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

// --ignore-case applies to every --grep, --exclude and --highlight, as (?i) does to one.
func TestIgnoreCase(t *testing.T) {
	o, err := parse(t, "genesis", "--cvm", "x", "--grep", "error", "--exclude", "heartbeat", "--highlight", "vdisk", "--ignore-case")
	if err != nil {
		t.Fatal(err)
	}
	r := o.Reading
	if !r.filter.Grep[0].Match([]byte("E1122 ERROR in op")) || !r.filter.Exclude[0].Match([]byte("HeartBeat ok")) {
		t.Error("--ignore-case: --grep error or --exclude heartbeat does not match in another case")
	}
	if len(r.highlight) != 2 || !r.highlight[1].MatchString("VDisk 12") {
		t.Errorf("--ignore-case: --highlight vdisk does not match VDisk (%v)", r.highlight)
	}
	o, _ = parse(t, "genesis", "--cvm", "x", "--grep", "error")
	if o.Reading.filter.Grep[0].Match([]byte("ERROR")) {
		t.Error("without --ignore-case, --grep error matches ERROR")
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
		{[]string{"--until", "soon"}, `invalid --until "soon"`},
		{[]string{"--since", "1h", "--until", "2h"}, "is not after --since"},
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

// The output and reading flags reach the pipeline and the engine as plain values; what
// the pipeline does with them is internal/pipeline's to test.
func TestFlagsBecomePipelineAndEngineConfig(t *testing.T) {
	dir := t.TempDir()
	o, err := parse(t, "genesis", "--cvm", "x", "-o", "json", "--color", "always", "--timestamps", "--log-time",
		"--grep", "a", "--exclude", "b", "--highlight", "c", "--level", "E", "--merge-window", "2s",
		"--output-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.pipelineConfig(context.Background(), &stderrLog{w: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Render
	if cfg.Out != o.IO.Out || r.Format != output.JSON || !r.Color || r.Escape || !r.Timestamps || !r.LogTime || len(r.Highlight) != 2 || r.Template != nil {
		t.Errorf("render options %+v", r)
	}
	o, err = parse(t, "genesis", "--cvm", "x", "--template", "{{.line}}")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := o.pipelineConfig(context.Background(), &stderrLog{w: io.Discard}); err != nil || cfg.Render.Template == nil {
		t.Errorf("--template: %v, template %v", err, cfg.Render.Template)
	}
	if f := cfg.Filter; len(f.Grep) != 1 || len(f.Exclude) != 1 || f.Level != logtime.Error || !f.Times {
		t.Errorf("filter %+v", f)
	}
	if cfg.MergeWindow != 2*time.Second || cfg.CaptureDir != dir {
		t.Errorf("merge window %v, capture dir %q", cfg.MergeWindow, cfg.CaptureDir)
	}

	o, err = parse(t, "genesis", "stargate.INFO", "--cvm", "x", "-n", "0", "--no-follow", "--since", "15m", "--cvm-timezone", "Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	ec := o.engineConfig([]targets.Target{{Name: "cvm-a", Address: "10.0.0.1"}}, newReporter(&stderrLog{w: &bytes.Buffer{}}, false))
	if ec.Lines != 0 || ec.Follow || len(ec.Files) != 2 || ec.Files[1].Name != "stargate.INFO" || len(ec.Targets) != 1 || ec.Targets[0].Address != "10.0.0.1" {
		t.Errorf("engine config %+v", ec)
	}
	if want := time.Date(2026, 11, 22, 9, 45, 0, 0, time.UTC); !ec.Since.Equal(want) || ec.SyslogZone.String() != "Asia/Tokyo" {
		t.Errorf("since %v in %v, want %v in Asia/Tokyo", ec.Since, ec.SyslogZone, want)
	}
	if cfg, _ := o.pipelineConfig(context.Background(), &stderrLog{w: io.Discard}); cfg.Render.Format != output.Text || cfg.Filter.Active() || cfg.CaptureDir != "" {
		t.Errorf("defaults: %+v", cfg)
	}
}
