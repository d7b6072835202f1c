// Package iostreams holds the process's standard streams and decides, once, whether
// stdout is a terminal and whether colour is on.
package iostreams

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"

	"github.com/cvmtail/cvmtail/internal/termsafe"
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
	// colors256: the terminal shows 256 colours or more (TERM, COLORTERM), so that CVM
	// names can take colours from a larger palette.
	colors256 bool
	termWidth int

	readPassword func(ctx context.Context, prompt string) (string, error) // tests
}

// System returns the streams of this process.
func System() *IOStreams {
	_, noColor := os.LookupEnv("NO_COLOR")
	stderrTTY := isTerminal(os.Stderr)
	io := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    stderrWriter(os.Stderr, stderrTTY),
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: stderrTTY,
		noColor:   noColor,
		colors256: has256Colors(os.Getenv("TERM"), os.Getenv("COLORTERM")),
	}
	io.colorCapable = !io.stdoutTTY || canShowColor(os.Stdout)
	if io.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			io.termWidth = w
		}
	}
	return io
}

// stderrWriter is where status lines go. On a terminal every control character is shown
// escaped, as on stdout: messages carry names, file names and errors that came from Prism,
// a CVM or a certificate, and none of it may drive the terminal (an OSC 52 sequence writes
// the clipboard). cvmtail's own messages hold no control character but the newline.
func stderrWriter(w io.Writer, tty bool) io.Writer {
	if !tty {
		return w
	}
	return termsafe.NewWriter(w)
}

// has256Colors tells from the environment whether the terminal shows 256 colours: a TERM
// such as xterm-256color, screen-256color or tmux-256color, or a COLORTERM that announces
// 24-bit colour (which every such terminal extends to the 256-colour codes).
func has256Colors(term, colorterm string) bool {
	switch strings.ToLower(colorterm) {
	case "truecolor", "24bit":
		return true
	}
	return strings.Contains(term, "256color")
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

// Has256Colors tells whether the terminal shows 256 colours (or more).
func (s *IOStreams) Has256Colors() bool { return s.colors256 }

// SetHas256Colors records whether the terminal shows 256 colours (tests).
func (s *IOStreams) SetHas256Colors(v bool) { s.colors256 = v }

// SetNoColor records whether NO_COLOR is set (tests).
func (s *IOStreams) SetNoColor(v bool) { s.noColor = v }

// TerminalWidth is the width of the terminal on stdout, or 0 when unknown.
func (s *IOStreams) TerminalWidth() int { return s.termWidth }

// SetTerminalWidth lets tests pretend a terminal of that width is on stdout.
func (s *IOStreams) SetTerminalWidth(w int) { s.termWidth = w }

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

// ReadPassword reads a line from the terminal on stdin without echo. It returns at once
// when ctx ends (Ctrl-C at the prompt), and the terminal's echo is back either way.
func (s *IOStreams) ReadPassword(ctx context.Context, prompt string) (string, error) {
	if s.readPassword != nil {
		return s.readPassword(ctx, prompt)
	}
	f, ok := s.In.(*os.File)
	if !ok || !s.stdinTTY {
		return "", io.ErrUnexpectedEOF
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	_, _ = io.WriteString(s.ErrOut, prompt)
	type answer struct {
		b   []byte
		err error
	}
	got := make(chan answer, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		got <- answer{b, err}
	}()
	select {
	case a := <-got:
		_, _ = io.WriteString(s.ErrOut, "\n")
		if a.err != nil {
			return "", a.err
		}
		return string(a.b), nil
	case <-ctx.Done():
		// term.ReadPassword is still reading; put the echo back ourselves, since it will not
		// before the process exits.
		_ = term.Restore(fd, state)
		_, _ = io.WriteString(s.ErrOut, "\n")
		return "", ctx.Err()
	}
}

// SetPasswordReader replaces the terminal prompt (tests).
func (s *IOStreams) SetPasswordReader(read func(ctx context.Context, prompt string) (string, error)) {
	s.readPassword = read
}
