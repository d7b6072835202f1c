// Package targets turns the flags that choose CVMs into the CVMs to talk to: the --cvm
// addresses as given, or the CVMs of a Prism (through the cache file), filtered by --cvm.
// The flags, the factory and the error kinds are cmdutil's; the hints for the errors this
// package returns are in cmdutil/hints.go.
package targets

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// Target is one CVM to talk to, as Prism describes it (list-cvms shows all of it), or
// only its Name and Address when --cvm names it without Prism. The engine knows a CVM by
// its name and address alone (tailer.Target): Engine makes those.
type Target = prism.CVM

// Engine is what the engine knows of each target: its name, and where to SSH.
func Engine(ts []Target) []tailer.Target {
	out := make([]tailer.Target, 0, len(ts))
	for _, t := range ts {
		out = append(out, tailer.Target{Name: t.Name, Address: t.Address})
	}
	return out
}

// Options are the flags that choose CVMs (cmdutil.TargetOptions) and what resolving them
// learnt that a later step needs.
type Options struct {
	cmdutil.TargetOptions

	// typed is the password typed at the prompt, for asking Prism again (Refresh).
	typed string
	// unlisted is how many selected clusters Resolve could not list (reported on stderr):
	// their CVMs are not among the targets.
	unlisted int
}

// UnlistedClusters is how many of the selected clusters the last Resolve could not list
// through Prism (each reported on stderr): what they hold failed for good, so a run that
// delivered the others' lines ends with exit status 1.
func (o *Options) UnlistedClusters() int { return o.unlisted }

// AddFlags registers the CVM-choosing flags (cmdutil.AddTargetFlags) on cmd, with the
// completion of --cluster and --cvm from the cache.
func AddFlags(cmd *cobra.Command, o *Options) {
	cmdutil.AddTargetFlags(cmd, &o.TargetOptions)
	registerCompletions(cmd, o, defaultCacheDir)
}

// Resolve turns the flags into CVMs: the --cvm addresses as given, or through Prism.
func Resolve(ctx context.Context, f *cmdutil.Factory, o *Options) ([]Target, error) {
	o.FillFromEnv(f.Getenv)
	cvms := splitList(o.CVMs)
	if o.Prism != "" {
		return resolvePrism(ctx, f, o, cvms)
	}
	if len(o.Clusters) > 0 {
		return nil, cmdutil.UsageWithHint(fmt.Errorf("--cluster needs --prism"),
			"name the Prism Central address with --prism HOST or CVMTAIL_PRISM")
	}
	if len(cvms) == 0 {
		hint := "name CVMs with --cvm ADDR[,ADDR...], or a cluster with --prism HOST"
		if names := f.UnchosenContexts; len(names) > 0 {
			hint += ", or choose a context of the config file with --context NAME (" + strings.Join(names, ", ") + "; or set default: in the file)"
		}
		return nil, cmdutil.UsageWithHint(fmt.Errorf("no CVM selected"), hint)
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
