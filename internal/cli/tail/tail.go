// Package tail implements `cvmtail tail`.
package tail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/pipeline"
	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/targets"
	"github.com/cvmtail/cvmtail/internal/units"
)

// Options are tail's flags, validated and typed.
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory

	Args     []string
	Targets  targets.Options
	SSH      cmdutil.SSHOptions
	Lines    int
	NoFollow bool
	Verbose  bool // -v: rotation notices on a terminal too
	// Follow is -f/--follow, tail's habit: following is the default, so -f changes nothing
	// but contradicts --no-follow; --follow=false is --no-follow.
	Follow      bool
	followGiven bool
	Duration    time.Duration
	Timestamps  bool
	Output      string
	OutputDir   string
	// LockTimeout bounds the wait for another run that captures the same streams.
	LockTimeout time.Duration
	Color       string
	CVMColors   string         // --cvm-colors: the user's palette
	Quiet       bool           // no informational notices on stderr
	Reading     ReadingOptions // --grep, --level, --since, --template, --merge-window, ...

	// RefreshInterval is how often a following run asks Prism for the CVMs again; 0: never.
	RefreshInterval time.Duration

	// Resolved by RunE.
	Logs       []catalog.Log
	cvmPalette []string // from --cvm-colors; nil: the terminal's default
	// Resolved by tailRun: the CVMs, known before the first line.
	targets []targets.Target

	// Dial replaces the SSH layer in tests.
	Dial tailer.Dialer
	// startWait replaces startSummaryWait in tests.
	startWait time.Duration
}

// NewCmdTail builds the command; runF replaces the run function in tests.
func NewCmdTail(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "tail LOG...",
		Short: "Follow every LOG on every selected CVM at once",
		Long: `Follow every LOG on every selected CVM at once, interleaving whole lines on stdout, each
prefixed with the CVM and the log it came from.

LOG is a catalog name (see 'cvmtail logs'), a glob over catalog names ('stargate*' matches
stargate, stargate.INFO, .WARNING, .ERROR and .FATAL; the shell's *, ? and [...]), a file
name as 'cvmtail logs --remote' lists it (genesis.out, a rotated genesis.out.<time>, a glog
file, cassandra/system.log: that file in /home/nutanix/data/logs), or an absolute path on
the CVM. The last component of a path may be a glob ('/home/nutanix/data/logs/stargate.*'):
* any characters, ? one byte, [abc], [a-z], [!abc], no escapes, a leading . only by a
leading ., and a file named as the pattern itself; it is expanded on each CVM by cvmtail's
agent in that directory (never by a shell), and each matching file, one that matches later
too, is followed as a log named by its base name, at most 128 per glob and CVM (a
restarted --output-dir capture resumes each where it stopped). Without Python on a CVM
such a glob is skipped there, with a notice. Files are followed by name, like tail -F:
rotation, truncation and a file that appears later are all followed. A file a glob selected that a CVM does not have is no
error: it is waited for quietly when following, and with --no-follow
skipped, with one line at the end naming what was skipped; a name given
exactly must exist. Status and errors go to stderr; a way forward ("hint") is said once
for all the CVMs it applies to, and rotation is said only with -v or when stderr is not
a terminal.

Choosing lines: --grep and --exclude keep and drop lines by Go RE2 expression (repeatable),
before the output and before --output-dir. --level W|E|F keeps glog and Python-logging
records of that severity or worse, continuation lines (tracebacks) with their record;
lines whose format carries no severity (syslog) are kept. --since and --since-time start
each file at its first line stamped at or after that time across the file's rotation
history on the CVM: its rotated generations in the same directory (genesis.out.<time>,
.gz and .xz included; glog files behind stargate.INFO; messages-<date>), oldest first, then
the file itself, then following as usual, with no line lost or repeated at the hand-over.
Plain files are binary-searched and compressed ones decompressed on the CVM, so no file is
copied; -o json names each line's file in "file" ("path" stays the followed name). A --since
before the whole history says "history starts at <time>"; a history file that cannot be read
is reported and skipped. A CVM without Python gets the -n backlog of the current file and a
notice; a file without timestamps starts at its end. --until ends each stream before its
first line at or after that time (following: also when the time comes), so --since-time and
--until with --no-follow pull one incident window from every CVM. Without --since nothing
of this changes: -n counts the last lines of the current file as they are in the file,
before --grep and the other filters: -n 10 --grep X shows those of the last 10 lines that
match X, not the last 10 matches; -n all (or +1) starts at the first line.

Durations (--duration, --since, --merge-window, --lock-timeout, --connect-timeout) are
written 30s, 15m, 2h, 1d (24h) or 2w, or combined: 1h30m, 1d12h.

Times: glog, Python-logging (.out) and Cassandra lines are UTC, as CVM services write them;
syslog-style lines (and RFC 3339 without an offset) are in the CVM's local time, given by
--cvm-timezone (default UTC). A glog or syslog line has no year: it is the latest year that
does not put the line more than a day in the future. --log-time shows the parsed time
normalised to UTC; --merge-window D holds lines up to D and prints them in log-time order
across CVMs, each line without a time kept with the record before it. A backlog (--since's
history, or lines stamped before the run) is held until every CVM's has got as far (with
--since each CVM's start is waited for up to 10s), so the histories come out in time order.

Capture (--output-dir DIR): each stream is appended to its own file, DIR/<cvm>/<log>.log
for a catalog name, DIR/<cvm>/paths/<path>.log for a path (the path mirrored), with a
position file beside it so that the next run resumes after the last captured line. A
stream's capture is locked: a second run capturing it waits for the first to end (up to
--lock-timeout), then resumes where it stopped. Symlinks in DIR are never written through.

Long lines: every output line is one whole line of its file, up to 64 MiB. A longer line
is cut there, the rest of it dropped with a notice on stderr saying how many bytes; lines
longer than 256 KiB share 256 MiB of memory across all streams, and when that is spent a
long line is cut early, with the same notice.

A config context (--context) may set these flags as keys of the same names, each holding
what one would type after the flag: lines, color, grep, exclude, highlight, ignore-case,
level, timestamps, log-time, output, output-dir, lock-timeout, cvm-timezone, template,
merge-window, cvm-colors, quiet and refresh-interval, besides the CVM and SSH flags. The
command line wins.

At a terminal: each CVM's name has its own colour for the run (--cvm-colors sets the list),
the CVM and log columns are padded so that the log text starts in one column, and once
following has started one stderr line says how many files on how many CVMs are followed and
which are not (-q silences it). Into a pipe or a file, text is '<cvm> <log> <line>' with
single spaces.

A CVM that drops is reconnected with backoff (1s doubling to 30s), each file resuming
after its last delivered byte. One down when following starts (refused, timed out, no
route) is retried the same way and starts with the -n backlog once reached; with
--no-follow or --duration it fails for good instead.

Cluster changes (--prism, following): Prism is asked for the CVMs again every
--refresh-interval (default 5m; 0: never). A CVM that appears (a node added, one back from
maintenance) is followed from its -n backlog, one no longer listed is stopped with a line on
stderr, and one whose address changed is reconnected there, each file resuming as after a
drop. When Prism cannot be asked, nothing changes; that is said once, until it answers.

Exit status: 0 when every stream ran to its end (--no-follow done, --duration reached,
stdout closed by its reader); 1 when some stream or CVM failed for good while others
delivered: what retrying cannot fix (a refused key, an unknown or changed host key, a
missing file without follow, no permission), or, with --no-follow or --duration, a CVM
unreachable at start; 2 for usage or configuration errors; 3 when nothing could be done;
130/143 when stopped by SIGINT/SIGTERM.`,
		Example: `  # follow genesis on three CVMs
  cvmtail tail genesis --cvm 10.1.1.11,10.1.1.12,10.1.1.13

  # every stargate log on a cluster, as JSON
  cvmtail tail 'stargate*' --prism pe.example.com -o json

  # the last 100 lines of a file, then exit
  cvmtail tail /home/nutanix/data/logs/acropolis.out -n 100 --no-follow --cvm 10.1.1.11

  # errors and worse from every stargate of the cluster since two hours ago
  cvmtail tail stargate.INFO --level E --since 2h --prism pe.example.com

  # one incident window from every CVM, rotated files included, one file per CVM
  cvmtail tail genesis --since-time '2026-12-01 14:00:00' --until '2026-12-01 14:30:00' \
    --no-follow --output-dir incident --prism pe.example.com

  # one event across the CVMs, in time order
  cvmtail tail genesis --grep 'leader|election' --merge-window 2s --log-time --prism pe.example.com

  # your own prefix
  cvmtail tail genesis --template '{{cvmcolor .cvm}} {{.log_time}} {{.line}}' --prism pe.example.com`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.UsageWithHint(errors.New("name at least one LOG to follow"),
					"see 'cvmtail logs' for the names cvmtail knows, or give an absolute path")
			}
			return nil
		},
		ValidArgsFunction: completeLogNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			opts.followGiven = cmd.Flags().Changed("follow")
			outputGiven, templateGiven := cmd.Flags().Changed("output"), cmd.Flags().Changed("template")
			if err := cmdutil.ApplyContext(cmd, opts.Factory, &opts.Targets.TargetOptions, &opts.SSH); err != nil {
				return err
			}
			opts.commandLineWins(outputGiven, templateGiven)
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return tailRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cmdutil.LinesVarP(fl, &opts.Lines, "lines", "n", 10, "the last `N` lines of each file before following, counted in the file before --grep and the other filters; 0 = only new lines; all (or +1, as tail spells it) = the whole file")
	fl.BoolVar(&opts.NoFollow, "no-follow", false, "print the backlog and exit")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "also say when a file is rotated (said anyway when stderr is not a terminal)")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "follow the files as they grow, as tail -f does: the default; not with --no-follow")
	cmdutil.DurationVar(fl, &opts.Duration, "duration", 0, "stop after `D` (30s, 15m, 2h, 1d) and exit 0")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no informational notices on stderr: the line that says what is followed (on a terminal), rotations, waiting for another capture; warnings and errors still show")
	fl.BoolVar(&opts.Timestamps, "timestamps", false, "put the UTC time each line was received first (RFC 3339, milliseconds)")
	fl.StringVarP(&opts.Output, "output", "o", "text", "output format: text, json, raw, or none (with --output-dir)")
	fl.StringVar(&opts.OutputDir, "output-dir", "", "also append each stream to `DIR`/<cvm>/<log>.log (a path: DIR/<cvm>/paths/<path>.log); a restarted capture resumes where it stopped")
	cmdutil.DurationVar(fl, &opts.LockTimeout, "lock-timeout", time.Minute, "with --output-dir: wait up to `D` for another cvmtail capturing the same streams to finish")
	cmdutil.DurationVar(fl, &opts.RefreshInterval, "refresh-interval", defaultRefreshInterval, "with --prism, while following: ask Prism for the cluster's CVMs again every `D`, following a CVM that appears from its backlog, stopping one that leaves, reconnecting one whose address changed; 0: never")
	fl.StringVar(&opts.Color, "color", "auto", "colour the prefix: auto, always or never (auto: on a terminal and NO_COLOR unset)")
	fl.StringVar(&opts.CVMColors, "cvm-colors", "", "the colours CVM names take, as `LIST`: comma-separated SGR codes or colour names, used as given (e.g. '32,36,1;35,38;5;208' or 'green,bold hiblue'); default: 10 colours, 22 on a 256-colour terminal; never red, which is --highlight's")
	addReadingFlags(cmd, &opts.Reading)
	targets.AddFlags(cmd, &opts.Targets)
	cmdutil.AddSSHFlags(cmd, &opts.SSH)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{"text\t<cvm> <log> <line>", "json\tone JSON object per line", "raw\tthe line alone", "none\tnothing on stdout (with --output-dir)"},
		cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions(
		[]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("cvm-colors", cobra.NoFileCompletions)
	return cmd
}

// commandLineWins settles a context's -o json (or raw) against --template on the command
// line, and the reverse: the two cannot go together, and what was typed for this run wins
// over the file.
func (o *Options) commandLineWins(outputGiven, templateGiven bool) {
	jsonOrRaw := o.Output == string(output.JSON) || o.Output == string(output.Raw)
	switch {
	case templateGiven && !outputGiven && jsonOrRaw:
		o.Output = string(output.Text)
	case outputGiven && !templateGiven && jsonOrRaw:
		o.Reading.Template = ""
	}
}

func completeLogNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, e := range catalog.All() {
		if strings.HasPrefix(e.Name, toComplete) {
			out = append(out, e.Name+"\t"+e.Description)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (o *Options) validate() error {
	logs, err := catalog.Resolve(o.Args)
	if err != nil {
		return cmdutil.UsageWithHint(err, cmdutil.HintOf(err))
	}
	o.Logs = logs
	if o.followGiven {
		switch {
		case o.Follow && o.NoFollow:
			return cmdutil.UsageWithHint(errors.New("-f/--follow and --no-follow contradict each other"),
				"drop one: cvmtail follows by default, --no-follow prints the backlog and exits")
		case !o.Follow:
			o.NoFollow = true // --follow=false
		}
	}
	if o.Lines < units.AllLines {
		return cmdutil.UsageWithHint(fmt.Errorf("invalid --lines %d", o.Lines), units.ErrLines.Error())
	}
	if o.Duration < 0 {
		return cmdutil.Usagef("invalid --duration %s: use a positive duration such as 30s, 15m, 2h or 1d", o.Duration)
	}
	if o.LockTimeout < 0 {
		return cmdutil.Usagef("invalid --lock-timeout %s: use 0 or a positive duration such as 1m", o.LockTimeout)
	}
	if o.RefreshInterval < 0 {
		return cmdutil.Usagef("invalid --refresh-interval %s: use 0 (never) or a positive duration such as 5m", o.RefreshInterval)
	}
	switch o.Output {
	case "text", "json", "raw":
	case "none":
		if o.OutputDir == "" {
			return cmdutil.UsageWithHint(errors.New("-o none needs --output-dir"), "use -o text, json or raw, or add --output-dir DIR")
		}
	default:
		return cmdutil.UsageWithHint(fmt.Errorf("invalid --output %q", o.Output), "use -o text, json, raw, or none (with --output-dir)")
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return cmdutil.Usagef("invalid --color %q: use auto, always or never", o.Color)
	}
	o.cvmPalette = nil
	if o.CVMColors != "" {
		p, err := output.ParsePalette(o.CVMColors)
		if err != nil {
			return cmdutil.UsageWithHint(fmt.Errorf("invalid --cvm-colors %q: %w", o.CVMColors, err),
				"give colours separated by commas, each SGR codes or colour names: --cvm-colors '32,36,1;35,38;5;208' or --cvm-colors 'green,bold hiblue'")
		}
		o.cvmPalette = p
	}
	if err := o.Reading.validate(o.Factory.Now, o.Output); err != nil {
		return err
	}
	if _, err := o.SSH.SSHConfig(o.Factory); err != nil {
		return err
	}
	return nil
}

// stderrLog writes whole status lines to stderr, one at a time.
type stderrLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *stderrLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

func tailRun(ctx context.Context, opts *Options) error {
	cvms, err := targets.Resolve(ctx, opts.Factory, &opts.Targets)
	if err != nil {
		return err
	}
	if opts.SSH.UseNAT {
		cvms = targets.UseNAT(opts.Factory, cvms)
	}
	dialer := opts.Dial
	if dialer == nil {
		if dialer, err = newSSHDialer(opts); err != nil {
			return err
		}
	}
	errLog := &stderrLog{w: opts.IO.ErrOut}
	opts.targets = cvms
	pcfg, err := opts.pipelineConfig(ctx, errLog)
	if err != nil {
		return err
	}
	p, err := pipeline.New(pcfg)
	if err != nil {
		return cmdutil.UsageWithHint(fmt.Errorf("--output-dir: %w", err), "choose a directory you can write to")
	}
	rep := opts.newReporter(errLog)
	cfg := opts.engineConfig(cvms, rep)
	cfg.Resume = p.Resume()
	cfg.GlobResume = p.GlobResume()
	if !cfg.Since.IsZero() {
		// Histories start at their own pace (a connection, a compressed file's start to skip):
		// --merge-window orders them once every CVM's has begun, or after historyStartWait.
		p.ExpectBacklog(cfg.Targets, cfg.Files, historyStartWait)
	}
	if err := openCaptures(ctx, p, cfg, errLog); err != nil {
		return err
	}

	end := follow(ctx, opts, cfg, dialer, p, opts.startSummary(&cfg, errLog), errLog)
	rep.finish()
	if end.captureErr != nil {
		errLog.printf("cvmtail: %s\n", end.captureErr)
		return &cmdutil.SilentError{Code: cmdutil.ExitPartial}
	}
	err = end.status(ctx)
	if n := opts.Targets.UnlistedClusters(); err == nil && n > 0 && ctx.Err() == nil && !end.readerGone {
		// The CVMs of a cluster Prism could not list were never followed (said at the start).
		return &cmdutil.PartialError{Failed: n}
	}
	return err
}

// historyStartWait is how long --merge-window with --since waits for a stream's first line.
const historyStartWait = 10 * time.Second

// openCaptures opens every stream's capture (--output-dir) before anything is followed,
// waiting for another run that captures the same streams. A signal while waiting ends the
// run quietly: Main decides the status.
func openCaptures(ctx context.Context, p *pipeline.Pipeline, cfg tailer.Config, errLog *stderrLog) error {
	for _, w := range p.CaptureWarnings() {
		errLog.printf("cvmtail: %s\n", w)
	}
	err := p.OpenCaptures(ctx, cfg.Targets, cfg.Files)
	var locked *output.LockedError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		_, _ = p.Close()
		return ctx.Err()
	case errors.As(err, &locked):
		_, _ = p.Close()
		return &cmdutil.NothingDoneError{Err: fmt.Errorf("--output-dir: %w", err), Hint: cmdutil.HintOf(locked)}
	default:
		_, _ = p.Close()
		return cmdutil.UsageWithHint(fmt.Errorf("--output-dir: %w", err), "remove what is in the way, or choose another --output-dir")
	}
}

// pipelineConfig turns the output and reading options into the pipeline's plain config.
// Every CVM of the run (o.targets) is known here, before the first line: their colours are
// assigned once, so that they differ and do not depend on which stream starts first.
func (o *Options) pipelineConfig(ctx context.Context, errLog *stderrLog) (pipeline.Config, error) {
	r := &o.Reading
	var cvms []string
	for _, t := range o.targets {
		cvms = append(cvms, t.Name)
	}
	palette := o.cvmPalette
	if palette == nil {
		palette = output.DefaultPalette(o.IO.Has256Colors())
	}
	render := output.Options{
		Format:     output.Format(o.Output),
		Color:      o.IO.ColorEnabled(o.Color),
		Escape:     o.IO.IsStdoutTTY(),
		Timestamps: o.Timestamps,
		LogTime:    r.LogTime,
		Highlight:  r.highlight,
		CVMColors:  output.AssignColors(cvms, palette),
		Palette:    palette,
	}
	if render.Format == output.Text && o.IO.IsStdoutTTY() && r.Template == "" {
		// On a terminal the log text starts in one column; into a pipe or a file, text
		// stays "<cvm> <log> <line>" with single spaces (CLI.md).
		var logs []string
		for _, l := range o.Logs {
			logs = append(logs, l.Name)
		}
		render.CVMWidth, render.LogWidth = output.ColumnWidths(cvms, logs)
	}
	if r.Template != "" {
		// Parsed again now that the colours are known: its colour helpers depend on them.
		tpl, err := output.NewTemplate(r.Template, render.Color, output.WithCVMColors(render.CVMColors))
		if err != nil {
			return pipeline.Config{}, templateError(err)
		}
		render.Template = tpl
	}
	return pipeline.Config{
		Out:         o.IO.Out,
		Render:      render,
		Filter:      r.filter,
		MergeWindow: r.MergeWindow,
		CaptureDir:  o.OutputDir,
		CaptureByPath: func(log, p string) bool {
			for _, l := range o.Logs {
				if l.Name == log && l.Path == p {
					return l.ByPath
				}
				if l.Glob && path.Dir(l.Path) == path.Dir(p) {
					return true // a match of a glob path, expanded on the CVM
				}
			}
			return false
		},
		LockWait: o.LockTimeout,
		LockWaiting: func(path, holder string) {
			if o.Quiet {
				return
			}
			errLog.printf("cvmtail: %s is being captured by another cvmtail (%s); waiting up to %s for it to finish\n", path, holder, o.LockTimeout)
		},
		Context: ctx,
	}, nil
}

// engineConfig is what the engine follows, and where its events go.
func (o *Options) engineConfig(cvms []targets.Target, rep *reporter) tailer.Config {
	cfg := tailer.Config{
		Lines:     o.Lines,
		Follow:    !o.NoFollow,
		Now:       o.Factory.Now,
		Retryable: retryable,
		// A CVM down at start is waited for like one that dropped (an upgrade reboots them
		// one by one), but not by a run that must end on its own: --duration (cron) keeps
		// failing it for good, so that its status says the CVM was missed.
		RetryUnreached: !o.NoFollow && o.Duration == 0,
		Events:         rep.event,
	}
	cfg.Targets = targets.Engine(cvms)
	for _, l := range o.Logs {
		cfg.Files = append(cfg.Files, tailer.File{Name: l.Name, Path: l.Path, Sudo: l.Sudo, Optional: l.Optional, Glob: l.Glob})
	}
	if !o.Reading.sinceAt.IsZero() || !o.Reading.untilAt.IsZero() {
		cfg.Since, cfg.Until = o.Reading.sinceAt, o.Reading.untilAt
		cfg.SyslogZone = o.Reading.zone
	}
	return cfg
}

// ending is how a run ended.
type ending struct {
	res        tailer.Result
	runErr     error // the engine's
	stdoutErr  error // writing stdout's
	captureErr error // the capture's (--output-dir)
	readerGone bool  // the reader of stdout went away
}

// startSummary prepares the line that says what is followed, for a run that follows with a
// terminal on stderr and without --quiet (nil otherwise); it hooks into cfg's events.
func (o *Options) startSummary(cfg *tailer.Config, errLog *stderrLog) *startSummary {
	if o.NoFollow || o.Quiet || !o.IO.IsStderrTTY() {
		return nil
	}
	s := newStartSummary(cfg.Targets, cfg.Files, func(line string) { errLog.printf("cvmtail: %s\n", line) })
	events := cfg.Events
	cfg.Events = func(ev tailer.Event) {
		events(ev) // a failure's own line comes before the summary that counts it
		s.event(ev)
	}
	return s
}

// follow follows the logs until every stream ends, --duration is reached, the reader of stdout
// goes away or ctx is done (a signal), whichever comes first, then closes the pipeline.
// summary, when not nil, is printed once following has started.
func follow(ctx context.Context, opts *Options, cfg tailer.Config, dialer tailer.Dialer, p *pipeline.Pipeline, summary *startSummary, errLog *stderrLog) ending {
	// Ctrl-C must stop cvmtail even when stdout does not drain (a paused pager): the writer
	// gets a moment to show what is queued, then is abandoned, which unblocks the streams.
	stopAbort := context.AfterFunc(ctx, func() { time.AfterFunc(writerGrace, p.Abort) })
	defer stopAbort()

	runCtx := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	// The reader of stdout may go away while the logs are quiet (| head): stop then, quietly,
	// rather than at the next line.
	var readerGone atomic.Bool
	if f, ok := opts.IO.Out.(*os.File); ok && opts.Output != "none" {
		if gone := output.ReaderGone(f); gone != nil {
			var cancel context.CancelFunc
			runCtx, cancel = context.WithCancel(runCtx)
			defer cancel()
			go func() {
				select {
				case <-gone:
					readerGone.Store(true)
					cancel()
				case <-runCtx.Done():
				}
			}()
		}
	}
	var sink tailer.Sink = p
	if summary != nil {
		sink = summary.sink(p)
		wait := opts.startWait
		if wait <= 0 {
			wait = startSummaryWait
		}
		summary.start(wait)
	}
	var end ending
	e, err := tailer.Start(runCtx, cfg, dialer, sink)
	if err != nil {
		end.runErr = err
	} else {
		stopRefresh := opts.startRefresher(runCtx, e, cfg.Targets, errLog)
		end.res, end.runErr = e.Wait()
		stopRefresh()
	}
	if summary != nil {
		summary.stop() // said nothing yet: the run ended before it started following
	}
	end.stdoutErr, end.captureErr = p.Close()
	end.readerGone = readerGone.Load()
	return end
}

// status maps how the run ended to the command's error, and so to the exit status.
func (e ending) status(ctx context.Context) error {
	switch {
	case e.readerGone:
		return nil // the reader of stdout went away: stop quietly
	case errors.Is(e.stdoutErr, output.ErrAborted):
		return nil // stopped by a signal while stdout did not drain; Main decides the status
	case e.stdoutErr != nil && output.IsBrokenPipe(e.stdoutErr):
		return nil // the reader of stdout went away: stop quietly
	case e.stdoutErr != nil:
		return &cmdutil.NothingDoneError{Err: fmt.Errorf("writing output: %w", e.stdoutErr)}
	case ctx.Err() != nil:
		return nil // stopped by a signal; Main decides the status
	}
	if e.runErr != nil && !errors.Is(e.runErr, tailer.ErrSinkClosed) {
		if e.res.Failed == e.res.Streams {
			return &cmdutil.SilentError{Code: cmdutil.ExitNothingDone}
		}
		return e.runErr
	}
	if e.res.Failed > 0 {
		return &cmdutil.PartialError{Failed: e.res.Failed}
	}
	return nil
}

// writerGrace is how long, after Ctrl-C, output may take to drain before it is abandoned.
const writerGrace = 200 * time.Millisecond
