package tail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/targets"
)

func testFactory() (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{
		IOStreams: ios,
		Now:       func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) },
		Getenv:    func(string) string { return "" },
		HomeDir:   func() (string, error) { return "/nonexistent", nil },
	}
	return f, out, errOut
}

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	f, _, _ := testFactory()
	var got *Options
	cmd := NewCmdTail(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	cmd.SetFlagErrorFunc(cmdutil.FlagError) // as the root command does
	err := cmd.Execute()
	return got, err
}

// -n all (and tail's +1) reach the engine as the whole file: tailer.Config.Lines -1, which
// the agent reads as "from the start" and the tail -F fallback as -n +1.
func TestWholeFileBacklog(t *testing.T) {
	for _, arg := range []string{"all", "+1", "ALL"} {
		o, err := parse(t, "genesis", "--cvm", "x", "-n", arg)
		if err != nil {
			t.Fatalf("-n %s: %v", arg, err)
		}
		if cfg := o.engineConfig(nil, nil); cfg.Lines != -1 {
			t.Errorf("-n %s: engine Lines %d, want -1 (the whole file)", arg, cfg.Lines)
		}
	}
	o, err := parse(t, "genesis", "--cvm", "x", "--since", "1d", "--duration", "2w")
	if err != nil {
		t.Fatal(err)
	}
	if o.Reading.Since != 24*time.Hour || o.Duration != 14*24*time.Hour {
		t.Errorf("--since 1d --duration 2w: %v, %v", o.Reading.Since, o.Duration)
	}
}

func TestFlagParsing(t *testing.T) {
	o, err := parse(t, "genesis", "stargate*", "/tmp/my log;$(x)", "--cvm", "10.0.0.1,10.0.0.2", "--cvm", "10.0.0.3",
		"-n", "0", "--duration", "15m", "-o", "json", "--color", "never", "--timestamps", "--ssh-user", "u", "-i", "k1", "-i", "k2")
	if err != nil {
		t.Fatal(err)
	}
	if o.Lines != 0 || o.Duration != 15*time.Minute || o.Output != "json" || o.Color != "never" || !o.Timestamps {
		t.Errorf("options %+v", o)
	}
	if strings.Join(o.Targets.CVMs, " ") != "10.0.0.1 10.0.0.2 10.0.0.3" {
		t.Errorf("cvms %q", o.Targets.CVMs)
	}
	if len(o.SSH.Identities) != 2 || o.SSH.User != "u" {
		t.Errorf("ssh %+v", o.SSH)
	}
	var names, paths []string
	for _, l := range o.Logs {
		names = append(names, l.Name)
		paths = append(paths, l.Path)
	}
	if names[0] != "genesis" || names[1] != "stargate" || names[len(names)-1] != "my log;$(x)" {
		t.Errorf("names %q", names)
	}
	if paths[len(paths)-1] != "/tmp/my log;$(x)" {
		t.Errorf("path %q", paths[len(paths)-1])
	}
	if o2, _ := parse(t, "genesis", "--cvm", "x"); o2.Lines != 10 || o2.Output != "text" || o2.Color != "auto" || o2.NoFollow {
		t.Errorf("defaults %+v", o2)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "name at least one LOG"},
		{[]string{"genesys", "--cvm", "x"}, `unknown log "genesys"`},
		{[]string{"genesis", "-n", "-1"}, "invalid --lines"},
		{[]string{"genesis", "-o", "xml"}, "invalid --output"},
		{[]string{"genesis", "-o", "none"}, "-o none needs --output-dir"},
		{[]string{"genesis", "--color", "sometimes"}, "invalid --color"},
		{[]string{"genesis", "--host-key-check", "maybe"}, "invalid --host-key-check"},
		{[]string{"genesis", "--duration", "-5s"}, "invalid --duration"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parse(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
				t.Errorf("exit status %d, want 2", code)
			}
		})
	}
	_, err := parse(t, "genesys", "--cvm", "x")
	if h := cmdutil.HintOf(err); !strings.Contains(h, "genesis") {
		t.Errorf("hint %q does not suggest genesis", h)
	}
}

func TestNoCVMIsAUsageError(t *testing.T) {
	f, _, _ := testFactory()
	cmd := NewCmdTail(f, nil)
	cmd.SetArgs([]string{"genesis"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "no CVM selected") {
		t.Fatalf("err = %v (status %d)", err, cmdutil.ExitCode(err))
	}
}

// run executes tailRun against fake CVMs, one per address.
func run(t *testing.T, o *Options, cvms map[string]*tailertest.Local) error {
	t.Helper()
	o.Dial = tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		l, ok := cvms[addr]
		if !ok {
			return nil, errors.New(addr + ": connect to " + addr + ":22: connection refused")
		}
		return l.Dialer().Dial(ctx, addr)
	})
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	return tailRun(context.Background(), o)
}

func newOptions(f *cmdutil.Factory, logs []string, cvms ...string) *Options {
	return &Options{IO: f.IOStreams, Factory: f, Args: logs, Targets: targets.Options{TargetOptions: cmdutil.TargetOptions{CVMs: cvms}},
		Lines: 10, NoFollow: true, Output: "text", Color: "auto"}
}

func TestRunTextOutputAndPartialFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "svc.out")
	if err := os.WriteFile(p, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, errOut := testFactory()
	o := newOptions(f, []string{p}, "cvm-a", "cvm-down")
	err := run(t, o, map[string]*tailertest.Local{"cvm-a": {}})
	if got := out.String(); got != "cvm-a svc.out one\ncvm-a svc.out two\n" {
		t.Errorf("stdout %q", got)
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Errorf("err %v: status %d, want 1", err, cmdutil.ExitCode(err))
	}
	if !strings.Contains(errOut.String(), "cvmtail: cvm-down: connect to cvm-down:22: connection refused") {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestRunEveryCVMFailedIsStatus3(t *testing.T) {
	f, out, errOut := testFactory()
	o := newOptions(f, []string{"/x"}, "a", "b")
	err := run(t, o, nil)
	if cmdutil.ExitCode(err) != cmdutil.ExitNothingDone {
		t.Errorf("status %d, want 3 (err %v)", cmdutil.ExitCode(err), err)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out.String())
	}
	if strings.Count(errOut.String(), "connection refused") != 2 {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestRunJSONAndMissingFileMessage(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.out")
	if err := os.WriteFile(p, []byte("bad \xff line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, errOut := testFactory()
	o := newOptions(f, []string{p, filepath.Join(dir, "missing.out")}, "c1")
	o.Output = "json"
	err := run(t, o, map[string]*tailertest.Local{"c1": {}})
	want := `{"time":"2026-11-22T10:00:00.000Z","cvm":"c1","address":"c1","log":"a.out","path":"` + p + `","file":"` + p + `","line":"bad \ufffd line"}` + "\n"
	if out.String() != want {
		t.Errorf("stdout\n got %q\nwant %q", out.String(), want)
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Errorf("status %d", cmdutil.ExitCode(err))
	}
	if !strings.Contains(errOut.String(), "cvmtail: c1: missing.out: "+filepath.Join(dir, "missing.out")+": no such file") {
		t.Errorf("stderr %q", errOut.String())
	}
}

func TestRunDurationEndsWithStatus0(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.out")
	if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, _ := testFactory()
	o := newOptions(f, []string{p}, "c1")
	o.NoFollow = false
	// Long enough for the agent to start and deliver the backlog under -race on a loaded
	// 2-core machine (seen taking over 3 s at a load average of 11); the run must end at
	// D, and its clean stop within the margin.
	const d, margin = 5 * time.Second, 4 * time.Second
	o.Duration = d
	start := time.Now()
	err := run(t, o, map[string]*tailertest.Local{"c1": {}})
	if err != nil {
		t.Errorf("err %v", err)
	}
	if ran := time.Since(start); ran < d || ran > d+margin {
		t.Errorf("ran %v for --duration %v", ran, d)
	}
	if out.String() != "c1 a.out x\n" {
		t.Errorf("stdout %q", out.String())
	}
}

func TestRunOutputDirResumesWithoutRepeating(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "svc.out")
	if err := os.WriteFile(p, []byte("1\n2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	capDir := filepath.Join(dir, "capture")
	cvms := map[string]*tailertest.Local{"c1": {}}
	f, out, _ := testFactory()
	o := newOptions(f, []string{p}, "c1")
	o.OutputDir, o.Output = capDir, "none"
	if err := run(t, o, cvms); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("-o none wrote %q to stdout", out.String())
	}
	f2, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.WriteString("4\n5\n"); err != nil {
		t.Fatal(err)
	}
	f2.Close()
	f, out, _ = testFactory()
	o = newOptions(f, []string{p}, "c1")
	o.OutputDir = capDir
	if err := run(t, o, cvms); err != nil {
		t.Fatal(err)
	}
	if out.String() != "c1 svc.out 4\nc1 svc.out 5\n" {
		t.Errorf("second run printed %q, want only the new lines", out.String())
	}
	got, _ := os.ReadFile(capturePath(capDir, "c1", p))
	if string(got) != "1\n2\n3\n4\n5\n" {
		t.Errorf("capture %q", got)
	}
}

// capturePath is where --output-dir keeps a log given by its path p.
func capturePath(capDir, cvm, p string) string {
	return filepath.Join(capDir, cvm, "paths", p+".log")
}

// -f/--follow is tail's habit: accepted, and the default anyway; with --no-follow it is a
// contradiction, not a silent choice.
func TestFollowFlag(t *testing.T) {
	for _, args := range [][]string{{"-f"}, {"--follow"}} {
		o, err := parse(t, append([]string{"genesis", "--cvm", "x"}, args...)...)
		if err != nil || o.NoFollow {
			t.Errorf("%v: %v, NoFollow %v; want following", args, err, o != nil && o.NoFollow)
		}
	}
	_, err := parse(t, "genesis", "--cvm", "x", "-f", "--no-follow")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--no-follow") {
		t.Errorf("-f --no-follow: %v, want a usage error", err)
	}
	if o, err := parse(t, "genesis", "--cvm", "x", "--follow=false"); err != nil || !o.NoFollow {
		t.Errorf("--follow=false: %v, want --no-follow", err)
	}
}
