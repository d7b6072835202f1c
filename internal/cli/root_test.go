package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
)

// run executes the command tree with args as Main does, and returns the exit status,
// stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		PrintError(errOut, err)
	}
	return cmdutil.ExitCode(err), out.String(), errOut.String()
}

func TestMistypedCommandIsAUsageError(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr []string
	}{
		{[]string{"tial", "genesis"}, []string{"cvmtail: unknown command \"tial\"\n", "cvmtail: hint: did you mean tail?\n"}},
		{[]string{"lgos"}, []string{"cvmtail: hint: did you mean logs?\n"}},
		{[]string{"frobnicate"}, []string{"cvmtail: unknown command \"frobnicate\"\n", "cvmtail: hint: see 'cvmtail --help'"}},
		{[]string{"list-cvms", "NTNX-A-CVM"}, []string{"cvmtail: list-cvms takes no arguments, got \"NTNX-A-CVM\"\n", "--cvm NTNX-A-CVM"}},
	}
	for _, tt := range tests {
		code, out, stderr := run(t, tt.args...)
		if code != cmdutil.ExitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit 2 and nothing on stdout", tt.args, code, out)
		}
		for _, w := range tt.wantStderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr %q lacks %q", tt.args, stderr, w)
			}
		}
	}
	if code, out, _ := run(t); code != 0 || !strings.Contains(out, "Usage:") {
		t.Errorf("no command: exit %d, stdout %q; want the help and 0", code, out)
	}
}

func TestCompletionDescriptionsHaveNoBackticks(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
	root := NewRootCmd(f)
	args := []string{"__complete", "tail", "--"}
	forCompletion(root, args)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "--ssh-config\tssh_config FILE") || strings.Contains(out.String(), "`") {
		t.Errorf("completions:\n%s", out.String())
	}
	// --help keeps naming the value.
	tail, _, err := NewRootCmd(f).Find([]string{"tail"})
	if err != nil {
		t.Fatal(err)
	}
	if u := tail.Flags().Lookup("ssh-config"); u == nil || !strings.Contains(u.Usage, "`FILE`") {
		t.Errorf("usage changed outside completion: %v", u)
	}
}
