// Package cli is the command tree's root: Main wires signals, runs the command and maps its
// outcome to an exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/cli/listcvms"
	"github.com/cvmtail/cvmtail/internal/cli/logs"
	"github.com/cvmtail/cvmtail/internal/cli/tail"
	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// NewRootCmd builds the command tree.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "cvmtail",
		Short: "Follow the logs of a whole Nutanix cluster from one terminal",
		Long: `cvmtail follows log files on the Controller VMs (CVMs) of Nutanix clusters, many CVMs and
many files at once, over SSH, and interleaves their lines on stdout, each prefixed with the
CVM and the log it came from. It finds the CVMs through Prism, or takes them by address.`,
		Example: `  cvmtail tail genesis --cvm 10.1.1.11,10.1.1.12
  cvmtail tail 'stargate*' --prism pe.example.com -o json | jq .
  cvmtail list-cvms --prism pc.example.com --cluster prod -o address`,
		Version:       f.Build.String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		// Without a command: the help, status 0. A word that is no command is a usage error,
		// so that a script with a typo does not "succeed".
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetVersionTemplate("cvmtail {{.Version}}\n")
	// cobra's own --version says only "version for cvmtail".
	root.Flags().BoolP("version", "v", false, "print the version, the commit and the build date (as JSON: cvmtail version -o json)")
	root.SetFlagErrorFunc(cmdutil.FlagError)
	root.PersistentFlags().StringVar(&f.Context, "context", "",
		"use `NAME` from the config file (env CVMTAIL_CONTEXT; default: the file's default context)")
	_ = root.RegisterFlagCompletionFunc("context", cmdutil.CompleteContexts(f))
	root.SetOut(f.IOStreams.Out)
	root.SetErr(f.IOStreams.ErrOut)
	root.CompletionOptions.DisableDefaultCmd = true

	root.AddCommand(tail.NewCmdTail(f, nil))
	root.AddCommand(listcvms.NewCmdListCVMs(f, nil))
	root.AddCommand(logs.NewCmdLogs(f, nil))
	root.AddCommand(newCmdCompletion(f))
	root.AddCommand(newCmdVersion(f))
	return root
}

// unknownCommand is the usage error for a word that names no command, with cobra's
// did-you-mean.
func unknownCommand(root *cobra.Command, word string) error {
	hint := fmt.Sprintf("see '%s --help' for the commands", root.CommandPath())
	if s := root.SuggestionsFor(word); len(s) > 0 {
		hint = fmt.Sprintf("did you mean %s?", strings.Join(s, " or "))
	}
	return &cmdutil.UsageError{Err: fmt.Errorf("unknown command %q", word), Hint: hint}
}

// forCompletion drops the backticks of flag descriptions when the shell asks for
// completions: in --help they name the value (`FILE`), in a completion menu they are noise.
func forCompletion(root *cobra.Command, args []string) {
	if len(args) == 0 || !strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		return
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(fl *pflag.Flag) { fl.Usage = strings.ReplaceAll(fl.Usage, "`", "") })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// memoryLimit is the Go runtime's soft memory limit (see Main).
const memoryLimit = 32 << 20

// Main runs cvmtail and returns its exit status.
func Main() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A closed stdout must surface as EPIPE from Write so that we can stop quietly, not as a
	// SIGPIPE that kills us before the SSH channels are closed.
	signal.Ignore(syscall.SIGPIPE)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var stoppedBy os.Signal
	stopped := make(chan struct{})
	go func() {
		s := <-sigs
		stoppedBy = s
		close(stopped)
		cancel()
		// A second signal means "now": skip the clean shutdown.
		s2 := <-sigs
		os.Exit(signalStatus(s2))
	}()

	// Hundreds of streams keep about 17 MiB live; left alone, the Go heap doubles that
	// between collections. A soft limit makes the collector work harder only near it, so a
	// whole cluster followed stays within a small, known footprint. GOMEMLIMIT overrides.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	adaptProcs(ctx)

	f := cmdutil.New(currentBuild())
	root := NewRootCmd(f)
	forCompletion(root, os.Args[1:])
	err := root.ExecuteContext(ctx)

	select {
	case <-stopped:
		return signalStatus(stoppedBy)
	default:
	}
	if err == nil {
		return cmdutil.ExitOK
	}
	PrintError(f.IOStreams.ErrOut, err)
	return cmdutil.ExitCode(err)
}

func signalStatus(s os.Signal) int {
	if s == syscall.SIGTERM {
		return cmdutil.ExitSIGTERM
	}
	return cmdutil.ExitSIGINT
}

// PrintError reports err on stderr as "cvmtail: ..." with a hint line when there is a way forward.
func PrintError(w io.Writer, err error) {
	var se *cmdutil.SilentError
	var pe *cmdutil.PartialError
	if errors.As(err, &se) || errors.As(err, &pe) {
		return // already reported stream by stream
	}
	msg := err.Error()
	// cobra's own messages ("unknown command ...") start with a capital or carry a period.
	msg = strings.TrimSuffix(msg, ".")
	fmt.Fprintf(w, "cvmtail: %s\n", msg)
	if h := cmdutil.HintOf(err); h != "" {
		fmt.Fprintf(w, "cvmtail: hint: %s\n", h)
	}
}
