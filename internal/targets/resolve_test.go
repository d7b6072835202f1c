package targets

import (
	"context"
	"reflect"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
)

// --cvm as users write it: repeated, comma-separated, or the space-separated list that
// svmips prints on a CVM.
func TestCVMFlagLists(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"repeated", []string{"--cvm", "10.1.1.11", "--cvm", "10.1.1.12"}, []string{"10.1.1.11", "10.1.1.12"}},
		{"comma-separated", []string{"--cvm", "10.1.1.11,10.1.1.12"}, []string{"10.1.1.11", "10.1.1.12"}},
		{"svmips", []string{"--cvm", "10.1.1.11 10.1.1.12 10.1.1.13"}, []string{"10.1.1.11", "10.1.1.12", "10.1.1.13"}},
		{"spaces after commas, tabs and a newline", []string{"--cvm", "10.1.1.11, 10.1.1.12\t10.1.1.13\n"}, []string{"10.1.1.11", "10.1.1.12", "10.1.1.13"}},
		{"mixed, with a duplicate", []string{"--cvm", "cvm-a cvm-b", "--cvm=cvm-b,cvm-c"}, []string{"cvm-a", "cvm-b", "cvm-c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			AddFlags(cmd, &o)
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
			targets, err := Resolve(context.Background(), f, &o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tg := range targets {
				got = append(got, tg.Address)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("CVMs %q, want %q", got, tc.want)
			}
		})
	}
}
