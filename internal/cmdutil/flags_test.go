package cmdutil

import (
	"reflect"
	"slices"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cvmtail/cvmtail/internal/config"
)

// The flag tables are the one list of the CVM-choosing and SSH flags: what they define is
// what CVMFlagNames lists, and a context of the config file takes the same names.
func TestFlagTablesAreTheOneList(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	AddTargetFlags(cmd, &TargetOptions{})
	AddSSHFlags(cmd, &SSHOptions{})
	var defined []string
	cmd.Flags().VisitAll(func(fl *pflag.Flag) { defined = append(defined, fl.Name) })
	names := CVMFlagNames()
	slices.Sort(defined)
	sorted := slices.Sorted(slices.Values(names))
	if !slices.Equal(defined, sorted) {
		t.Errorf("defined %q, CVMFlagNames %q", defined, sorted)
	}

	// Keys are the flags' names (README "Contexts"); no flag takes a password, and
	// --refresh is about one run, not a cluster.
	// (A command's own keys, tail's lines or grep, are checked by its package.)
	var keys []string
	ct := reflect.TypeFor[config.Context]()
	for i := range ct.NumField() {
		if ct.Field(i).Tag.Get("cmd") == "" {
			keys = append(keys, ct.Field(i).Tag.Get("yaml"))
		}
	}
	withContext := map[string]bool{}
	for _, f := range targetFlags {
		withContext[f.name] = f.fromContext != nil
	}
	for _, f := range sshFlags {
		withContext[f.name] = f.fromContext != nil
	}
	for _, k := range keys {
		if k != "password" && !withContext[k] {
			t.Errorf("config key %q is not applied by a flag of the same name", k)
		}
	}
	for _, n := range names {
		if withContext[n] != slices.Contains(keys, n) {
			t.Errorf("flag %q: applied from a context %v, a config key %v", n, withContext[n], slices.Contains(keys, n))
		}
	}
}
