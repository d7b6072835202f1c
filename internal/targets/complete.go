package targets

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/prism"
)

// registerCompletions completes --cluster and --cvm from the Prism cache only: a
// completion must never wait for the network or ask for a password.
func registerCompletions(cmd *cobra.Command, o *Options, dir func() string) {
	_ = cmd.RegisterFlagCompletionFunc("cluster", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return completeClusters(dir(), completionPrism(o)), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("cvm", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return completeCVMs(dir(), completionPrism(o), clusterSelection(o.Clusters)), cobra.ShellCompDirectiveNoFileComp
	})
}

// defaultCacheDir is the cmdutil.Factory's cache directory of the real process; completion runs
// before any command has a factory at hand.
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "cvmtail")
}

// completionPrism is the normalized --prism (or CVMTAIL_PRISM), "" when none or invalid.
func completionPrism(o *Options) string {
	with := o.TargetOptions // completing changes no option
	with.FillFromEnv(os.Getenv)
	p := with.Prism
	if p == "" {
		return ""
	}
	addr, err := prism.NormalizeAddress(p)
	if err != nil {
		return ""
	}
	return addr
}

// completeClusters offers the cluster names the cache knows for prismAddr, and all.
func completeClusters(dir, prismAddr string) []string {
	var out []string
	for _, e := range cachedEntries(dir) {
		if prismAddr != "" && e.Prism != prismAddr {
			continue
		}
		for _, n := range e.Known {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return append(out, "all\tevery cluster of the Prism Central")
}

func completeCVMs(dir, prismAddr string, clusters []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range cachedEntries(dir) {
		if prismAddr != "" && e.Prism != prismAddr {
			continue
		}
		for _, c := range e.CVMs {
			if len(clusters) > 0 && clusters[0] != everyClusterWord && !slices.Contains(clusters, c.Cluster) && !slices.Contains(clusters, c.ClusterUUID) {
				continue
			}
			if seen[c.Address] {
				continue
			}
			seen[c.Address] = true
			out = append(out, c.Address+"\t"+c.Name+" ("+c.Cluster+")")
		}
	}
	slices.Sort(out)
	return out
}
