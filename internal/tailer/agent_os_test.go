//go:build linux

package tailer

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// agentProbe is the head of a Python probe of the agent's functions: agent.py (its path
// the probe's first argument) run with __name__ "agent", so that main does not start, its
// names in g.
const agentProbe = `import sys, os
g = {"__name__": "agent"}
exec(open(sys.argv[1]).read(), g)
`

// TestAgentWatchReadsEveryEvent runs the agent's inotify reader under every Python: more
// events than one read takes (300 creations with long names, about 65 KB of events) all
// come out of one call, asked without select's word (as at a look on the grid); with
// nothing waiting the call returns none, without blocking and without an error.
func TestAgentWatchReadsEveryEvent(t *testing.T) {
	const probe = agentProbe + `d = sys.argv[2]
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
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			out, err := exec.Command(py.Path, "-S", "-E", "-c", probe, filepath.Join("agent", "agent.py"), t.TempDir()).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != "300 0" {
				t.Fatalf("events of 300 creations, then again: %q, want \"300 0\"", got)
			}
		})
	}
}

// TestAgentWidensItsPipe starts the agent under every Python by the command line sshd
// runs, stdout a pipe, following one file: once it has greeted, the pipe holds at least
// 256 KiB (the default is 64 KiB), so that a batch of frames does not wait for sshd to read
// half of it. Closing stdin still ends it at once.
func TestAgentWidensItsPipe(t *testing.T) {
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			log := filepath.Join(t.TempDir(), "a.log")
			if err := os.WriteFile(log, []byte("one\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			req := agentRequest{Follow: true, PollMillis: 20, Streams: []streamRequest{{ID: 1, Path: log, Lines: 1, Window: 1 << 16}}}
			cmd := exec.Command("sh", "-c", req.command())
			cmd.Env = append(os.Environ(), py.Env...)
			cmd.Stdout, cmd.Stderr = w, os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			greeting, err := bufio.NewReader(r).ReadString('\n')
			if err != nil || greeting != "\x00CVMTAIL"+protocolVersion+"\n" {
				t.Fatalf("greeting %q, %v", greeting, err)
			}
			size, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("the agent, its stdin closed: %v", err)
			}
			if err != nil || size < 256<<10 {
				t.Fatalf("the agent's stdout pipe holds %d bytes (%v), want at least 256 KiB", size, err)
			}
		})
	}
}
