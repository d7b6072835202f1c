// Package tail implements `cvmtail tail`.
package tail

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// Options are tail's flags.
type Options struct{}

// NewCmdTail builds the command; runF replaces the run function in tests.
func NewCmdTail(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	return &cobra.Command{
		Use: "tail LOG...",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("tail: not implemented yet")
		},
	}
}
