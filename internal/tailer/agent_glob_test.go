//go:build linux

package tailer

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// globCases are names and patterns whose matching the client and the agent must agree on:
// the client refuses an N frame whose name its own globMatch does not match.
var globCases = []struct {
	pattern, name string
	want          bool
}{
	{"stargate*", "stargate.INFO", true},
	{"stargate*", "stargate", true},
	{"stargate*", "xstargate", false},
	{"*.log", "a.log", true},
	{"*.log", "a.log.1", false},
	{"*.log", ".hidden.log", false},
	{".*.log", ".hidden.log", true},
	{"*", ".", false},
	{"?.out", "a.out", true},
	{"?.out", "ab.out", false},
	{"?", "\xc3\xa9", false}, // ? is one byte
	{"??", "\xc3\xa9", true},
	{"[abc].out", "b.out", true},
	{"[abc].out", "d.out", false},
	{"[a-c]x", "bx", true},
	{"[a-c]x", "dx", false},
	{"[!a-c]x", "dx", true},
	{"[!a-c]x", "ax", false},
	{"[^a-c]x", "dx", true},
	{"[]a]", "]", true},
	{"[!]a]", "]", false},
	{"[a-]", "-", true},
	{"[c-a]", "b", false}, // a range whose end is below its start holds nothing
	{"[c-a]", "c", false},
	{"[x", "[x", true}, // a [ without its ] is itself
	{"[x", "x", false},
	{"a\\*", "a\\b", true}, // no escapes: \ is a byte like any other
	{"a\\*", "a*", false},
	{"*.[0-9]", "messages.1", true},
	{"genesis.out.*", "genesis.out.20261201-101500.xz", true},
	{"a*b*c", "aXXbYYc", true},
	{"a*b*c", "aXXbYY", false},
	{"$(x)*", "$(x) y", true},
	{"*", "with\nnewline", false},
	{"*", "caf\xe9", true}, // not UTF-8: bytes as the file system has them
	// A file whose own name looks like a pattern is still followed by its path.
	{"app[1].log", "app[1].log", true},
	{"app[1].log", "app1.log", true},
	{"a*", "a*", true},
	{"?x", "?x", true},
}

// globAgreementCases are globCases, patterns of many stars against long names that a
// backtracking matcher would take hours over (a CVM chooses its names), and generated
// patterns and names over a small alphabet, whose answer is globMatch's (checked on its
// own by the cases above and in glob_test.go).
func globAgreementCases() []struct {
	pattern, name string
	want          bool
} {
	cases := append([]struct {
		pattern, name string
		want          bool
	}(nil), globCases...)
	long := strings.Repeat("a", 250)
	cases = append(cases, []struct {
		pattern, name string
		want          bool
	}{
		{strings.Repeat("*a", 12) + "*b", long, false},
		{strings.Repeat("*a", 12) + "*", long, true},
		{strings.Repeat("*?", 12) + "*[!a]", long, false},
		{"a*" + strings.Repeat("[a-c]*", 10) + "a", long, true},
	}...)
	rng := rand.New(rand.NewPCG(13, 18))
	tokens := []string{"a", "b", "*", "?", "[ab]", "[!a]", "[b-a]", "[", "]", "."}
	bytes := "ab.[]"
	for range 2000 {
		var p, n strings.Builder
		for range rng.IntN(7) {
			p.WriteString(tokens[rng.IntN(len(tokens))])
		}
		for range rng.IntN(9) {
			n.WriteByte(bytes[rng.IntN(len(bytes))])
		}
		cases = append(cases, struct {
			pattern, name string
			want          bool
		}{p.String(), n.String(), globMatch(p.String(), n.String())})
	}
	return cases
}

// TestGlobMatchAgreesWithTheAgent: globMatch and the agent's glob_matcher, under every
// Python the agent runs on, say the same of every case, and in seconds.
func TestGlobMatchAgreesWithTheAgent(t *testing.T) {
	for _, c := range globCases {
		if strings.Contains(c.name, "\n") {
			continue // no frame header carries one: the agent never sends such a name
		}
		if got := globMatch(c.pattern, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
	cases := globAgreementCases()
	var in strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&in, "%s %s\n", hex.EncodeToString([]byte(c.pattern)), hex.EncodeToString([]byte(c.name)))
	}
	const probe = agentProbe + `import binascii
for line in sys.stdin.read().splitlines():
    p, n = [binascii.unhexlify(x) for x in line.split(" ")]
    ok = g["glob_name_ok"](g["glob_matcher"](p), p[:1] == b".", n)
    sys.stdout.write("1\n" if ok else "0\n")
`
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			// A backtracking matcher does not end on the long names: a minute says so.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, py.Path, "-S", "-E", "-c", probe, filepath.Join("agent", "agent.py"))
			cmd.Stdin = strings.NewReader(in.String())
			out, err := cmd.Output()
			if ctx.Err() != nil {
				t.Fatalf("the agent did not match %d names within a minute: a pattern of many stars backtracks", len(cases))
			}
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got := strings.Fields(string(out))
			if len(got) != len(cases) {
				t.Fatalf("%d answers for %d cases: %q", len(got), len(cases), out)
			}
			for i, c := range cases {
				if (got[i] == "1") != c.want {
					t.Errorf("agent: %q matches %q: %s, want %v", c.pattern, c.name, got[i], c.want)
				}
			}
		})
	}
}

// TestAgentExpandsAGlob runs the agent under every Python: it announces each regular file
// of the directory that matches, within the id range and at most as many as it holds
// (said once), never a hidden file, a directory or a name with a newline; a match found
// later while following is read from its start; and the matches of an earlier session,
// given as streams or as ended, are not announced again.
func TestAgentExpandsAGlob(t *testing.T) {
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			agentExpandsAGlob(t, py)
		})
	}
}

func agentExpandsAGlob(t *testing.T, py pythons.Python) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"svc.a.log", "svc.b.log", "svc.c.log", ".svc.h.log", "svc.n\nl.log", "other.txt"} {
		write(n, n+"\n")
	}
	if err := os.Mkdir(filepath.Join(dir, "svc.dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	glob := filepath.Join(dir, "svc.*.log")
	run := func(req agentRequest, stdin func(*exec.Cmd)) (*exec.Cmd, chan string) {
		cmd := exec.Command("sh", "-c", req.command())
		cmd.Env = append(os.Environ(), py.Env...)
		stdin(cmd)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		got := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				got <- sc.Text()
			}
			close(got)
		}()
		return cmd, got
	}
	headers := func(got chan string, until string, d time.Duration) []string {
		t.Helper()
		var hs []string
		deadline := time.After(d)
		for {
			select {
			case l, ok := <-got:
				if !ok {
					return hs
				}
				if l == "" || l[0] < 'A' || l[0] > 'Z' || l[1] != ' ' {
					continue // greeting, payload
				}
				hs = append(hs, l)
				if l == until {
					return hs
				}
			case <-deadline:
				t.Fatalf("no %q in %d s; frames:\n%s", until, int(d.Seconds()), strings.Join(hs, "\n"))
			}
		}
	}
	has := func(hs []string, want string) bool {
		for _, h := range hs {
			if h == want {
				return true
			}
		}
		return false
	}

	// Without follow: ids 10 and 11 for three matches.
	noFollow := agentRequest{PollMillis: 20, Streams: []streamRequest{{ID: 1, Path: glob, Window: 1 << 16, Lines: 10,
		Glob: &globRequest{Lo: 10, Next: 10, Hi: 11}}}}
	_, got := run(noFollow, func(c *exec.Cmd) {})
	hs := headers(got, "", 20*time.Second)
	for _, want := range []string{"N 10 1 " + dir + "/svc.a.log", "N 11 1 " + dir + "/svc.b.log",
		"W 1 more than 2 files match; following the first 2", "Z 1", "Z 10", "Z 11"} {
		if !has(hs, want) {
			t.Errorf("no %q among the frames:\n%s", want, strings.Join(hs, "\n"))
		}
	}
	if n := strings.Count(strings.Join(hs, "\n"), "N "); n != 2 {
		t.Errorf("%d N frames, want 2:\n%s", n, strings.Join(hs, "\n"))
	}

	// Following, after a session that had svc.a.log (given to resume) and svc.b.log (ended),
	// and an earlier run that captured svc.c.log up to its byte 3 (Config.GlobResume).
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, "svc.c.log"), &st); err != nil {
		t.Fatal(err)
	}
	cIdent := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	follow := agentRequest{Follow: true, PollMillis: 20, Streams: []streamRequest{
		{ID: 1, Path: glob, Window: 1 << 16, Lines: -1, Glob: &globRequest{Lo: 10, Next: 12, Hi: 19, Done: []string{dir + "/svc.b.log"},
			Resume: []ResumePoint{{Path: dir + "/svc.c.log", Ident: cIdent, Offset: 3}}}},
		{ID: 10, Path: dir + "/svc.a.log", Window: 1 << 16, Lines: -1}}}
	var stdin interface{ Close() error }
	_, got = run(follow, func(c *exec.Cmd) {
		w, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdin = w
	})
	defer stdin.Close()
	hs = headers(got, "N 12 1 "+dir+"/svc.c.log", 20*time.Second)
	hs = append(hs, headers(got, fmt.Sprintf("O 12 %s 3 %d", cIdent, len("svc.c.log\n")), 20*time.Second)...) // resumed at byte 3
	write("svc.d.log", "d1\n")
	hs = append(hs, headers(got, "N 13 1 "+dir+"/svc.d.log", 20*time.Second)...)
	hs = append(hs, headers(got, "D 13 3", 20*time.Second)...) // from its start
	all := strings.Join(hs, "\n")
	if strings.Contains(all, "svc.a.log") || strings.Contains(all, "svc.b.log") || strings.Contains(all, "svc.h") ||
		strings.Contains(all, "svc.dir") || strings.Contains(all, "svc.n") {
		t.Errorf("announced a match known already, hidden, a directory or a name with a newline:\n%s", all)
	}
}
