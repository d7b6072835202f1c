// Package listcvms implements `cvmtail list-cvms`.
package listcvms

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// Options are list-cvms's flags.
type Options struct {
	IO      any
	Targets cmdutil.TargetOptions
	Output  string
}

// NewCmdListCVMs builds the command; runF replaces the run function in tests.
func NewCmdListCVMs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "list-cvms",
		Short: "List the CVMs of the selected cluster(s), resolved through Prism",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return errors.New("list-cvms: not implemented yet")
		},
	}
	cmdutil.AddTargetFlags(cmd, &opts.Targets)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table, wide, json or address")
	return cmd
}
