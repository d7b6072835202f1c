package cmdutil

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
)

// Target is one CVM to talk to.
type Target struct {
	Name    string // the CVM's name from Prism, or the address as given
	Address string // where to SSH (IP or host name)
	Cluster string // cluster name, when known
	State   string // CVM state from Prism ("normal", "maintenance", ...), when known
	// NATAddress and NATPort are where Prism says the CVM is reached through NAT (NATPort
	// 0: none given); --use-nat connects there (see UseNAT).
	NATAddress string
	NATPort    int
}

// TargetOptions are the flags that choose CVMs (targetFlags).
type TargetOptions struct {
	Prism        string
	Clusters     []string
	CVMs         []string
	Username     string
	PasswordFile string
	Password     string // only ever from the config file: no flag takes a password
	Insecure     bool
	CACert       string
	Refresh      bool

	// typed is the password typed at the prompt, for asking Prism again (RefreshTargets).
	typed string
	// unlisted is how many selected clusters ResolveTargets could not list (reported on
	// stderr): their CVMs are not among the targets.
	unlisted int
}

// UnlistedClusters is how many of the selected clusters the last ResolveTargets could not
// list through Prism (each reported on stderr): what they hold failed for good, so a run
// that delivered the others' lines ends with exit status 1.
func (o *TargetOptions) UnlistedClusters() int { return o.unlisted }

// AddTargetFlags registers the CVM-choosing flags (targetFlags) on cmd.
func AddTargetFlags(cmd *cobra.Command, o *TargetOptions) {
	for _, f := range targetFlags {
		f.define(cmd, f.name, o)
	}
	registerTargetCompletions(cmd, o, defaultCacheDir)
}

// ResolveTargets turns the flags into CVMs: the --cvm addresses as given, or through Prism.
func ResolveTargets(ctx context.Context, f *Factory, o *TargetOptions) ([]Target, error) {
	if o.Prism == "" && f.Getenv != nil {
		o.Prism = f.Getenv("CVMTAIL_PRISM")
	}
	cvms := splitList(o.CVMs)
	if o.Prism != "" {
		return resolvePrism(ctx, f, o, cvms)
	}
	if len(o.Clusters) > 0 {
		return nil, UsageWithHint(fmt.Errorf("--cluster needs --prism"),
			"name the Prism Central address with --prism HOST or CVMTAIL_PRISM")
	}
	if len(cvms) == 0 {
		hint := "name CVMs with --cvm ADDR[,ADDR...], or a cluster with --prism HOST"
		if names := f.UnchosenContexts; len(names) > 0 {
			hint += ", or choose a context of the config file with --context NAME (" + strings.Join(names, ", ") + "; or set default: in the file)"
		}
		return nil, UsageWithHint(fmt.Errorf("no CVM selected"), hint)
	}
	seen := map[string]bool{}
	var out []Target
	for _, c := range cvms {
		if seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, Target{Name: c, Address: c})
	}
	return out, nil
}

// splitList flattens repeated values separated by commas or white space, dropping empty
// ones: on a CVM, --cvm "$(svmips)" gives the cluster's CVM IPs separated by spaces.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
	}
	return out
}
