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
