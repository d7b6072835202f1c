//go:build linux

package main_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// What reaches stderr on a terminal is escaped like stdout: messages name files, CVMs and
// errors that came from outside, and an OSC 52 sequence among them would write the
// clipboard.
func TestSecurityStderrOnATerminalIsEscaped(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not installed: no pseudo-terminal to test with")
	}
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 1})
	hostile := sshdcvm.LogRoot + "/x\x1b]52;c;aGk=\x07\u009b2J"
	args := append([]string{"tail", hostile, "--no-follow", "--color", "never"}, cl.Args()...)
	out, _ := exec.Command(script, "-qfec", binary+" "+strings.Join(quoteAll(args), " "), "/dev/null").Output()
	shown := strings.ReplaceAll(string(out), "\r\n", "\n")
	for _, c := range []string{"\x1b", "\x07", "\xc2\x9b", "\r"} {
		if strings.Contains(shown, c) {
			t.Errorf("control character %q reached the terminal through stderr: %q", c, out)
		}
	}
	if !strings.Contains(shown, `x\x1b]52;c;aGk=\x07\xc2\x9b2J: no such file`) {
		t.Errorf("the error is not shown, escaped: %q", out)
	}
}
