package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
)

// completionShells are the shells `cvmtail completion` writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

// newCmdCompletion replaces cobra's default completion command: ours takes the shell as an
// argument (`cvmtail completion bash|zsh|fish`, docs/cli/cvmtail_completion.md), refuses
// others with exit status 2,
// and writes bash's V2 script with descriptions.
func newCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script for bash, zsh or fish on stdout. The script completes
commands, flags, fixed flag values and, for 'cvmtail tail', the log names of the catalog
with what each is; it asks cvmtail itself, so it stays right when cvmtail is upgraded.

bash (with the bash-completion package):

    source <(cvmtail completion bash)      # this shell only
    cvmtail completion bash > ~/.local/share/bash-completion/completions/cvmtail

zsh (with compinit):

    cvmtail completion zsh > "${fpath[1]}/_cvmtail"

fish:

    cvmtail completion fish > ~/.config/fish/completions/cvmtail.fish`,
		ValidArgs:             completionShells,
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageWithHint(fmt.Errorf("completion needs one shell, got %d arguments", len(args)),
					"use 'cvmtail completion bash', 'zsh' or 'fish'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			out := f.IOStreams.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return cmdutil.UsageWithHint(fmt.Errorf("unsupported shell %q", args[0]),
				"use 'cvmtail completion bash', 'zsh' or 'fish'")
		},
	}
}
