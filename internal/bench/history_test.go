//go:build linux

package bench

// The history part (issue 18): --since over a rotation history of plain, gzip and xz
// generations on 4 CVMs, measuring what the agent reads on each CVM (/proc/<pid>/io) and
// sends, against the window asked for, and the time to the first line.

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

const (
	histCVMs = 4
	histSpan = 24 * time.Hour // the history: compressed for its first half, plain after
	// histLineLen is a genesis line's length, newline included.
	histLineLen = 128
)

// histMiB is the size of each half of the history per CVM, plain and (before compression)
// compressed: issue 18 asks for 1 GiB each; CVMTAIL_BENCH_HISTORY_MB sets it (default 256,
// which keeps `make bench` within minutes on this machine's 2 cores).
func histMiB() int {
	if n, err := strconv.Atoi(os.Getenv("CVMTAIL_BENCH_HISTORY_MB")); err == nil && n > 0 {
		return n
	}
	return 256
}

// histRow is one --since run over the history.
type histRow struct {
	what             string
	window           int64         // bytes of the lines asked for, per CVM
	read, sent       int64         // per CVM, the most of the 4: the agent's rchar and wchar
	firstLine, total time.Duration // from start to the first line, and to the last
	got, want        int64         // bytes on stdout, of all CVMs
	files            string        // what the window spans
}

// histGeneration is one file of the history: lines from..to, one every step.
type histGeneration struct {
	name     string
	from, to time.Time
}

// writeGeneration writes the lines of g to w, each histLineLen bytes, stamped as genesis
// stamps them; it returns the bytes written.
func writeGeneration(w io.Writer, g histGeneration, step time.Duration) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	pad := strings.Repeat("x", histLineLen)
	var n int64
	for t := g.from; t.Before(g.to); t = t.Add(step) {
		head := t.Format("2006-01-02 15:04:05.000") + "Z INFO node_manager.py:1234 "
		head = strings.Replace(head, ".", ",", 1)
		k, err := bw.WriteString(head + pad[:histLineLen-1-len(head)] + "\n")
		if err != nil {
			return n, err
		}
		n += int64(k)
	}
	return n, bw.Flush()
}

// buildHistory writes the generations once into dir and returns them, oldest first, with
// the time between lines.
func buildHistory(t *testing.T, dir string, now time.Time) ([]histGeneration, time.Duration) {
	half := int64(histMiB()) << 20
	step := time.Duration(float64(histSpan/2) / float64(half/histLineLen))
	start := now.Add(-histSpan)
	mid := now.Add(-histSpan / 2)
	q := histSpan / 8
	gens := []histGeneration{
		{"genesis.out." + start.Format("20060102-150405") + "Z.xz", start, start.Add(q)},
		{"genesis.out." + start.Add(q).Format("20060102-150405") + "Z.xz", start.Add(q), start.Add(2 * q)},
		{"genesis.out." + start.Add(2*q).Format("20060102-150405") + ".gz", start.Add(2 * q), start.Add(3 * q)},
		{"genesis.out." + start.Add(3*q).Format("20060102-150405") + ".gz", start.Add(3 * q), mid},
		{"genesis.out." + mid.Format("20060102-150405"), mid, mid.Add(q)},
		{"genesis.out." + mid.Add(q).Format("20060102-150405"), mid.Add(q), mid.Add(2 * q)},
		{"genesis.out." + mid.Add(2*q).Format("20060102-150405"), mid.Add(2 * q), mid.Add(3 * q)},
		{"genesis.out", mid.Add(3 * q), now},
	}
	began := time.Now()
	for _, g := range gens {
		p := filepath.Join(dir, g.name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(g.name, ".gz"):
			z, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
			if _, err := writeGeneration(z, g, step); err != nil {
				t.Fatal(err)
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(g.name, ".xz"):
			cmd := exec.Command("xz", "-0", "-T2", "-c")
			cmd.Stdout = f
			in, _ := cmd.StdinPipe()
			if err := cmd.Start(); err != nil {
				t.Fatalf("xz: %v", err)
			}
			if _, err := writeGeneration(in, g, step); err != nil {
				t.Fatal(err)
			}
			in.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("xz: %v", err)
			}
		default:
			if _, err := writeGeneration(f, g, step); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		last := g.to.Add(-step)
		if err := os.Chtimes(p, last, last); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("history: %d MiB plain + %d MiB compressed per CVM written in %v", histMiB(), histMiB(), time.Since(began).Round(time.Millisecond))
	return gens, step
}

// windowBytes is the size of the lines stamped in [from, to): in each generation, lines at
// its start + k·step.
func windowBytes(from, to time.Time, gens []histGeneration, step time.Duration) int64 {
	var n int64
	for _, g := range gens {
		lo, hi := maxTime(from, g.from), minTime(to, g.to)
		if !hi.After(lo) {
			continue
		}
		ceil := func(t time.Time) int64 { return int64((t.Sub(g.from) + step - 1) / step) }
		n += (ceil(hi) - ceil(lo)) * histLineLen
	}
	return n
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// agentIO is the agent's rchar and wchar on c, read while it runs.
func agentIO(t *testing.T, c *sshdcvm.CVM) (read, written int64, ok bool) {
	for _, p := range userProcs(t, c) {
		if !p.agent() {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.pid))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if v, found := strings.CutPrefix(l, "rchar: "); found {
				read, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, found := strings.CutPrefix(l, "wchar: "); found {
				written, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return read, written, true
	}
	return 0, 0, false
}

func history(t *testing.T, cl *sshdcvm.Cluster, rep *report) {
	cvms := cl.CVMs[:histCVMs]
	now := time.Now().UTC().Truncate(time.Second)
	src := t.TempDir()
	gens, step := buildHistory(t, src, now)
	for _, c := range cvms {
		for _, g := range gens {
			// One copy of the data, a name in every CVM's directory (each its own agent).
			if err := os.Link(filepath.Join(src, g.name), c.Path(g.name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer func() {
		for _, c := range cvms {
			for _, g := range gens {
				os.Remove(c.Path(g.name))
			}
		}
	}()
	mid := now.Add(-histSpan / 2)
	runs := []struct {
		what, files string
		args        []string
		from, to    time.Time
	}{
		// --since 2h, as a time: the history ends when it was written, not when cvmtail starts.
		{"--since 2h", "the newest plain generation", []string{"--since-time", now.Add(-2 * time.Hour).Format(time.RFC3339)}, now.Add(-2 * time.Hour), now},
		{"--since-time T --until T+1h, T in the gzip part", "one .gz generation", []string{
			"--since-time", mid.Add(-2 * time.Hour).Format(time.RFC3339), "--until", mid.Add(-time.Hour).Format(time.RFC3339)},
			mid.Add(-2 * time.Hour), mid.Add(-time.Hour)},
		{"--since-time T --until T+1h, T in the xz part", "one .xz generation", []string{
			"--since-time", now.Add(-histSpan + 2*time.Hour).Format(time.RFC3339), "--until", now.Add(-histSpan + 3*time.Hour).Format(time.RFC3339)},
			now.Add(-histSpan + 2*time.Hour), now.Add(-histSpan + 3*time.Hour)},
	}
	for _, run := range runs {
		row := histRow{what: run.what, files: run.files, window: windowBytes(run.from, run.to, gens, step)}
		// The prefix and a space per line: -o raw prints the lines alone.
		row.want = row.window * int64(len(cvms))
		// Following, so that the agents are still there to be measured once every line came.
		args := append(append([]string{"tail", "genesis", "-o", "raw"}, run.args...), argsFor(cl, cvms)...)
		cmd := cvmtailCmd(args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var got atomic.Int64
		var first atomic.Int64
		began := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 1<<20)
			for {
				n, err := out.Read(buf)
				if n > 0 {
					first.CompareAndSwap(0, int64(time.Since(began)))
					got.Add(int64(n))
				}
				if err != nil {
					return
				}
			}
		}()
		// The agents' counts, sampled while they run: with --until the streams end, and the
		// agents with them, as soon as the window is sent.
		reads, sents := make([]int64, len(cvms)), make([]int64, len(cvms))
		sample := func() {
			for i, c := range cvms {
				if r, w, ok := agentIO(t, c); ok {
					reads[i], sents[i] = max(reads[i], r), max(sents[i], w)
				}
			}
		}
		// Until every line came, or nothing came for 30 s.
		lastGot, lastChange := int64(0), time.Now()
		for got.Load() < row.want && time.Since(lastChange) < 30*time.Second {
			sample()
			time.Sleep(10 * time.Millisecond)
			if n := got.Load(); n != lastGot {
				lastGot, lastChange = n, time.Now()
			}
		}
		row.total = time.Since(began)
		sample()
		for i := range cvms {
			row.read, row.sent = max(row.read, reads[i]), max(row.sent, sents[i])
		}
		_ = cmd.Process.Signal(os.Interrupt)
		<-done
		_ = cmd.Wait()
		row.got, row.firstLine = got.Load(), time.Duration(first.Load())
		if row.got != row.want {
			t.Errorf("history %s: %d bytes on stdout, want %d", run.what, row.got, row.want)
		}
		t.Logf("history %s: window %d MiB per CVM, agent read %d MiB sent %d MiB, first line %v, all %v",
			run.what, row.window>>20, row.read>>20, row.sent>>20, row.firstLine.Round(time.Millisecond), row.total.Round(time.Millisecond))
		rep.history = append(rep.history, row)
		for _, c := range cvms {
			_, _ = c.WaitNoUserProcesses(5 * time.Second)
		}
	}
}
