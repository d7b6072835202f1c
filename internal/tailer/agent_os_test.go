//go:build linux

package tailer_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// TestAgentWatchReadsEveryEvent runs the agent's inotify reader under every Python: more
// events than one read takes (300 creations with long names, about 65 KB of events) all
// come out of one call, asked without select's word (as at a look on the grid); with
// nothing waiting the call returns none, without blocking and without an error.
func TestAgentWatchReadsEveryEvent(t *testing.T) {
	const probe = `import sys, os
g = {"__name__": "agent"}
exec(open(sys.argv[1]).read(), g)
d = sys.argv[2]
w = g["Watch"].start()
if w is None:
    sys.stdout.write("no inotify\n")
    sys.exit(0)
w.add(d, g["IN_CREATE"])
for i in range(300):
    open(os.path.join(d, "%03d" % i + "x" * 200), "w").close()
names = set(name for wd, mask, name in w.events(False))
sys.stdout.write("%d %d\n" % (len(names), len(w.events(False))))
`
	eachPython(t, func(t *testing.T, py pythons.Python) {
		dir := t.TempDir()
		out, err := exec.Command(py.Path, "-S", "-E", "-c", probe, filepath.Join("agent", "agent.py"), dir).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "300 0" {
			t.Fatalf("events of 300 creations, then again: %q, want \"300 0\"", got)
		}
	})
}

// TestAgentWidensItsPipe starts the agent under every Python as sshd does, stdout a pipe,
// following one file: once it has greeted, the pipe holds at least 256 KiB (the default is
// 64 KiB), so that a batch of frames does not wait for sshd to read half of it. Closing
// stdin still ends it at once.
func TestAgentWidensItsPipe(t *testing.T) {
	eachPython(t, func(t *testing.T, py pythons.Python) {
		dir := t.TempDir()
		log := filepath.Join(dir, "a.log")
		if err := os.WriteFile(log, []byte("one\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cmd := exec.Command(py.Path, "-S", "-E", filepath.Join("agent", "agent.py"), "2", "1", "20", "0",
			"1", log, "65536", "0", "", "", "0")
		cmd.Stdout = w
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		greeting, err := bufio.NewReader(r).ReadString('\n')
		if err != nil || greeting != "\x00CVMTAIL2\n" {
			t.Fatalf("greeting %q, %v", greeting, err)
		}
		size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, r.Fd(), 1032, 0) // F_GETPIPE_SZ
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("the agent, its stdin closed: %v", err)
		}
		if errno != 0 || size < 256<<10 {
			t.Fatalf("the agent's stdout pipe holds %d bytes (%v), want at least 256 KiB", size, errno)
		}
	})
}
