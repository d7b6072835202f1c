//go:build linux

package tailer

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// wakeups is how many times the process has gone to sleep and been woken (voluntary
// context switches): a count, not a time, so a loaded machine does not change it much.
func wakeups(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "voluntary_ctxt_switches:"); ok {
			var n int
			_, _ = fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	t.Fatal("no voluntary_ctxt_switches in /proc/PID/status")
	return 0
}

// TestIdleAgentSleepsUntilTheFileChanges: an agent following a quiet file waits on inotify
// instead of polling (50 looks a second at the default 20 ms), and still sees a line
// appended, a rotation and the new file's lines. Hundreds of agents sit on a
// cluster's CVMs for hours; idle, they must cost the CVMs nothing.
func TestIdleAgentSleepsUntilTheFileChanges(t *testing.T) {
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			idleAgentSleepsUntilTheFileChanges(t, py)
		})
	}
}

func idleAgentSleepsUntilTheFileChanges(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	path := filepath.Join(dir, "quiet.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := agentRequest{Follow: true, PollMillis: 20, Streams: []streamRequest{{ID: 1, Path: path, Lines: 1, Window: 1 << 16}}}
	cmd := exec.Command("sh", "-c", req.command())
	cmd.Env = append(os.Environ(), py.Env...)
	stdin, err := cmd.StdinPipe() // open until the test ends: closing it stops the agent
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	got := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	expect := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-got:
				if !ok {
					t.Fatalf("agent ended before %q", want)
				}
				if l == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %q from the agent", want)
			}
		}
	}
	expect("old")
	// Past the start: a second of looking often after the backlog, then inotify is set up.
	time.Sleep(1500 * time.Millisecond)
	before := wakeups(t, cmd.Process.Pid)
	time.Sleep(2 * time.Second)
	if n := wakeups(t, cmd.Process.Pid) - before; n > 20 {
		t.Errorf("an idle agent woke %d times in 2 s; polling every 20 ms would be about 100, inotify about 2", n)
	}

	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(s)
		_ = f.Close()
	}
	appendTo(path, "after a quiet while\n")
	expect("after a quiet while")
	time.Sleep(1500 * time.Millisecond) // idle again: the next changes come through inotify
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(path+".1", "last of the old file\n")
	appendTo(path, "first of the new file\n")
	expect("last of the old file")
	expect("first of the new file")
}
