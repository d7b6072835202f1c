package tail

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/filter"
	"github.com/cvmtail/cvmtail/internal/logtime"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/units"
)

// ReadingOptions are the flags that choose, start and shape the lines: --grep, --exclude,
// --highlight, --level, --since, --since-time, --until, --cvm-timezone, --log-time, --template
// and --merge-window.
type ReadingOptions struct {
	Grep        []string
	Exclude     []string
	Highlight   []string
	IgnoreCase  bool // --grep, --exclude and --highlight ignore case, as (?i) does
	Level       string
	Since       time.Duration
	SinceTime   string
	Until       string
	CVMTimezone string
	LogTime     bool
	Template    string
	MergeWindow time.Duration

	// Resolved by validate.
	filter     filter.Config
	highlight  []*regexp.Regexp
	sinceAt    time.Time // zero: no --since
	untilAt    time.Time // zero: no --until
	zone       *time.Location
	levelValue logtime.Level
}

const sinceTimeLayout = "2006-01-02 15:04:05"

func addReadingFlags(cmd *cobra.Command, o *ReadingOptions) {
	fl := pflag.NewFlagSet("reading", pflag.ContinueOnError)
	fl.StringArrayVar(&o.Grep, "grep", nil, "keep only lines matching `RE` (Go RE2 syntax; repeatable: any of them; (?i)RE ignores case); matches are highlighted")
	fl.StringArrayVar(&o.Exclude, "exclude", nil, "drop lines matching `RE` (repeatable: any of them)")
	fl.StringArrayVar(&o.Highlight, "highlight", nil, "colour the matches of `RE` when colour is on (repeatable)")
	fl.BoolVar(&o.IgnoreCase, "ignore-case", false, "--grep, --exclude and --highlight ignore case (as (?i) at the start of one RE does for it alone; -i is --identity, as in ssh)")
	fl.StringVar(&o.Level, "level", "", "only records of severity `W|E|F` (WARNING, ERROR, FATAL) or worse; continuation lines stay with their record")
	cmdutil.DurationVar(fl, &o.Since, "since", 0, "start each file at its first line written in the last `D` (15m, 2h, 1d, 2w), reading back through its rotated and compressed files on the CVM, instead of -n")
	fl.StringVar(&o.SinceTime, "since-time", "", "like --since, from the first line at or after `T` (RFC 3339, or '2006-01-02 15:04:05' in UTC)")
	fl.StringVar(&o.Until, "until", "", "end each stream before its first line at or after `T` (as --since-time, or a duration D: D ago); following, at that time")
	fl.StringVar(&o.CVMTimezone, "cvm-timezone", "UTC", "`ZONE` of the CVMs' OS logs (syslog); service logs are always UTC (IANA name, e.g. Asia/Tokyo, or Local)")
	fl.BoolVar(&o.LogTime, "log-time", false, "put each line's own time (parsed from the line, in UTC, RFC 3339 milliseconds; '-' when it has none) first; JSON gets log_time")
	fl.StringVar(&o.Template, "template", "", "render each line with Go text/template `TPL` over the JSON fields (.time .cvm .address .log .path .file .line .log_time; {{json .}} is them all as one JSON object); helpers: color, cvmcolor, upper, lower, json, pad; not with -o json or raw")
	cmdutil.DurationVar(fl, &o.MergeWindow, "merge-window", 0, "hold lines up to `D` (e.g. 2s) and release them in the order of their log times across CVMs")
	cmd.Flags().AddFlagSet(fl)
	_ = cmd.RegisterFlagCompletionFunc("level", cobra.FixedCompletions(
		[]string{"W\tWARNING and worse", "E\tERROR and worse", "F\tFATAL only"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("cvm-timezone", cobra.FixedCompletions(
		[]string{"UTC", "Local"}, cobra.ShellCompDirectiveNoFileComp))
	// No reading flag takes a file: the shell offers none for the others either.
	fl.VisitAll(func(f *pflag.Flag) {
		if _, ok := cmd.GetFlagCompletionFunc(f.Name); !ok && f.Value.Type() != "bool" {
			_ = cmd.RegisterFlagCompletionFunc(f.Name, cobra.NoFileCompletions)
		}
	})
}

func (o *ReadingOptions) validate(now func() time.Time, format string) error {
	compile := func(flag string, exprs []string) ([]*filter.Matcher, error) {
		var ms []*filter.Matcher
		for _, e := range exprs {
			expr := e
			if o.IgnoreCase {
				expr = "(?i)" + e
			}
			m, err := filter.Compile(expr)
			if err != nil {
				return nil, cmdutil.Usagef("invalid --%s %q: %v", flag, e, stripRegexpPrefix(err))
			}
			ms = append(ms, m)
		}
		return ms, nil
	}
	var err error
	if o.filter.Grep, err = compile("grep", o.Grep); err != nil {
		return err
	}
	if o.filter.Exclude, err = compile("exclude", o.Exclude); err != nil {
		return err
	}
	hl, err := compile("highlight", o.Highlight)
	if err != nil {
		return err
	}
	o.highlight = nil
	for _, m := range append(append([]*filter.Matcher(nil), o.filter.Grep...), hl...) {
		o.highlight = append(o.highlight, m.Regexp())
	}
	if o.Level != "" {
		lv, ok := logtime.ParseLevel(o.Level)
		if !ok {
			return cmdutil.Usagef("invalid --level %q: use W, E or F (WARNING, ERROR, FATAL)", o.Level)
		}
		o.levelValue = lv
	}
	o.filter.Level = o.levelValue
	zoneName := o.CVMTimezone
	if zoneName == "" {
		zoneName = "UTC"
	}
	o.zone, err = time.LoadLocation(zoneName)
	if err != nil {
		return cmdutil.Usagef("invalid --cvm-timezone %q: use an IANA zone name such as UTC or Europe/Berlin", o.CVMTimezone)
	}
	o.filter.Zone = o.zone

	o.sinceAt = time.Time{}
	switch {
	case o.Since != 0 && o.SinceTime != "":
		return cmdutil.Usagef("--since and --since-time cannot be used together")
	case o.Since < 0:
		return cmdutil.Usagef("invalid --since %s: use a positive duration such as 15m, 2h or 1d", o.Since)
	case o.Since > 0:
		o.sinceAt = now().Add(-o.Since)
	case o.SinceTime != "":
		t, err := time.Parse(time.RFC3339Nano, o.SinceTime)
		if err != nil {
			t, err = time.ParseInLocation(sinceTimeLayout, o.SinceTime, time.UTC)
		}
		if err != nil {
			return cmdutil.Usagef("invalid --since-time %q: use RFC 3339 (2026-11-22T10:00:00Z) or '2006-01-02 15:04:05' (UTC)", o.SinceTime)
		}
		o.sinceAt = t
	}
	o.untilAt = time.Time{}
	if o.Until != "" {
		t, err := time.Parse(time.RFC3339Nano, o.Until)
		if err != nil {
			t, err = time.ParseInLocation(sinceTimeLayout, o.Until, time.UTC)
		}
		if err != nil {
			d, derr := units.ParseDuration(o.Until)
			if derr != nil || d <= 0 {
				return cmdutil.Usagef("invalid --until %q: use RFC 3339 (2026-11-22T10:30:00Z), '2006-01-02 15:04:05' (UTC) or a duration ago (30m)", o.Until)
			}
			t = now().Add(-d)
		}
		if !o.sinceAt.IsZero() && !t.After(o.sinceAt) {
			return cmdutil.Usagef("--until %s is not after --since %s", t.UTC().Format(time.RFC3339), o.sinceAt.UTC().Format(time.RFC3339))
		}
		o.untilAt = t
	}

	if o.MergeWindow < 0 {
		return cmdutil.Usagef("invalid --merge-window %s: use a positive duration such as 2s", o.MergeWindow)
	}
	if (o.MergeWindow > 0 || o.Template != "" || o.LogTime) && format == string(output.None) {
		return cmdutil.Usagef("--merge-window, --template and --log-time shape stdout, which -o none turns off")
	}
	if o.Template != "" && (format == string(output.JSON) || format == string(output.Raw)) {
		// The template would replace the format, and a script expecting JSON would get text.
		return cmdutil.UsageWithHint(fmt.Errorf("--template and -o %s: choose one", format),
			"--template replaces -o's format: drop -o "+format+" (for JSON from a template, use {{json .}})")
	}
	if o.Template != "" {
		tpl, err := output.NewTemplate(o.Template, false)
		if err == nil {
			err = output.ProbeTemplate(tpl)
		}
		if err != nil {
			return templateError(err)
		}
	}
	o.filter.Times = o.LogTime || o.MergeWindow > 0 || o.Template != ""
	return nil
}

// templateError is a --template that does not parse or run, with what it may use.
func templateError(err error) error {
	// text/template names the template twice and says "map has no entry" of a field.
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = strings.TrimPrefix(msg, "template:")
	msg = strings.Replace(msg, `executing "template" at `, "at ", 1)
	msg = strings.Replace(msg, "map has no entry for key", "no field", 1)
	return cmdutil.UsageWithHint(fmt.Errorf("invalid --template: %s", msg), templateHint())
}

func templateHint() string {
	return "the fields are ." + strings.Join(output.TemplateFields, " .") +
		"; the helpers " + strings.Join(output.TemplateHelpers(), ", ") + " (json . is the whole line as -o json's object)"
}

func stripRegexpPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}
