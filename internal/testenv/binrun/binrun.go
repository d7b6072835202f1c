// Package binrun runs a built binary in tests: TestMain builds it once (Main, Build), and
// each test starts it (Start) and watches it from outside, as a user does: its stdout
// lines as they come, its stderr, its exit status.
//
//	var binary string
//
//	func TestMain(m *testing.M) {
//		binrun.Main(m, func(dir string) (err error) {
//			binary, err = binrun.Build(dir, ".", "CVMTAIL_BIN")
//			return err
//		})
//	}
//
//	r := binrun.Start(t, binary, []string{"NO_COLOR=1"}, "tail", "genesis")
//	r.WaitLines("a line", 10*time.Second, func(l []string) bool { return len(l) > 0 })
//	_ = r.Cmd().Process.Signal(os.Interrupt)
//	if code := r.Wait(2 * time.Second); code != 130 { ... }
//
// Lines keeps each line as read, with its newline (a last line without one shows as such);
// TextLines drops the newlines, for tests that compare text.
package binrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// M runs a package's tests: a *testing.M, or what WithSetup returns.
type M interface{ Run() int }

// Main is a TestMain for the tests of built binaries: it makes a temporary directory, calls
// setup with it (to build, typically with Build), runs the tests, removes the directory and
// exits with the tests' status. If setup fails, Main prints the error and exits with status 1.
func Main(m M, setup func(dir string) error) {
	os.Exit(WithSetup(m, setup).Run())
}

// WithSetup is Main for a TestMain that hands its tests to another runner, such as
// testscript.Main, which must see them first: the returned M's Run does what Main does but
// returns the status instead of exiting.
func WithSetup(m M, setup func(dir string) error) M {
	return withSetup{m, setup}
}

type withSetup struct {
	m     M
	setup func(dir string) error
}

func (w withSetup) Run() int {
	dir, err := os.MkdirTemp("", "binrun")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := w.setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return w.m.Run()
}

// Build builds the main package pkg (as go build takes it: ".", "../cvmtail") with the extra
// go build flags into dir and returns the binary's path; the binary is named after the
// package's directory. If the environment variable named override is set, its value is the
// binary (one built elsewhere: another version, or while the tree does not build) and nothing
// is built; an empty override allows none. go build's messages go to stderr.
func Build(dir, pkg, override string, flags ...string) (string, error) {
	if override != "" {
		if bin := os.Getenv(override); bin != "" {
			return bin, nil
		}
	}
	abs, err := filepath.Abs(pkg)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(abs))
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	build := exec.Command("go", args...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	return bin, nil
}

// Run is one run of a binary, its stdout collected line by line as it comes.
type Run struct {
	t    testing.TB
	name string // the binary's file name, for messages
	cmd  *exec.Cmd
	done chan struct{} // closed once stdout is read to the end and the process has exited
	code int           // the exit status, once done is closed

	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
}

// Start starts binary with args, its environment the test process's plus env. The process
// is killed when the test ends, if it is still running then.
func Start(t testing.TB, binary string, env []string, args ...string) *Run {
	t.Helper()
	r := &Run{t: t, name: filepath.Base(binary), done: make(chan struct{})}
	r.cmd = exec.Command(binary, args...)
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stderr = lockedWriter{&r.mu, &r.stderr}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		br := bufio.NewReaderSize(out, 1<<20)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				r.mu.Lock()
				r.lines = append(r.lines, line)
				r.mu.Unlock()
			}
			if err != nil {
				break
			}
		}
		r.code = exitCode(r.cmd.Wait())
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// exitCode is the status of a process that Wait returned err for: -1 when it was killed by
// a signal, or when its output could not be read.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// lockedWriter lets the process's stderr be read while it is still being written.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// Cmd is the running command, to signal its process.
func (r *Run) Cmd() *exec.Cmd { return r.cmd }

// Lines returns the stdout lines so far as read, each with its newline; only a last line
// the process ended without a newline has none.
func (r *Run) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// TextLines returns the stdout lines so far without their newlines.
func (r *Run) TextLines() []string {
	lines := r.Lines()
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\n")
	}
	return lines
}

// Stderr returns what the process has written to stderr so far.
func (r *Run) Stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// WaitLines waits up to d until pred holds for the Lines so far, and fails the test if the
// process exits or the time runs out before; what names the awaited lines for the message.
func (r *Run) WaitLines(what string, d time.Duration, pred func(lines []string) bool) {
	r.t.Helper()
	r.waitFor(what, d, r.Lines, pred)
}

// WaitTextLines is WaitLines over the TextLines.
func (r *Run) WaitTextLines(what string, d time.Duration, pred func(lines []string) bool) {
	r.t.Helper()
	r.waitFor(what, d, r.TextLines, pred)
}

func (r *Run) waitFor(what string, d time.Duration, lines func() []string, pred func([]string) bool) {
	r.t.Helper()
	deadline := time.After(d)
	for !pred(lines()) {
		select {
		case <-r.done:
			if pred(lines()) {
				return
			}
			r.t.Fatalf("%s exited (%d) before %s; stderr:\n%s", r.name, r.code, what, r.Stderr())
		case <-deadline:
			r.t.Fatalf("no %s after %v; have %d lines; stderr:\n%s", what, d, len(r.Lines()), r.Stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Wait waits up to d for the process to exit by itself and returns its exit status (-1 if
// a signal killed it); it fails the test if the process is still running after d.
func (r *Run) Wait(d time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(d):
		r.t.Fatalf("%s did not exit within %v; stderr:\n%s", r.name, d, r.Stderr())
		return -1
	}
}
