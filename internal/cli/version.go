package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// Set at build time (see the Makefile's LDFLAGS):
//
//	-X github.com/cvmtail/cvmtail/internal/cli.version=1.2.3
//	-X github.com/cvmtail/cvmtail/internal/cli.commit=<full hash>
//	-X github.com/cvmtail/cvmtail/internal/cli.date=2026-11-22T10:56:04Z
//
// date is the commit's time, not the clock's, so that a rebuild gives the same bytes.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// currentBuild is this binary's BuildInfo: the -X values of `make build` or `make dist`,
// else what the Go toolchain recorded, for binaries built without the Makefile:
// `go install github.com/cvmtail/cvmtail/cmd/cvmtail@v1.2.3` records the module's version,
// and a `go build` in a git clone the commit and its time.
func currentBuild() cmdutil.BuildInfo {
	b := cmdutil.BuildInfo{Version: version, Commit: commit, Date: date,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	return fromGoBuildInfo(b, bi)
}

// fromGoBuildInfo fills what the -X flags left unset from the toolchain's record. Since Go
// 1.24 a build in a clone records a version too: the tag, or a pseudo-version, with
// "+dirty" for uncommitted changes.
func fromGoBuildInfo(b cmdutil.BuildInfo, bi *debug.BuildInfo) cmdutil.BuildInfo {
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		}
	}
	return b
}

// newCmdVersion is `cvmtail version`: --version's line, or with -o json all of the
// BuildInfo for scripts and inventories.
func newCmdVersion(f *cmdutil.Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the build date",
		Long: `Print cvmtail's version, the git commit it was built from and the build date (the
commit's time, so that rebuilding gives identical bytes), as 'cvmtail --version' does.
With -o json: an object with version, commit, date, go and platform.`,
		Example: `  cvmtail version
  cvmtail version -o json | jq -r .version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text":
				_, err := fmt.Fprintf(f.IOStreams.Out, "cvmtail %s\n", f.Build)
				return err
			case "json":
				b, err := json.Marshal(f.Build)
				if err != nil {
					return err
				}
				_, err = f.IOStreams.Out.Write(append(b, '\n'))
				return err
			}
			return cmdutil.UsageWithHint(fmt.Errorf("invalid --output %q", output), "use -o text or -o json")
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
