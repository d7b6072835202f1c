// Package tail implements `cvmtail tail`.
package tail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// Options are tail's flags, validated and typed.
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory

	Args       []string
	Targets    cmdutil.TargetOptions
	SSH        cmdutil.SSHOptions
	Lines      int
	NoFollow   bool
	Duration   time.Duration
	Timestamps bool
	Output     string
	OutputDir  string
	// LockTimeout bounds the wait for another run that captures the same streams.
	LockTimeout time.Duration
	Color       string
	Reading     ReadingOptions // --grep, --level, --since, --template, --merge-window, ...

	// Resolved by RunE.
	Logs []catalog.Log

	// Dial replaces the SSH layer in tests.
	Dial tailer.Dialer
}

// NewCmdTail builds the command; runF replaces the run function in tests.
func NewCmdTail(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "tail LOG...",
		Short: "Follow every LOG on every selected CVM at once",
		Long: `Follow every LOG on every selected CVM at once, interleaving whole lines on stdout, each
prefixed with the CVM and the log it came from.

LOG is a catalog name (see 'cvmtail logs'), a glob over catalog names ('stargate*'), or an
absolute path on the CVM. Files are followed by name, like tail -F: rotation, truncation
and a file that appears later are all followed. Status and errors go to stderr.

Choosing lines: --grep and --exclude keep and drop lines by Go RE2 expression (repeatable),
before the output and before --output-dir. --level W|E|F keeps glog and Python-logging
records of that severity or worse, continuation lines (tracebacks) with their record;
lines whose format carries no severity (syslog) are kept. --since and --since-time start
each file at its first line stamped at or after that time, found by a binary search on the
CVM, so a large file is not copied (a CVM without Python gets the -n backlog and a notice;
a file without timestamps starts at its end).

Times: glog, Python-logging (.out) and Cassandra lines are UTC, as CVM services write them;
syslog-style lines (and RFC 3339 without an offset) are in the CVM's local time, given by
--cvm-timezone (default UTC). A glog or syslog line has no year: it is the latest year that
does not put the line more than a day in the future. --log-time shows the parsed time
normalised to UTC; --merge-window D holds lines up to D and prints them in log-time order
across CVMs, each line without a time kept with the record before it.

Capture (--output-dir DIR): each stream is appended to its own file, DIR/<cvm>/<log>.log
for a catalog name, DIR/<cvm>/paths/<path>.log for a path (the path mirrored), with a
position file beside it so that the next run resumes after the last captured line. A
stream's capture is locked: a second run capturing it waits for the first to end (up to
--lock-timeout), then resumes where it stopped. Symlinks in DIR are never written through.

Long lines: every output line is one whole line of its file, up to 64 MiB. A longer line
is cut there, the rest of it dropped with a notice on stderr saying how many bytes; lines
longer than 256 KiB share 256 MiB of memory across all streams, and when that is spent a
long line is cut early, with the same notice.

Exit status: 0 when every stream ran to its end (--no-follow done, --duration reached,
stdout closed by its reader); 1 when some stream or CVM failed for good while others
delivered; 2 for usage or configuration errors; 3 when nothing could be done; 130/143
when stopped by SIGINT/SIGTERM.`,
		Example: `  # follow genesis on three CVMs
  cvmtail tail genesis --cvm 10.1.1.11,10.1.1.12,10.1.1.13

  # every stargate log on a cluster, as JSON
  cvmtail tail 'stargate*' --prism pe.example.com -o json

  # the last 100 lines of a file, then exit
  cvmtail tail /home/nutanix/data/logs/acropolis.out -n 100 --no-follow --cvm 10.1.1.11

  # errors and worse from every stargate of the cluster since two hours ago
  cvmtail tail stargate.INFO --level E --since 2h --prism pe.example.com

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
			if err := cmdutil.ApplyContext(cmd, opts.Factory, &opts.Targets, &opts.SSH); err != nil {
				return err
			}
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
	fl.IntVarP(&opts.Lines, "lines", "n", 10, "lines of backlog per file before following; 0 = only new lines")
	fl.BoolVar(&opts.NoFollow, "no-follow", false, "print the backlog and exit")
	fl.DurationVar(&opts.Duration, "duration", 0, "stop after `D` (30s, 15m, 2h) and exit 0")
	fl.BoolVar(&opts.Timestamps, "timestamps", false, "put the UTC time each line was received first (RFC 3339, milliseconds)")
	fl.StringVarP(&opts.Output, "output", "o", "text", "output format: text, json, raw, or none (with --output-dir)")
	fl.StringVar(&opts.OutputDir, "output-dir", "", "also append each stream to `DIR`/<cvm>/<log>.log (a path: DIR/<cvm>/paths/<path>.log); a restarted capture resumes where it stopped")
	fl.DurationVar(&opts.LockTimeout, "lock-timeout", time.Minute, "with --output-dir: how long to wait for another cvmtail capturing the same streams to finish")
	fl.StringVar(&opts.Color, "color", "auto", "colour the prefix: auto, always or never (auto: on a terminal and NO_COLOR unset)")
	addReadingFlags(cmd, &opts.Reading)
	cmdutil.AddTargetFlags(cmd, &opts.Targets)
	cmdutil.AddSSHFlags(cmd, &opts.SSH)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{"text\t<cvm> <log> <line>", "json\tone JSON object per line", "raw\tthe line alone"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions(
		[]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
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
	if o.Lines < 0 {
		return cmdutil.Usagef("invalid --lines %d: use 0 or more", o.Lines)
	}
	if o.Duration < 0 {
		return cmdutil.Usagef("invalid --duration %s: use a positive duration such as 30s, 15m or 2h", o.Duration)
	}
	if o.LockTimeout < 0 {
		return cmdutil.Usagef("invalid --lock-timeout %s: use 0 or a positive duration such as 1m", o.LockTimeout)
	}
	switch o.Output {
	case "text", "json", "raw":
	case "none":
		if o.OutputDir == "" {
			return cmdutil.UsageWithHint(errors.New("-o none needs --output-dir"), "use -o text, json or raw, or add --output-dir DIR")
		}
	default:
		return cmdutil.Usagef("invalid --output %q: use text, json or raw", o.Output)
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return cmdutil.Usagef("invalid --color %q: use auto, always or never", o.Color)
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

// sink renders each stream's lines and hands them to the one writer.
type sink struct {
	capture   *capturer // nil without --output-dir
	stage     lineStage // filters.go: runs first, so capture and stdout see only kept lines
	opts      output.Options
	w         *output.Writer
	mu        sync.Mutex
	renderers map[*tailer.StreamInfo]*output.Renderer
}

func (s *sink) renderer(info *tailer.StreamInfo) *output.Renderer {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.renderers[info]
	if !ok {
		r = output.NewRenderer(s.opts, info.CVM, info.Address, info.Log, info.Path)
		s.renderers[info] = r
	}
	return r
}

func (s *sink) Lines(info *tailer.StreamInfo, data []byte, received time.Time) error {
	data, logTimes := s.filter(info, data, received)
	if len(data) == 0 {
		return nil
	}
	if s.capture != nil {
		if err := s.capture.write(info, data); err != nil {
			return fmt.Errorf("%w: %w", tailer.ErrSinkClosed, err)
		}
	}
	if s.opts.Format == output.None {
		return nil
	}
	return s.emit(info, data, logTimes, received)
}

func tailRun(ctx context.Context, opts *Options) error {
	f := opts.Factory
	targets, err := cmdutil.ResolveTargets(ctx, f, &opts.Targets)
	if err != nil {
		return err
	}
	if opts.SSH.UseNAT {
		targets = cmdutil.UseNAT(f, targets)
	}
	dialer := opts.Dial
	if dialer == nil {
		d, err := newSSHDialer(opts)
		if err != nil {
			return err
		}
		dialer = d
	}

	errLog := &stderrLog{w: opts.IO.ErrOut}
	w := output.NewWriter(opts.IO.Out)
	// Ctrl-C must stop cvmtail even when stdout does not drain (a paused pager): the writer
	// gets a moment to show what is queued, then is abandoned, which unblocks the streams.
	stopWriter := context.AfterFunc(ctx, func() { time.AfterFunc(writerGrace, w.Abort) })
	defer stopWriter()
	sk := &sink{
		opts: output.Options{
			Format:     output.Format(opts.Output),
			Color:      opts.IO.ColorEnabled(opts.Color),
			Escape:     opts.IO.IsStdoutTTY(),
			Timestamps: opts.Timestamps,
		},
		w:         w,
		renderers: map[*tailer.StreamInfo]*output.Renderer{},
	}

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

	cfg := tailer.Config{
		Lines:     opts.Lines,
		Follow:    !opts.NoFollow,
		Now:       f.Now,
		Retryable: retryable,
		Events:    func(ev tailer.Event) { report(errLog, ev) },
	}
	for _, t := range targets {
		cfg.Targets = append(cfg.Targets, tailer.Target{Name: t.Name, Address: t.Address})
	}
	for _, l := range opts.Logs {
		cfg.Files = append(cfg.Files, tailer.File{Name: l.Name, Path: l.Path, Sudo: l.Sudo})
	}

	if opts.OutputDir != "" {
		cp, err := openCaptures(ctx, opts, cfg.Targets, errLog)
		if err != nil {
			return err
		}
		if cp == nil {
			return nil // stopped by a signal while waiting for another run; Main decides the status
		}
		sk.capture = cp
		cfg.Resume = func(info tailer.StreamInfo) (string, int64, bool) {
			cs, err := cp.open(ctx, info.CVM, info.Log, info.Path)
			if err != nil {
				return "", 0, false
			}
			return cs.ResumePoint()
		}
	}

	if err := opts.Reading.setup(sk, &cfg); err != nil {
		return err
	}
	res, runErr := tailer.Run(runCtx, cfg, dialer, sk)
	sk.flush()
	werr := w.Close()
	if sk.capture != nil {
		if err := sk.capture.close(); err != nil {
			errLog.printf("cvmtail: %s\n", err)
			return &cmdutil.SilentError{Code: cmdutil.ExitPartial}
		}
	}

	switch {
	case readerGone.Load():
		return nil // the reader of stdout went away: stop quietly
	case errors.Is(werr, output.ErrAborted):
		return nil // stopped by a signal while stdout did not drain; Main decides the status
	case werr != nil && output.IsBrokenPipe(werr):
		return nil // the reader of stdout went away: stop quietly
	case werr != nil:
		return &cmdutil.NothingDoneError{Err: fmt.Errorf("writing output: %w", werr)}
	case ctx.Err() != nil:
		return nil // stopped by a signal; Main decides the status
	}
	if runErr != nil && !errors.Is(runErr, tailer.ErrSinkClosed) {
		if res.Failed == res.Streams {
			return &cmdutil.SilentError{Code: cmdutil.ExitNothingDone}
		}
		return runErr
	}
	if res.Failed > 0 {
		return &cmdutil.PartialError{Failed: res.Failed}
	}
	return nil
}

// openCaptures prepares --output-dir and opens every stream's capture before anything is
// followed: each takes its lock (another run capturing the same stream is waited for, up to
// --lock-timeout) and reads where the last run stopped. nil, nil: stopped by a signal.
func openCaptures(ctx context.Context, opts *Options, targets []tailer.Target, errLog *stderrLog) (*capturer, error) {
	c, err := output.NewCapture(opts.OutputDir)
	if err != nil {
		return nil, cmdutil.UsageWithHint(err, "choose a directory you can write to")
	}
	for _, w := range c.Warnings {
		errLog.printf("cvmtail: %s\n", w)
	}
	c.Filtered = opts.Reading.drops()
	c.LockWait = opts.LockTimeout
	c.Waiting = func(path, holder string) {
		errLog.printf("cvmtail: %s is being captured by another cvmtail (%s); waiting up to %s for it to finish\n", path, holder, opts.LockTimeout)
	}
	cp := newCapturer(ctx, c, opts.Logs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, t := range targets {
		for _, l := range opts.Logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := cp.open(ctx, t.Name, l.Name, l.Path); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	var locked *output.LockedError
	switch {
	case ctx.Err() != nil:
		_ = c.Close()
		return nil, nil
	case errors.As(first, &locked):
		_ = c.Close()
		return nil, &cmdutil.NothingDoneError{Err: fmt.Errorf("--output-dir: %w", first), Hint: locked.Hint()}
	case first != nil:
		_ = c.Close()
		return nil, cmdutil.UsageWithHint(first, "remove what is in the way, or choose another --output-dir")
	}
	return cp, nil
}

// writerGrace is how long, after Ctrl-C, output may take to drain before it is abandoned.
const writerGrace = 200 * time.Millisecond

// report prints an engine event as a "cvmtail: ..." line (and a hint line) on stderr.
// The engine reports each failure once.
func report(l *stderrLog, ev tailer.Event) {
	where := ev.CVM
	if ev.Log != "" {
		where += ": " + ev.Log
	}
	msg := ""
	if ev.Err != nil {
		msg = ev.Err.Error()
	}
	// The SSH layer names the host itself; name the CVM once.
	msg = strings.TrimPrefix(msg, ev.CVM+": ")
	switch ev.Kind {
	case tailer.EventConnLost:
		l.printf("cvmtail: %s: connection lost (%s); reconnecting\n", where, msg)
	case tailer.EventReconnected:
		l.printf("cvmtail: %s: reconnected\n", where)
	default:
		l.printf("cvmtail: %s: %s\n", where, msg)
		if h := cmdutil.HintOf(ev.Err); h != "" && ev.Kind == tailer.EventFailed {
			l.printf("cvmtail: hint: %s\n", h)
		}
	}
}
