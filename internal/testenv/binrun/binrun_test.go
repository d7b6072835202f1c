package binrun

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRunKeepsLinesAsRead(t *testing.T) {
	// A last line without a newline, a line longer than any read buffer, stderr and a status.
	r := Start(t, "/bin/sh", nil,
		"-c", `printf 'one\n\ntwo\n'; head -c 3000000 /dev/zero | tr '\0' x; printf '\nlast'; echo oops >&2; exit 3`)
	if code := r.Wait(10 * time.Second); code != 3 {
		t.Fatalf("exit %d, want 3; stderr:\n%s", code, r.Stderr())
	}
	lines := r.Lines()
	if len(lines) != 5 || !slices.Equal(lines[:3], []string{"one\n", "\n", "two\n"}) ||
		len(lines[3]) != 3000001 || lines[4] != "last" {
		t.Errorf("Lines: %d lines %.40q, want one, empty, two, 3000000 x and last, newlines kept", len(lines), lines)
	}
	text := r.TextLines()
	if len(text) != 5 || text[1] != "" || text[2] != "two" || len(text[3]) != 3000000 || text[4] != "last" {
		t.Errorf("TextLines: %.40q, want the lines without their newlines", text)
	}
	if got := r.Stderr(); got != "oops\n" {
		t.Errorf("Stderr %q, want %q", got, "oops\n")
	}
}

func TestRunEnvAndWaitLines(t *testing.T) {
	r := Start(t, "/bin/sh", []string{"BINRUN_WORD=word"}, "-c", `echo "$BINRUN_WORD"; exec sleep 60`)
	r.WaitTextLines("the word", 10*time.Second, func(l []string) bool { return slices.Contains(l, "word") })
	r.WaitLines("the word and its newline", time.Second, func(l []string) bool { return slices.Contains(l, "word\n") })
	if err := r.Cmd().Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if code := r.Wait(10 * time.Second); code != -1 {
		t.Errorf("exit %d after a kill, want -1", code)
	}
}

func TestRunIsKilledWhenTheTestEnds(t *testing.T) {
	var r *Run
	t.Run("sleep", func(t *testing.T) {
		r = Start(t, "sleep", nil, "60")
	})
	select {
	case <-r.done:
	default:
		t.Fatal("sleep still running after its test ended")
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	bin, err := Build(dir, "./testdata/hello", "BINRUN_TEST_BIN", "-trimpath")
	if err != nil {
		t.Fatal(err)
	}
	if bin != filepath.Join(dir, "hello") {
		t.Errorf("built %s, want %s", bin, filepath.Join(dir, "hello"))
	}
	if out, err := exec.Command(bin).Output(); err != nil || string(out) != "hello\n" {
		t.Errorf("%s: %q, %v; want hello", bin, out, err)
	}

	t.Setenv("BINRUN_TEST_BIN", "/elsewhere/hello")
	if bin, err := Build(dir, "./testdata/no-such-package", "BINRUN_TEST_BIN"); err != nil || bin != "/elsewhere/hello" {
		t.Errorf("with the override set: %q, %v; want /elsewhere/hello and nothing built", bin, err)
	}
}

type fakeM struct {
	ran  bool
	code int
}

func (m *fakeM) Run() int { m.ran = true; return m.code }

func TestWithSetupRunsAfterSetupAndCleansUp(t *testing.T) {
	m := &fakeM{code: 7}
	var dir string
	code := WithSetup(m, func(d string) error {
		dir = d
		return os.WriteFile(filepath.Join(d, "built"), nil, 0o644)
	}).Run()
	if code != 7 || !m.ran {
		t.Errorf("status %d, ran %v; want the tests' status 7", code, m.ran)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s survived the run: %v", dir, err)
	}

	m = &fakeM{}
	if code := WithSetup(m, func(string) error { return errors.New("no go toolchain") }).Run(); code != 1 || m.ran {
		t.Errorf("failed setup: status %d, ran %v; want 1 and no tests", code, m.ran)
	}
}
