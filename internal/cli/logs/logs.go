// Package logs implements `cvmtail logs`: the catalog of log names, or with --remote the
// log files that exist on each selected CVM.
package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/tableprinter"
	"github.com/cvmtail/cvmtail/internal/targets"
	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// Options are logs's flags and what the run function needs.
type Options struct {
	IO      *iostreams.IOStreams
	Remote  bool
	Output  string
	Targets targets.Options
	SSH     cmdutil.SSHOptions

	// ResolveTargets picks the CVMs (--remote).
	ResolveTargets func(ctx context.Context) ([]targets.Target, error)
	// NewLister connects the listing to the CVMs (--remote); it is called once, after the
	// flags have been checked. Tests replace it with a fake.
	NewLister func() (Lister, error)
}

// Lister lists the log directory of one CVM.
type Lister interface {
	List(ctx context.Context, t targets.Target) ([]RemoteFile, error)
}

// The flags that choose CVMs and reach them are used only with --remote. Without it they
// are accepted, so that one set of flags works for every command (the lab's cvmtail-flags
// line, a script's $FLAGS), and a line on stderr says they were not used: the user may
// have forgotten --remote, and silently printing the catalog would hide that.
var remoteOnlyFlags = cmdutil.CVMFlagNames()

// NewCmdLogs builds the command; runF replaces the run function in tests.
func NewCmdLogs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "List the log files cvmtail knows by name (--remote: what exists on each CVM)",
		Long: `Without --remote, list the catalog: the names that 'cvmtail tail' accepts, the file each
stands for on a CVM, and what the service does. A name ending in .INFO, .WARNING, .ERROR or
.FATAL is a glog file holding that severity and every worse one.

With --remote, connect to each selected CVM and list the files in ` + catalog.LogDir + `
(and its cassandra/ directory) with their size, modification time (UTC) and, for a
symlink such as stargate.INFO, the file it points to.

On a terminal the table is aligned under a header, sizes are human-readable and
right-aligned, and with --remote the longest file names and link targets (glog's) are cut
in the middle (…) so that no row is wider than the terminal. Into a pipe it is
tab-separated without a header, with sizes in bytes and every name whole, as in -o json.

The flags that choose CVMs and reach them (--prism, --cvm, the SSH flags, ...) are the same
as tail's, so that one set of flags works for every command; without --remote they are
not used, and a line on stderr says so.`,
		Example: `  cvmtail logs
  cvmtail logs -o json | jq -r '.[].name'
  cvmtail logs --remote --cvm 10.1.1.11,10.1.1.12
  cvmtail logs --remote --prism pe.example.com | sort -k3 -n`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "table" && opts.Output != "json" {
				return cmdutil.UsageWithHint(fmt.Errorf("invalid --output %q", opts.Output), "use -o table or -o json")
			}
			if !opts.Remote {
				var given []string
				cmd.Flags().Visit(func(fl *pflag.Flag) {
					if slices.Contains(remoteOnlyFlags, fl.Name) {
						given = append(given, "--"+fl.Name)
					}
				})
				if len(given) > 0 {
					fmt.Fprintf(opts.IO.ErrOut, "cvmtail: %s: not used without --remote: listing the catalog\n", strings.Join(given, ", "))
					fmt.Fprintln(opts.IO.ErrOut, "cvmtail: hint: add --remote to list the files on the CVMs")
				}
			}
			if opts.Remote {
				if err := cmdutil.ApplyContext(cmd, f, &opts.Targets.TargetOptions, &opts.SSH); err != nil {
					return err
				}
				if opts.ResolveTargets == nil {
					opts.ResolveTargets = func(ctx context.Context) ([]targets.Target, error) {
						cvms, err := targets.Resolve(ctx, f, &opts.Targets)
						if err == nil && opts.SSH.UseNAT {
							cvms = targets.UseNAT(f, cvms)
						}
						return cvms, err
					}
				}
				if opts.NewLister == nil {
					opts.NewLister = func() (Lister, error) {
						sshOpts, err := opts.SSH.SSHConfig(f)
						if err != nil {
							return nil, err
						}
						d, err := sshx.NewDialer(sshOpts)
						if err != nil {
							// A bad ssh_config or key file: the user's to fix (exit 2).
							return nil, &cmdutil.UsageError{Err: err, Hint: cmdutil.HintOf(err)}
						}
						return &sshLister{dial: cmdutil.DialSSH(d)}, nil
					}
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return logsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Remote, "remote", false, "list the log files that exist on each selected CVM")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]string{"table\taligned on a terminal, tab-separated into a pipe", "json\tan array of objects"},
		cobra.ShellCompDirectiveNoFileComp))
	targets.AddFlags(cmd, &opts.Targets)
	cmdutil.AddSSHFlags(cmd, &opts.SSH)
	return cmd
}

// noArgs refuses arguments as a usage error (exit 2); cobra.NoArgs's error would not be one.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cmdutil.UsageWithHint(fmt.Errorf("logs takes no arguments, got %q", args[0]),
			"to follow a log, use 'cvmtail tail "+args[0]+"'")
	}
	return nil
}

func logsRun(ctx context.Context, opts *Options) error {
	if opts.Remote {
		return remoteRun(ctx, opts)
	}
	return quietOnClosedPipe(printCatalog(opts.IO.Out, catalog.All(), opts.Output, opts.IO.IsStdoutTTY()))
}

// quietOnClosedPipe drops the error of writing to a reader that went away (| head):
// cvmtail stops quietly then, with status 0 (README, "Exit status").
func quietOnClosedPipe(err error) error {
	if output.IsBrokenPipe(err) {
		return nil
	}
	return err
}

type catalogJSON struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Description string `json:"description"`
	Sudo        bool   `json:"sudo"`
}

func printCatalog(w io.Writer, entries []catalog.Entry, format string, tty bool) error {
	if format == "json" {
		out := make([]catalogJSON, 0, len(entries))
		for _, e := range entries {
			out = append(out, catalogJSON{Name: e.Name, Path: e.Path, Description: e.Description, Sudo: e.Sudo})
		}
		return writeJSON(w, out)
	}
	t := tableprinter.New(w, tty, "NAME", "PATH", "DESCRIPTION")
	for _, e := range entries {
		t.Row(e.Name, e.Path, e.Description)
	}
	return t.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// escapeField shows control characters (a tab or newline in a file name, an ESC, a C1
// control) and invalid UTF-8 as \xNN, so that a field can neither break the table's columns
// and lines nor drive the terminal.
func escapeField(s string) string { return termsafe.Field(s) }
