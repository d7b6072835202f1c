//go:build linux

package tailer_test

import (
	"os/exec"
	"path/filepath"
	"strings"
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
