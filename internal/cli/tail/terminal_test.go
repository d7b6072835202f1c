package tail

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/output"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/targets"
)

func labTargets(n int) []targets.Target {
	var ts []targets.Target
	for i := 1; i <= n; i++ {
		ts = append(ts, targets.Target{Name: fmt.Sprintf("NTNX-GEN01%03d-A-CVM", i), Address: fmt.Sprintf("127.0.0.%d", 10+i)})
	}
	return ts
}

// renderConfig is what a run on these targets renders with.
func renderConfig(t *testing.T, o *Options, targets []targets.Target) output.Options {
	t.Helper()
	o.targets = targets
	cfg, err := o.pipelineConfig(context.Background(), &stderrLog{w: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Render
}

func distinctColors(t *testing.T, colors map[string]string, targets []targets.Target) {
	t.Helper()
	seen := map[string]string{}
	for _, tg := range targets {
		c := colors[tg.Name]
		if c == "" {
			t.Fatalf("%s has no colour", tg.Name)
		}
		if other, ok := seen[c]; ok {
			t.Errorf("%s and %s share %q", other, tg.Name, c)
		}
		seen[c] = tg.Name
	}
}

func TestEveryCVMOfARunGetsItsOwnColour(t *testing.T) {
	o, err := parse(t, "genesis", "--cvm", "x", "--color", "always")
	if err != nil {
		t.Fatal(err)
	}
	// The lab's four CVMs shared two colours when each name was hashed alone.
	four := labTargets(4)
	r := renderConfig(t, o, four)
	distinctColors(t, r.CVMColors, four)

	// 16 CVMs on a terminal with 256 colours: no repeats.
	sixteen := labTargets(16)
	o.IO.SetHas256Colors(true)
	r = renderConfig(t, o, sixteen)
	distinctColors(t, r.CVMColors, sixteen)
	if !strings.HasPrefix(r.CVMColors[sixteen[0].Name], "38;5;") {
		t.Errorf("a 256-colour terminal gets %q", r.CVMColors[sixteen[0].Name])
	}

	// The same CVMs, listed by Prism in another order, get the same colours.
	reversed := slices.Clone(sixteen)
	slices.Reverse(reversed)
	if again := renderConfig(t, o, reversed); !maps.Equal(again.CVMColors, r.CVMColors) {
		t.Errorf("another order, other colours:\n%v\n%v", again.CVMColors, r.CVMColors)
	}
}

func TestCVMColorsFlag(t *testing.T) {
	o, err := parse(t, "genesis", "--cvm", "x", "--color", "always", "--cvm-colors", "32, 36,1;35,bold hiblue",
		"--template", "{{cvmcolor .cvm}} {{.line}}")
	if err != nil {
		t.Fatal(err)
	}
	targets := labTargets(4)
	r := renderConfig(t, o, targets)
	distinctColors(t, r.CVMColors, targets)
	for name, c := range r.CVMColors {
		if !slices.Contains([]string{"32", "36", "1;35", "1;94"}, c) {
			t.Errorf("%s: %q is not one of --cvm-colors", name, c)
		}
	}
	// --template's cvmcolor gives a CVM the colour the prefix gives it.
	name := targets[2].Name
	line := output.NewRenderer(r, name, "", "genesis", "").Append(nil, []byte("x\n"), o.Factory.Now())
	if want := "\x1b[" + r.CVMColors[name] + "m" + name + "\x1b[0m x\n"; string(line) != want {
		t.Errorf("template %q, want %q", line, want)
	}

	for _, bad := range []string{"32,,33", "purple", "38;5;300", ","} {
		_, err := parse(t, "genesis", "--cvm", "x", "--cvm-colors", bad)
		if err == nil || !strings.Contains(err.Error(), "invalid --cvm-colors") || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("--cvm-colors %q: %v (status %d), want a usage error", bad, err, cmdutil.ExitCode(err))
		}
		if h := cmdutil.HintOf(err); !strings.Contains(h, "38;5;208") {
			t.Errorf("--cvm-colors %q: hint %q", bad, h)
		}
	}
}

func TestOnATerminalTheLogTextStartsInOneColumn(t *testing.T) {
	dir := t.TempDir()
	short, long := filepath.Join(dir, "a.out"), filepath.Join(dir, "stargate.INFO")
	for _, p := range []string{short, long} {
		if err := os.WriteFile(p, []byte("one\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cvms := map[string]*tailertest.Local{"c1": {}, "cvm-long-name": {}}
	want := map[bool][]string{
		// Into a pipe or a file: exactly "<cvm> <log> <line>", as before.
		false: {"c1 a.out one", "c1 stargate.INFO one", "cvm-long-name a.out one", "cvm-long-name stargate.INFO one"},
		true: {"c1            a.out         one", "c1            stargate.INFO one",
			"cvm-long-name a.out         one", "cvm-long-name stargate.INFO one"},
	}
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprintf("tty=%v", tty), func(t *testing.T) {
			f, out, _ := testFactory()
			f.IOStreams.SetStdoutTTY(tty)
			o := newOptions(f, []string{short, long}, "c1", "cvm-long-name")
			o.Color = "never"
			if err := run(t, o, cvms); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			slices.Sort(got)
			if !slices.Equal(got, want[tty]) {
				t.Errorf("stdout\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want[tty], "\n"))
			}
		})
	}
	// JSON and raw stay as they are on a terminal.
	for _, format := range []string{"json", "raw"} {
		f, out, _ := testFactory()
		f.IOStreams.SetStdoutTTY(true)
		o := newOptions(f, []string{short}, "c1")
		o.Output = format
		if err := run(t, o, cvms); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "  ") {
			t.Errorf("-o %s padded: %q", format, out.String())
		}
	}
}
