package cmdutil

import (
	"github.com/spf13/cobra"
)

// TargetOptions are the flags that choose CVMs (targetFlags); internal/targets resolves
// them.
type TargetOptions struct {
	Prism        string
	Clusters     []string
	CVMs         []string
	Username     string
	PasswordFile string
	Password     string // from CVMTAIL_PASSWORD (FillFromEnv) or the config file: no flag takes a password
	Insecure     bool
	CACert       string
	Refresh      bool
}

// AddTargetFlags registers the CVM-choosing flags (targetFlags) on cmd. Commands call
// targets.AddFlags, which adds their completion from the Prism cache.
func AddTargetFlags(cmd *cobra.Command, o *TargetOptions) {
	for _, f := range targetFlags {
		f.define(cmd, f.name, o)
	}
}
