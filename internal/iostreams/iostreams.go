// Package iostreams holds the process's standard streams and decides, once, whether
// stdout is a terminal and whether colour is on.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// IOStreams are the standard streams as the commands see them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	noColor   bool // NO_COLOR set in the environment
	// colorCapable is false for a terminal that would print colour escapes as text (a
	// console of Windows before 10): --color auto stays off there.
	colorCapable bool
	termWidth    int
}

// System returns the streams of this process.
func System() *IOStreams {
	_, noColor := os.LookupEnv("NO_COLOR")
	io := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		noColor:   noColor,
	}
	io.colorCapable = !io.stdoutTTY || canShowColor(os.Stdout)
	if io.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			io.termWidth = w
		}
	}
	return io
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Test returns streams backed by buffers, none of them a terminal.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, colorCapable: true}, in, out, errOut
}

// IsStdinTTY tells whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY tells whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY tells whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY, SetStdoutTTY and SetStderrTTY let tests pretend a stream is a terminal.
func (s *IOStreams) SetStdinTTY(v bool)  { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetNoColor records whether NO_COLOR is set (tests).
func (s *IOStreams) SetNoColor(v bool) { s.noColor = v }

// TerminalWidth is the width of the terminal on stdout, or 0 when unknown.
func (s *IOStreams) TerminalWidth() int { return s.termWidth }

// ColorEnabled applies the --color policy: "always", "never", or "auto" (on when stdout is
// a terminal that shows colours and NO_COLOR is unset).
func (s *IOStreams) ColorEnabled(policy string) bool {
	switch policy {
	case "always":
		return true
	case "never":
		return false
	default:
		return s.stdoutTTY && s.colorCapable && !s.noColor
	}
}

// ReadPassword reads a line from the terminal on stdin without echo.
func (s *IOStreams) ReadPassword(prompt string) (string, error) {
	f, ok := s.In.(*os.File)
	if !ok || !s.stdinTTY {
		return "", io.ErrUnexpectedEOF
	}
	_, _ = io.WriteString(s.ErrOut, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	_, _ = io.WriteString(s.ErrOut, "\n")
	if err != nil {
		return "", err
	}
	return string(b), nil
}
