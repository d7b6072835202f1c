package tail

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/config"
	"github.com/cvmtail/cvmtail/internal/units"
)

// tailKeys are the keys of a config context that set tail's flags (README, "Contexts").
var tailKeys = []string{"lines", "color", "grep", "exclude", "highlight", "ignore-case", "level", "timestamps",
	"log-time", "output", "output-dir", "lock-timeout", "cvm-timezone", "template", "merge-window", "cvm-colors", "quiet",
	"refresh-interval"}

// Keys are the flags' names: each of tail's context keys is a flag of tail, and not one of
// the CVM and SSH flags, which cmdutil applies itself.
func TestContextKeysAreTailFlags(t *testing.T) {
	var keys []string
	ct := reflect.TypeFor[config.Context]()
	for i := range ct.NumField() {
		if ct.Field(i).Tag.Get("cmd") == "tail" {
			keys = append(keys, ct.Field(i).Tag.Get("yaml"))
		}
	}
	if !reflect.DeepEqual(keys, tailKeys) {
		t.Errorf("tail's context keys %q, want %q (and the README's list)", keys, tailKeys)
	}
	f, _, _ := testFactory()
	cmd := NewCmdTail(f, nil)
	for _, k := range keys {
		if cmd.Flags().Lookup(k) == nil || slices.Contains(cmdutil.CVMFlagNames(), k) {
			t.Errorf("context key %q is not one of tail's own flags", k)
		}
	}
}

// parseWithConfig parses tail's args with a config file whose default context is ctx.
func parseWithConfig(t *testing.T, ctx string, args ...string) (*Options, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("default: c\ncontexts:\n  c:\n"+ctx), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, _ := testFactory()
	f.Getenv = func(k string) string {
		if k == "CVMTAIL_CONFIG" {
			return path
		}
		return ""
	}
	var got *Options
	cmd := NewCmdTail(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(cmdutil.FlagError)
	err := cmd.Execute()
	return got, err
}

func TestContextSetsTailFlags(t *testing.T) {
	ctx := `    cvm: 10.0.0.1
    lines: all
    color: never
    grep: ['a{1,3}', ERROR]
    exclude: heartbeat
    ignore-case: true
    level: W
    timestamps: true
    output: json
    output-dir: ~/capture
    lock-timeout: 1d
    cvm-timezone: Asia/Tokyo
    merge-window: 2s
    cvm-colors: '32,38;5;208'
    quiet: true
    refresh-interval: 1m
`
	o, err := parseWithConfig(t, ctx, "genesis")
	if err != nil {
		t.Fatal(err)
	}
	r := o.Reading
	if o.Lines != units.AllLines || o.Color != "never" || !o.Timestamps || o.Output != "json" ||
		o.OutputDir != filepath.Join("/nonexistent", "capture") || o.LockTimeout != 24*time.Hour ||
		!slices.Equal(o.cvmPalette, []string{"32", "38;5;208"}) || !o.Quiet || o.RefreshInterval != time.Minute {
		t.Errorf("options %+v", o)
	}
	if !reflect.DeepEqual(r.Grep, []string{"a{1,3}", "ERROR"}) || !reflect.DeepEqual(r.Exclude, []string{"heartbeat"}) ||
		!r.IgnoreCase || r.Level != "W" || r.CVMTimezone != "Asia/Tokyo" || r.MergeWindow != 2*time.Second {
		t.Errorf("reading options %+v", r)
	}
	if !r.filter.Grep[1].Match([]byte("error")) {
		t.Error("the context's ignore-case does not apply to its grep")
	}

	// The command line wins, key by key; a repeatable flag replaces the context's list.
	o, err = parseWithConfig(t, ctx, "genesis", "-n", "5", "--grep", "X", "-o", "text", "--cvm-timezone", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if o.Lines != 5 || !reflect.DeepEqual(o.Reading.Grep, []string{"X"}) || o.Output != "text" || o.Reading.CVMTimezone != "UTC" || o.Color != "never" {
		t.Errorf("command line over context: %+v %+v", o, o.Reading)
	}

	// A context's -o json yields to a --template typed for this run, and the reverse.
	if o, err := parseWithConfig(t, ctx, "genesis", "--template", "{{.line}}"); err != nil || o.Output != "text" {
		t.Errorf("context output json, --template given: %v, -o %v", err, o)
	}
	if o, err := parseWithConfig(t, "    cvm: x\n    template: '{{.line}}'\n", "genesis", "-o", "json"); err != nil || o.Reading.Template != "" {
		t.Errorf("context template, -o json given: %v, %+v", err, o)
	}
	// Both in the file: the contradiction is the file's, and said.
	if _, err := parseWithConfig(t, "    cvm: x\n    output: json\n    template: '{{.line}}'\n", "genesis"); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Errorf("output json and template in one context: %v", err)
	}
	// A context's value is checked as the flag's would be.
	_, err = parseWithConfig(t, "    cvm: x\n    grep: 'a('\n", "genesis")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), `invalid --grep "a("`) {
		t.Errorf("bad grep in the context: %v", err)
	}
}
