package iostreams

import (
	"bytes"
	"fmt"
	"testing"
)

func TestStderrOnATerminalIsEscaped(t *testing.T) {
	msg := "cvmtail: NTNX-A-CVM: /x\x1b]52;c;aGk=\x07: no such file\n"
	var tty, pipe bytes.Buffer
	fmt.Fprint(stderrWriter(&tty, true), msg)
	fmt.Fprint(stderrWriter(&pipe, false), msg)
	if want := "cvmtail: NTNX-A-CVM: /x\\x1b]52;c;aGk=\\x07: no such file\n"; tty.String() != want {
		t.Errorf("terminal got %q, want %q", tty.String(), want)
	}
	if pipe.String() != msg {
		t.Errorf("a pipe got %q: stderr into a file or pipe passes unchanged", pipe.String())
	}
}

func TestColorEnabled(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		policy                     string
		tty, noColor, cannotShowIt bool
		want                       bool
	}{
		{"auto on a terminal", "auto", true, false, false, true},
		{"auto into a pipe", "auto", false, false, false, false},
		{"auto with NO_COLOR", "auto", true, true, false, false},
		{"auto on a console that would print escapes as text", "auto", true, false, true, false},
		{"always on such a console: asked for", "always", true, false, true, true},
		{"always into a pipe", "always", false, true, false, true},
		{"never on a terminal", "never", true, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, _ := Test()
			s.SetStdoutTTY(tc.tty)
			s.SetNoColor(tc.noColor)
			s.colorCapable = !tc.cannotShowIt
			if got := s.ColorEnabled(tc.policy); got != tc.want {
				t.Errorf("ColorEnabled(%q) = %v, want %v", tc.policy, got, tc.want)
			}
		})
	}
}

func TestHas256Colors(t *testing.T) {
	for _, tc := range []struct {
		term, colorterm string
		want            bool
	}{
		{"xterm-256color", "", true},
		{"screen-256color", "", true},
		{"tmux-256color", "", true},
		{"xterm", "truecolor", true},
		{"xterm", "24bit", true},
		{"xterm-kitty", "TrueColor", true},
		{"xterm", "", false},
		{"linux", "", false},
		{"vt100", "yes", false},
		{"", "", false},
	} {
		if got := has256Colors(tc.term, tc.colorterm); got != tc.want {
			t.Errorf("TERM=%q COLORTERM=%q: %v, want %v", tc.term, tc.colorterm, got, tc.want)
		}
	}
}
