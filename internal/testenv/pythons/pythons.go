// Package pythons finds the Python interpreters the agent is tested under.
package pythons

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Python is an interpreter the agent is tested under, and the environment for a
// tailertest.Local whose sessions find it (and no other) as the agent command looks for one.
type Python struct {
	Name string // "system", "2.7", "3.6"
	Path string
	Env  []string // for tailertest.Local.Env
	// Missing says why this interpreter is not here (see Require).
	Missing string
}

// System is the machine's python3 as a CVM session would find it: not a pyenv shim,
// which starts a shell script at every call and takes seconds on a loaded machine.
func System(t testing.TB) Python {
	t.Helper()
	path := "/usr/bin/python3"
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("python3"); err != nil {
			missing(t, "python3 is not installed")
		}
	}
	return python(t, "system", "python3", path)
}

// All are the system's python3 and the pyenv builds of Python 2.7 and 3.6 that CVMs of the
// CentOS 7 era carry ($PYENV_ROOT, or ~/.pyenv). Run each in a subtest of its own and call
// Require there: a missing one skips that subtest, or fails it when CVMTAIL_E2E=1 (CI,
// whose machines carry them).
func All(t testing.TB) []Python {
	t.Helper()
	out := []Python{System(t)}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".pyenv")
	}
	for _, v := range []struct{ version, as string }{{"2.7", "python"}, {"3.6", "python3"}} {
		matches, _ := filepath.Glob(filepath.Join(root, "versions", v.version+".*", "bin", "python"+v.version))
		if len(matches) == 0 {
			out = append(out, Python{Name: v.version,
				Missing: "no pyenv build of Python " + v.version + " under " + root + "/versions (pyenv install " + v.version + ")"})
			continue
		}
		out = append(out, python(t, v.version, v.as, matches[len(matches)-1]))
	}
	return out
}

// Require skips or fails t when p is not on this machine.
func (p Python) Require(t testing.TB) {
	t.Helper()
	if p.Missing != "" {
		missing(t, p.Missing)
	}
}

// python makes a directory holding only the interpreter, under the name the agent command
// looks for first that it answers to: a CVM with Python 2.7 alone has no python3.
func python(t testing.TB, name, as, path string) Python {
	dir := t.TempDir()
	if err := os.Symlink(path, filepath.Join(dir, as)); err != nil {
		t.Fatal(err)
	}
	return Python{Name: name, Path: path, Env: []string{"PATH=" + dir}}
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CVMTAIL_E2E") == "1" {
		t.Fatal(why + " (CVMTAIL_E2E=1 makes this a failure)")
	}
	t.Skip(why)
}
