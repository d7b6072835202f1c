// Package logs implements `cvmtail logs`.
package logs

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// Options are logs's flags.
type Options struct {
	Remote bool
	Output string
}

// NewCmdLogs builds the command; runF replaces the run function in tests.
func NewCmdLogs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "List the log files cvmtail knows by name (--remote: what exists on each CVM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return errors.New("logs: not implemented yet")
		},
	}
	cmd.Flags().BoolVar(&opts.Remote, "remote", false, "list the log files that exist on each selected CVM")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return cmd
}
