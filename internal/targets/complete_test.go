package targets

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

// Shell completion of --cvm and --cluster comes from the cache, without a request.
func TestFlagCompletionFromCache(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{})
	// os.UserCacheDir: XDG_CACHE_HOME on Linux, $HOME/Library/Caches on macOS.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	e.cache = defaultCacheDir()
	if _, err := Resolve(context.Background(), e.f, e.opts(clusters("alpha-pe01"))); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Total()

	complete := func(args ...string) string {
		root := &cobra.Command{Use: "cvmtail"}
		var o Options
		sub := &cobra.Command{Use: "list-cvms", RunE: func(*cobra.Command, []string) error { return nil }}
		AddFlags(sub, &o)
		root.AddCommand(sub)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append([]string{cobra.ShellCompRequestCmd, "list-cvms"}, args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	out := complete("--prism", e.srv.Addr, "--cvm", "")
	if !strings.Contains(out, "10.20.1.31\tNTNX-21AB0001-A-CVM (alpha-pe01)\n") {
		t.Errorf("--cvm completion = %q", out)
	}
	out = complete("--prism", e.srv.Addr, "--cluster", "")
	if !strings.Contains(out, "alpha-pe01\n") || !strings.Contains(out, "bravo-pe02\n") || !strings.Contains(out, "all\tevery cluster") {
		t.Errorf("--cluster completion = %q", out)
	}
	// --cluster all (or a list) does not narrow --cvm's completion to a cluster named "all".
	for _, sel := range []string{"all", "bravo-pe02,alpha-pe01"} {
		out = complete("--prism", e.srv.Addr, "--cluster", sel, "--cvm", "")
		if !strings.Contains(out, "10.20.1.31\t") {
			t.Errorf("--cluster %s --cvm completion = %q", sel, out)
		}
	}
	if e.sim.Total() != calls {
		t.Errorf("completion made %d requests to Prism", e.sim.Total()-calls)
	}
}
