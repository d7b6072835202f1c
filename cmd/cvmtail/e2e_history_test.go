//go:build linux

package main_test

// End-to-end tests of --since over a rotation history (rotated, gzipped and xz-compressed
// generations next to the followed file) and --until, against real sshd CVMs whose only
// Python is the system's python3 or a pyenv build of 2.7 or 3.6.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// writeGenerations writes genesis.out's history on c: records from..to-1 one a minute from
// base, stamped as genesis writes them, each file's mtime at its last record. It returns
// "<file> <line>" in order.
func writeGenerations(t *testing.T, c *sshdcvm.CVM, base time.Time, gens [][3]any) []string {
	t.Helper()
	var all []string
	for _, g := range gens {
		name, from, to := g[0].(string), g[1].(int), g[2].(int)
		var b bytes.Buffer
		for i := from; i < to; i++ {
			l := fmt.Sprintf("%s INFO node_manager.py:42 %s record %d", base.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05,000Z"), c.Addr, i)
			fmt.Fprintln(&b, l)
			all = append(all, name+" "+l)
		}
		data := b.Bytes()
		switch {
		case strings.HasSuffix(name, ".gz"):
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, _ = w.Write(data)
			_ = w.Close()
			data = z.Bytes()
		case strings.HasSuffix(name, ".xz"):
			cmd := exec.Command("xz", "-c")
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("xz: %v", err)
			}
			data = out
		}
		if err := os.WriteFile(c.Path(name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		last := base.Add(time.Duration(to-1) * time.Minute)
		if err := os.Chtimes(c.Path(name), last, last); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

func TestE2EHistorySinceUntilAndHandOver(t *testing.T) {
	for _, py := range pythons.All(t) {
		t.Run("python "+py.Name, func(t *testing.T) {
			py.Require(t)
			opts := sshdcvm.Options{N: 2}
			if py.Name != "system" {
				opts.Python, opts.PythonAs = py.Path, "python3"
				if py.Name == "2.7" {
					opts.PythonAs = "python"
				}
			}
			cl := sshdcvm.Start(t, opts)
			base := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)
			want := map[string][]string{}
			for _, c := range cl.CVMs {
				want[c.Addr] = writeGenerations(t, c, base, [][3]any{
					{"genesis.out.20261201-010000Z.xz", 0, 60}, {"genesis.out.20261201-020000.gz", 60, 120},
					{"genesis.out.20261201-030000", 120, 180}, {"genesis.out", 180, 240}})
			}
			window := func(addr string, from, to int) []string {
				var out []string
				for _, l := range want[addr] {
					var n int
					if _, err := fmt.Sscanf(l[strings.LastIndex(l, "record "):], "record %d", &n); err == nil && n >= from && n < to {
						out = append(out, l)
					}
				}
				return out
			}

			// An incident window across the xz, gz and plain generations, in JSON.
			since := base.Add(30 * time.Minute).Format(time.RFC3339)
			until := base.Add(150 * time.Minute).Format(time.RFC3339)
			r := start(t, append([]string{"tail", "genesis", "--since-time", since, "--until", until, "--no-follow", "-o", "json"}, cl.Args()...)...)
			if code := r.Wait(60 * time.Second); code != 0 {
				t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
			}
			got := map[string][]string{}
			for _, l := range r.Lines() {
				var m map[string]string
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				if m["path"] != "/home/nutanix/data/logs/genesis.out" {
					t.Errorf("path %q, want the followed name", m["path"])
				}
				got[m["address"]] = append(got[m["address"]], path.Base(m["file"])+" "+m["line"])
			}
			for _, c := range cl.CVMs {
				if w := window(c.Addr, 30, 150); strings.Join(got[c.Addr], "\n") != strings.Join(w, "\n") {
					t.Errorf("%s: %d lines %.200q, want %d %.200q", c.Addr, len(got[c.Addr]), got[c.Addr], len(w), w)
				}
			}
			if s := r.Stderr(); s != "" {
				t.Errorf("stderr %q", s)
			}

			// The same window into one file per CVM, as a cron job would keep it.
			if py.Name == "system" {
				dir := t.TempDir()
				r := start(t, append([]string{"tail", "genesis", "--since-time", since, "--until", until, "--no-follow",
					"--output-dir", dir, "-o", "none"}, cl.Args()...)...)
				if code := r.Wait(60 * time.Second); code != 0 {
					t.Fatalf("--output-dir: exit status %d; stderr:\n%s", code, r.Stderr())
				}
				for _, c := range cl.CVMs {
					data, err := os.ReadFile(filepath.Join(dir, c.Addr, "genesis.log"))
					if err != nil {
						t.Fatal(err)
					}
					var w []string
					for _, l := range window(c.Addr, 30, 150) {
						w = append(w, l[strings.IndexByte(l, ' ')+1:]+"\n")
					}
					if string(data) != strings.Join(w, "") {
						t.Errorf("%s: captured %d bytes, want the %d lines of the window", c.Addr, len(data), len(w))
					}
				}
			}

			// Following: the history, then the live file, rotated meanwhile.
			r = start(t, append([]string{"tail", "genesis", "--since-time", base.Add(100 * time.Minute).Format(time.RFC3339), "-o", "raw"}, cl.Args()...)...)
			total := 0
			for _, c := range cl.CVMs {
				total += len(window(c.Addr, 100, 240))
			}
			r.WaitLines("the history", 60*time.Second, func(l []string) bool { return len(l) >= total })
			// The agent runs under the Python the CVM was given.
			wantExe, _ := filepath.EvalSymlinks(py.Path)
			procs, _ := cl.CVMs[1].UserProcesses()
			var exes []string
			for _, p := range procs {
				if strings.Contains(p.Cmdline, "cvmtail remote agent") {
					exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
					exes = append(exes, exe)
				}
			}
			if len(exes) != 1 || exes[0] != wantExe {
				t.Errorf("agents run %q, want %s", exes, wantExe)
			}
			c := cl.CVMs[0]
			c.Append(t, "genesis.out", "after the history 1\n")
			if err := os.Rename(c.Path("genesis.out"), c.Path("genesis.out.20261201-040000")); err != nil {
				t.Fatal(err)
			}
			c.Write(t, "genesis.out", "after the rotation 2\n")
			r.WaitLines("the new lines", 20*time.Second, func(l []string) bool { return len(l) >= total+2 })
			if err := r.Cmd().Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			r.Wait(3 * time.Second)
			lines := r.Lines()
			if len(lines) != total+2 || lines[total] != "after the history 1\n" || lines[total+1] != "after the rotation 2\n" {
				t.Errorf("%d lines, want %d and the two new ones last: %q", len(lines), total+2, lines[max(len(lines)-3, 0):])
			}
			noLeftovers(t, cl)
		})
	}
}

// With --merge-window, the histories of all CVMs come out in time order, however fast each
// CVM reads its own; --grep applies to them as to live lines.
func TestE2EHistoryMergeWindowAndGrep(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 3})
	base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Hour)
	type rec struct {
		at   time.Time
		line string
	}
	var all []rec
	for i, c := range cl.CVMs {
		// CVM i writes minute 3k+i: one global sequence across the three histories, and
		// CVM 0's history is much larger, so it would come first without the merge.
		var gens [][3]any
		for g := 0; g < 4; g++ {
			name := fmt.Sprintf("genesis.out.2026120%d-000000", g+1)
			switch g {
			case 0:
				name += ".xz"
			case 1:
				name += ".gz"
			case 3:
				name = "genesis.out"
			}
			gens = append(gens, [3]any{name, g * 40, (g + 1) * 40})
		}
		for _, g := range gens {
			name, from, to := g[0].(string), g[1].(int), g[2].(int)
			var b bytes.Buffer
			for k := from; k < to; k++ {
				at := base.Add(time.Duration(3*k+i) * time.Minute)
				l := fmt.Sprintf("%s INFO node_manager.py:42 event %d", at.Format("2006-01-02 15:04:05,000Z"), 3*k+i)
				fmt.Fprintln(&b, l)
				if i == 0 {
					for p := 0; p < 3000; p++ { // bulk that --grep drops: it takes CVM 0 longer
						fmt.Fprintf(&b, "%s DEBUG node_manager.py:43 noise %d\n", at.Format("2006-01-02 15:04:05,000Z"), p)
					}
				}
				if 3*k+i >= 30 {
					all = append(all, rec{at, c.Addr + " genesis " + l})
				}
			}
			data := b.Bytes()
			switch {
			case strings.HasSuffix(name, ".gz"):
				var z bytes.Buffer
				w := gzip.NewWriter(&z)
				_, _ = w.Write(data)
				_ = w.Close()
				data = z.Bytes()
			case strings.HasSuffix(name, ".xz"):
				cmd := exec.Command("xz", "-c")
				cmd.Stdin = bytes.NewReader(data)
				out, err := cmd.Output()
				if err != nil {
					t.Fatal(err)
				}
				data = out
			}
			if err := os.WriteFile(c.Path(name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			last := base.Add(time.Duration(3*(to-1)+i) * time.Minute)
			if err := os.Chtimes(c.Path(name), last, last); err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].at.Before(all[b].at) })
	var want []string
	for _, r := range all {
		want = append(want, r.line)
	}
	r := start(t, append([]string{"tail", "genesis", "--since-time", base.Add(30 * time.Minute).Format(time.RFC3339),
		"--no-follow", "--merge-window", "100ms", "--grep", " event "}, cl.Args()...)...)
	if code := r.Wait(60 * time.Second); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
	}
	got := r.TextLines()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		for i := range want {
			if i >= len(got) || got[i] != want[i] {
				t.Fatalf("line %d: got %q, want %q (%d lines, want %d)", i, got[min(i, len(got)-1)], want[i], len(got), len(want))
			}
		}
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
}
