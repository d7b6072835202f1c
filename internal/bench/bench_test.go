//go:build linux

package bench

// TestBench runs the whole suite in one go so that every ratio compares numbers taken on the
// same machine in the same minutes: the machine this runs on is small, shared and noisy, and
// only same-run ratios mean something. It is skipped unless CVMTAIL_BENCH=1 (make bench).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/shquote"
	"github.com/cvmtail/cvmtail/internal/sshx/sshxtest"
	"github.com/cvmtail/cvmtail/internal/testenv/binrun"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
	"golang.org/x/crypto/ssh"
)

var binary string

func TestMain(m *testing.M) {
	if os.Getenv("CVMTAIL_BENCH") != "1" {
		os.Exit(m.Run())
	}
	binrun.Main(m, func(dir string) (err error) {
		// CVMTAIL_BENCH_BINARY: a cvmtail built elsewhere, to compare before and after a change.
		binary, err = binrun.Build(dir, "../../cmd/cvmtail", "CVMTAIL_BENCH_BINARY", "-trimpath")
		return err
	})
}

// Sizes of the scenarios (issue 7).
const (
	bulkCVMs     = 4
	bulkFiles    = 3
	bulkLines    = 200_000
	lineLen      = 150 // bytes, newline included
	cappedLines  = 20_000
	latCVMs      = 4
	latFiles     = 4
	latRate      = 2000 // lines/s over all latency files
	latWarmup    = 2 * time.Second
	latMeasure   = 10 * time.Second
	fanCVMs      = 16
	fanFiles     = 14 // files per CVM in the fan-out: a start opens them all
	fanRounds    = 5
	manyCVMs     = 16
	manyFiles    = 14
	manyRun      = 10 * time.Second
	manyPerTick  = 2       // lines per file every 50 ms: 224 files × 40 = 8,960 lines/s
	stallPrefill = 1 << 20 // bytes per file, so every window fills while nobody reads
)

func TestBench(t *testing.T) {
	if os.Getenv("CVMTAIL_BENCH") != "1" {
		t.Skip("the benchmark suite runs with CVMTAIL_BENCH=1 (make bench)")
	}
	cl := sshdcvm.Start(t, sshdcvm.Options{N: manyCVMs})
	rep := &report{}
	rep.machine = machine()

	// CVMTAIL_BENCH_ONLY=bulk,latency,fanout,remote,many,history runs a part (while tuning).
	only := os.Getenv("CVMTAIL_BENCH_ONLY")
	want := func(part string) bool { return only == "" || strings.Contains(","+only+",", ","+part+",") }
	if want("bulk") {
		bulk(t, cl, rep)
	}
	if want("latency") {
		latency(t, cl, rep, false)
		latency(t, cl, rep, true)
	}
	if want("fanout") {
		fanout(t, cl, rep)
	}
	if want("remote") {
		remote(t, cl, rep)
	}
	if want("many") || want("many-reading") { // many-reading: without the stalled row, while tuning
		many(t, cl, rep, false)
		if want("many") {
			many(t, cl, rep, true)
		}
	}
	if want("history") {
		history(t, cl, rep)
	}

	rep.print(os.Stdout)
	if dir := os.Getenv("CVMTAIL_BENCH_OUT"); dir != "" {
		if err := rep.write(dir); err != nil {
			t.Errorf("writing results: %v", err)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Lines that carry their origin. A content is exactly lineLen-1 bytes:
//   "<cvm> <file> <seq:7> <pad x...>" or, for latency, with "<unix nanos>" after seq.
// The checker can therefore tell, for every output line, whether its prefix belongs to its
// content and whether the content is whole.

func content(cvm, file string, seq int) []byte {
	b := make([]byte, 0, lineLen)
	b = append(b, cvm...)
	b = append(b, ' ')
	b = append(b, file...)
	b = append(b, ' ')
	b = append(b, fmt.Sprintf("%07d ", seq)...)
	for len(b) < lineLen-1 {
		b = append(b, 'x')
	}
	return append(b, '\n')
}

// prefixStyle is how a tool labels a line: "<cvm> <file> " (cvmtail, sed), "<cvm>: " (clush),
// "<cvm>: " or "<cvm>:<port>: " (parallel-ssh), or nothing.
type prefixStyle int

const (
	styleNone prefixStyle = iota
	styleText
	styleClush
	stylePSSH
)

type checked struct {
	lines   int // output lines
	good    int // whole and correctly labelled
	corrupt int // cut, merged or mislabelled
}

// check reads a tool's output and classifies every line.
func check(r io.Reader, style prefixStyle) checked {
	var c checked
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			c.lines++
			c.corrupt++
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			c.lines++
			if lineOK(line, style) {
				c.good++
			} else {
				c.corrupt++
			}
		}
		if err != nil {
			return c
		}
	}
}

func lineOK(line []byte, style prefixStyle) bool {
	if len(line) < lineLen || line[len(line)-1] != '\n' {
		return false
	}
	body := line[len(line)-lineLen : len(line)-1]
	prefix := line[:len(line)-lineLen]
	// "<cvm> <file> <seq:7> xxx..."
	sp1 := bytes.IndexByte(body, ' ')
	if sp1 < 0 {
		return false
	}
	sp2 := bytes.IndexByte(body[sp1+1:], ' ')
	if sp2 < 0 {
		return false
	}
	cvm, file := body[:sp1], body[sp1+1:sp1+1+sp2]
	rest := body[sp1+1+sp2+1:]
	if len(rest) < 9 || rest[7] != ' ' {
		return false
	}
	for _, d := range rest[:7] {
		if d < '0' || d > '9' {
			return false
		}
	}
	for _, x := range rest[8:] {
		if x != 'x' {
			return false
		}
	}
	return prefixMatches(prefix, cvm, file, style)
}

func prefixMatches(prefix, cvm, file []byte, style prefixStyle) bool {
	switch style {
	case styleNone:
		return len(prefix) == 0
	case styleText: // "<cvm> <file> "
		return len(prefix) == len(cvm)+len(file)+2 && bytes.HasPrefix(prefix, cvm) &&
			prefix[len(cvm)] == ' ' && bytes.Equal(prefix[len(cvm)+1:len(prefix)-1], file) && prefix[len(prefix)-1] == ' '
	default: // "<cvm>: " or, for parallel-ssh, "<cvm>:<port>: "
		if !bytes.HasPrefix(prefix, cvm) || !bytes.HasSuffix(prefix, []byte(": ")) {
			return false
		}
		mid := prefix[len(cvm) : len(prefix)-2]
		if len(mid) == 0 {
			return true
		}
		if style != stylePSSH || mid[0] != ':' {
			return false
		}
		for _, d := range mid[1:] {
			if d < '0' || d > '9' {
				return false
			}
		}
		return len(mid) > 1
	}
}

// ---------------------------------------------------------------------------------------
// Processes.

// argsFor is cl.Args() restricted to the given CVMs.
func argsFor(cl *sshdcvm.Cluster, cvms []*sshdcvm.CVM) []string {
	args := cl.Args()
	var addrs []string
	for _, c := range cvms {
		addrs = append(addrs, c.Addr)
	}
	for i := range args {
		if args[i] == "--cvm" {
			args[i+1] = strings.Join(addrs, ",")
		}
	}
	return args
}

func cvmtailCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	// CVMTAIL_BENCH_WRAP runs cvmtail under a profiler, e.g. "perf record -g -o /tmp/p.data --".
	if w := strings.Fields(os.Getenv("CVMTAIL_BENCH_WRAP")); len(w) > 0 {
		cmd = exec.Command(w[0], append(append(w[1:], binary), args...)...)
	}
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SSH_AUTH_SOCK=")
	return cmd
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shquote.Quote(a)
	}
	return strings.Join(q, " ")
}

// usage is what the kernel says a finished process used.
type usage struct {
	cpu time.Duration // user + sys
}

func usageOf(ps *os.ProcessState) usage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}
	}
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// runAll starts cmds with stdout on out and waits for all; the wall time from the first
// start to the last exit, and the summed usage.
func runAll(t *testing.T, out *os.File, cmds []*exec.Cmd) (time.Duration, usage) {
	t.Helper()
	start := time.Now()
	for _, c := range cmds {
		c.Stdout = out
		if c.Stderr == nil {
			c.Stderr = os.Stderr
		}
		if err := c.Start(); err != nil {
			t.Fatalf("%s: %v", c.Path, err)
		}
	}
	if out.Name() != os.DevNull {
		out.Close()
	}
	var u usage
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("%s: %v", strings.Join(c.Args, " "), err)
		}
		cu := usageOf(c.ProcessState)
		u.cpu += cu.cpu
	}
	return time.Since(start), u
}

// sinkKind is where a tool's output goes.
type sinkKind int

const (
	devNull sinkKind = iota
	checker
)

// measure runs cmds (built fresh by mk) into the sink and returns the time and, for the
// checker, what it found.
func measure(t *testing.T, sink sinkKind, style prefixStyle, mk func() []*exec.Cmd) (time.Duration, usage, checked) {
	t.Helper()
	if sink == devNull {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		d, u := runAll(t, null, mk())
		return d, u, checked{}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan checked, 1)
	go func() { res <- check(pr, style) }()
	cmds := mk()
	// runAll closes our copy of the write end once the children have theirs, so EOF
	// comes when the last of them exits.
	d, u := runAll(t, pw, cmds)
	c := <-res
	pr.Close()
	return d, u, c
}

// ---------------------------------------------------------------------------------------
// 1. Bulk backlog throughput.

type bulkRow struct {
	tool     string
	note     string
	lines    int // lines each run moved
	null     time.Duration
	checked  time.Duration
	check    checked
	hasCheck bool
	cpu      time.Duration // cvmtail only, to /dev/null
}

func (r bulkRow) rate(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(r.lines) / d.Seconds()
}

func bulkName(i int) string { return fmt.Sprintf("bulk%d.out", i+1) }

func bulk(t *testing.T, cl *sshdcvm.Cluster, rep *report) {
	cvms := cl.CVMs[:bulkCVMs]
	t.Logf("bulk: writing %d CVMs × %d files × %d lines", bulkCVMs, bulkFiles, bulkLines)
	for _, c := range cvms {
		for f := 0; f < bulkFiles; f++ {
			var b bytes.Buffer
			b.Grow(bulkLines * lineLen)
			for i := 1; i <= bulkLines; i++ {
				b.Write(content(c.Addr, bulkName(f), i))
			}
			c.Write(t, bulkName(f), b.String())
		}
	}
	total := bulkCVMs * bulkFiles * bulkLines
	capped := bulkCVMs * bulkFiles * cappedLines

	// each (CVM, file) pair as a remote command per tool
	type pair struct {
		c    *sshdcvm.CVM
		file string
	}
	var pairs []pair
	for _, c := range cvms {
		for f := 0; f < bulkFiles; f++ {
			pairs = append(pairs, pair{c, bulkName(f)})
		}
	}
	sshLine := func(p pair, n string) string {
		return "ssh " + shellJoin(p.c.SSHArgs()) + " " + shquote.Quote("tail -n "+n+" "+p.c.RemotePath(p.file))
	}
	perPair := func(pipeline func(p pair) string) func() []*exec.Cmd {
		return func() []*exec.Cmd {
			var cmds []*exec.Cmd
			for _, p := range pairs {
				cmds = append(cmds, exec.Command("sh", "-c", pipeline(p)))
			}
			return cmds
		}
	}
	sedPrefix := func(p pair) string { return shquote.Quote("s/^/" + p.c.Addr + " " + p.file + " /") }

	type tool struct {
		row   bulkRow
		style prefixStyle
		mk    func() []*exec.Cmd
	}
	tools := []tool{
		{bulkRow{tool: "ssh tail ×12 (limit)", note: "no prefix", lines: total}, styleNone,
			perPair(func(p pair) string { return sshLine(p, "+1") })},
		{bulkRow{tool: "ssh | sed", note: "shared output", lines: total}, styleText,
			perPair(func(p pair) string { return sshLine(p, "+1") + " | sed " + sedPrefix(p) })},
		{bulkRow{tool: "ssh | sed -u", note: fmt.Sprintf("last %d lines per file, rate extrapolated", cappedLines), lines: capped}, styleText,
			perPair(func(p pair) string {
				return sshLine(p, strconv.Itoa(cappedLines)) + " | sed -u " + sedPrefix(p)
			})},
	}
	if path, err := exec.LookPath("clush"); err == nil {
		sshOpts := shellJoin(cvms[0].SSHArgs()[:len(cvms[0].SSHArgs())-1])
		var nodes []string
		for _, c := range cvms {
			nodes = append(nodes, c.Addr)
		}
		tools = append(tools, tool{bulkRow{tool: "clush", note: fmt.Sprintf("last %d lines per file, rate extrapolated; prefix names the CVM only", cappedLines), lines: capped}, styleClush,
			func() []*exec.Cmd {
				var cmds []*exec.Cmd
				for f := 0; f < bulkFiles; f++ {
					cmds = append(cmds, exec.Command(path, "-f", "64", "-l", cl.User, "-o", sshOpts,
						"-w", strings.Join(nodes, ","), "tail -n "+strconv.Itoa(cappedLines)+" "+cvms[0].RemotePath(bulkName(f))))
				}
				return cmds
			}})
	} else {
		rep.notes = append(rep.notes, "clush not installed (apt-get install clustershell): baseline skipped")
	}
	if path, err := exec.LookPath("parallel-ssh"); err == nil {
		hosts := filepath.Join(t.TempDir(), "hosts")
		var hb strings.Builder
		for _, c := range cvms {
			fmt.Fprintf(&hb, "%s@%s:%d\n", cl.User, c.Addr, cl.Port)
		}
		if err := os.WriteFile(hosts, []byte(hb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		a := cvms[0].SSHArgs()
		extra := []string{}
		for _, x := range a[:len(a)-3] { // without -p PORT user@host
			extra = append(extra, "-x", x)
		}
		tools = append(tools, tool{bulkRow{tool: "parallel-ssh -P", note: "prefix per chunk, not per line", lines: total}, stylePSSH,
			func() []*exec.Cmd {
				var cmds []*exec.Cmd
				for f := 0; f < bulkFiles; f++ {
					args := append([]string{"-P", "-p", "64", "-t", "0", "-h", hosts}, extra...)
					args = append(args, "tail -n +1 "+cvms[0].RemotePath(bulkName(f)))
					cmd := exec.Command(path, args...)
					cmd.Stderr = io.Discard // its [SUCCESS] lines
					cmds = append(cmds, cmd)
				}
				return cmds
			}})
	} else {
		rep.notes = append(rep.notes, "parallel-ssh not installed (apt-get install pssh): baseline skipped")
	}
	var paths []string
	for f := 0; f < bulkFiles; f++ {
		paths = append(paths, cvms[0].RemotePath(bulkName(f)))
	}
	cvmtailArgs := append(append([]string{"tail", "--no-follow", "-n", strconv.Itoa(bulkLines), "-o", "text"}, paths...), argsFor(cl, cvms)...)
	tools = append(tools, tool{bulkRow{tool: "cvmtail", note: "-o text", lines: total}, styleText,
		func() []*exec.Cmd { return []*exec.Cmd{cvmtailCmd(cvmtailArgs...)} }})

	// CVMTAIL_BENCH_TOOLS=ssh,cvmtail measures only the tools whose names start so (while tuning).
	if only := os.Getenv("CVMTAIL_BENCH_TOOLS"); only != "" {
		var keep []tool
		for _, tl := range tools {
			for _, p := range strings.Split(only, ",") {
				if strings.HasPrefix(tl.row.tool, p) {
					keep = append(keep, tl)
					break
				}
			}
		}
		tools = keep
	}

	// Warm the page cache and sshd so the first tool measured is not penalised.
	measure(t, devNull, styleNone, tools[0].mk)

	// The machine is shared: other work only ever adds time. Rounds interleave the tools
	// and each keeps its best time, so that a burst of someone else's load does not land on
	// one tool only.
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("CVMTAIL_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	best := func(old, d time.Duration) time.Duration {
		if old == 0 || d < old {
			return d
		}
		return old
	}
	for r := 0; r < rounds; r++ {
		for i := range tools {
			tl := &tools[i]
			d, u, _ := measure(t, devNull, tl.style, tl.mk)
			if tl.row.tool == "cvmtail" && (tl.row.cpu == 0 || u.cpu < tl.row.cpu) {
				tl.row.cpu = u.cpu
			}
			tl.row.null = best(tl.row.null, d)
			d, _, c := measure(t, checker, tl.style, tl.mk)
			tl.row.checked, tl.row.hasCheck = best(tl.row.checked, d), true
			if r == 0 || c.corrupt > tl.row.check.corrupt || c.good < tl.row.check.good {
				tl.row.check = c // the worst round's damage
			}
			t.Logf("bulk round %d: %-22s /dev/null %6.2fs  checker %6.2fs  lines %d corrupt %d", r+1, tl.row.tool, tl.row.null.Seconds(), d.Seconds(), c.lines, c.corrupt)
		}
	}
	for _, tl := range tools {
		rep.bulk = append(rep.bulk, tl.row)
	}
	rep.notes = append(rep.notes, fmt.Sprintf("bulk: best of %d interleaved rounds per tool and sink; corrupted/missing: the worst round", rounds))
}

// ---------------------------------------------------------------------------------------
// 2. Follow latency.

type latRow struct {
	kind     string
	n        int
	expected int
	p50, p99 time.Duration
	max      time.Duration
}

// appender writes latency lines to one file at a fixed rate.
type appender struct {
	f    *os.File
	cvm  string
	name string
}

func latencyLine(cvm, file string, seq int, now time.Time) []byte {
	b := make([]byte, 0, lineLen)
	b = append(b, cvm...)
	b = append(b, ' ')
	b = append(b, file...)
	b = append(b, ' ')
	b = append(b, fmt.Sprintf("%07d %d ", seq, now.UnixNano())...)
	for len(b) < lineLen-1 {
		b = append(b, 'x')
	}
	return append(b, '\n')
}

func latency(t *testing.T, cl *sshdcvm.Cluster, rep *report, symlink bool) {
	cvms := cl.CVMs[:latCVMs]
	services := []string{"stargate", "cerebro", "curator", "hades"}
	var apps []*appender
	var paths []string
	for i := 0; i < latFiles; i++ {
		name := fmt.Sprintf("lat%d.out", i+1)
		target := name
		if symlink {
			name = services[i] + ".INFO"
			target = services[i] + ".ntnx-cvm.nutanix.log.INFO.20261122-074300.4242"
		}
		paths = append(paths, cvms[0].RemotePath(name))
		for _, c := range cvms {
			c.Write(t, target, "")
			if symlink {
				_ = os.Remove(c.Path(name))
				if err := os.Symlink(target, c.Path(name)); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.OpenFile(c.Path(target), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			apps = append(apps, &appender{f: f, cvm: c.Addr, name: name})
		}
	}

	cmd := cvmtailCmd(append(append([]string{"tail", "-n", "0", "-o", "text"}, paths...), argsFor(cl, cvms)...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	measureFrom := time.Now().Add(latWarmup)
	measureTo := measureFrom.Add(latMeasure)
	var (
		mu   sync.Mutex
		lats []time.Duration
		all  int
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		br := bufio.NewReaderSize(out, 1<<20)
		for {
			line, err := br.ReadSlice('\n')
			now := time.Now()
			if len(line) > 0 {
				f := bytes.Fields(line)
				if len(f) >= 6 {
					if ns, err := strconv.ParseInt(string(f[5]), 10, 64); err == nil {
						sent := time.Unix(0, ns)
						mu.Lock()
						all++
						if !sent.Before(measureFrom) && sent.Before(measureTo) {
							lats = append(lats, now.Sub(sent))
						}
						mu.Unlock()
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()

	// Every file gets latRate/len(apps) lines a second, the files' schedules staggered.
	per := time.Duration(float64(time.Second) * float64(len(apps)) / latRate)
	var wg sync.WaitGroup
	start := time.Now()
	var expected atomic.Int64
	for i, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(per * time.Duration(i) / time.Duration(len(apps)))
			for seq := 1; ; seq++ {
				time.Sleep(time.Until(next))
				now := time.Now()
				if now.After(measureTo) {
					return
				}
				if _, err := a.f.Write(latencyLine(a.cvm, a.name, seq, now)); err != nil {
					t.Error(err)
					return
				}
				if !now.Before(measureFrom) {
					expected.Add(1)
				}
				next = next.Add(per)
			}
		}()
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // let the last lines arrive
	_ = cmd.Process.Signal(os.Interrupt)
	<-readDone
	_ = cmd.Wait()

	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	row := latRow{kind: "plain files", n: len(lats), expected: int(expected.Load())}
	if symlink {
		row.kind = "glog symlinks (*.INFO)"
	}
	if len(lats) > 0 {
		row.p50 = lats[len(lats)/2]
		row.p99 = lats[len(lats)*99/100]
		row.max = lats[len(lats)-1]
	}
	t.Logf("latency %s: %d/%d lines p50 %v p99 %v max %v", row.kind, row.n, row.expected, row.p50, row.p99, row.max)
	rep.latency = append(rep.latency, row)
}

// ---------------------------------------------------------------------------------------
// 3. Fan-out.

type fanRow struct {
	one, many       time.Duration // cvmtail on sshd CVMs, medians
	sshOne, sshMany time.Duration // raw ssh, one process per CVM, medians
	// The machine's CPU (all processes) and cvmtail's own while the 16 sshd CVMs started:
	// the 2 cores cannot do that work faster than busy/cores.
	busyMany, selfMany time.Duration
	// On emulated CVMs that do their own work (sshd's start, Python's start) without this
	// machine's CPU, as CVMs with their own cores do.
	emuOne, emuMany time.Duration
}

// Emulated CVMs wait as long as one sshd CVM of this machine works, captured on loopback
// with nothing else running: TCP connect to authentication done 45-56 ms (sshd's re-exec,
// key exchange, privilege separation), exec to the agent's first frame 17-20 ms (a shell and
// Python's start).
const (
	emuHandshake  = 45 * time.Millisecond
	emuAgentStart = 20 * time.Millisecond
)

// fanName is the i-th fan-out file.
func fanName(i int) string { return fmt.Sprintf("fan%02d.out", i+1) }

// fanPaths are the fan-out files' paths on a CVM.
func fanPaths() []string {
	var p []string
	for i := 0; i < fanFiles; i++ {
		p = append(p, sshdcvm.LogRoot+"/"+fanName(i))
	}
	return p
}

// sshFirstLines runs `ssh cvm tail -n 1 fan01.out ... fan14.out` on every CVM at once and
// returns the time until all have printed their lines: what the machine allows for
// connection setup.
func sshFirstLines(t *testing.T, cvms []*sshdcvm.CVM) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range cvms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.Command("ssh", append(c.SSHArgs(), "tail -n 1 "+strings.Join(fanPaths(), " "))...).Output(); err != nil || len(out) == 0 {
				t.Errorf("ssh %s: %v", c.Addr, err)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// fanRun is one start of cvmtail until every CVM delivered a line.
type fanRun struct {
	took time.Duration // process start to the last CVM's first line
	busy time.Duration // CPU used by the whole machine meanwhile
	self time.Duration // cvmtail's CPU, start to exit
}

// firstLines starts cvmtail with args and waits until n streams delivered a line.
func firstLines(t *testing.T, n int, args ...string) fanRun {
	cmd := cvmtailCmd(append([]string{"tail", "-n", "1", "-o", "text"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	busy0 := machineBusy()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var r fanRun
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		seen[f[0]+" "+f[1]] = true
		if len(seen) == n {
			r.took = time.Since(start)
			r.busy = machineBusy() - busy0
			break
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_ = cmd.Wait()
	r.self = usageOf(cmd.ProcessState).cpu
	if r.took == 0 {
		t.Errorf("fan-out: only %d of %d streams delivered", len(seen), n)
	}
	return r
}

// machineBusy is the CPU time all processes have used since boot (user, nice, system,
// irq, softirq; not idle, I/O wait or time stolen by the hypervisor), from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		if i < len(f) {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

func sshdFirstLines(t *testing.T, cl *sshdcvm.Cluster, cvms []*sshdcvm.CVM) fanRun {
	r := firstLines(t, len(cvms)*fanFiles, append(fanPaths(), argsFor(cl, cvms)...)...)
	// let the CVMs' session processes go before the next round
	for _, c := range cvms {
		_, _ = c.WaitNoUserProcesses(2 * time.Second)
	}
	return r
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

func fanout(t *testing.T, cl *sshdcvm.Cluster, rep *report) {
	cvms := cl.CVMs[:fanCVMs]
	for _, c := range cvms {
		for i := 0; i < fanFiles; i++ {
			c.Write(t, fanName(i), string(content(c.Addr, fanName(i), 1)))
		}
	}
	emu := startEmulated(t, fanCVMs)
	var one, many, sshOne, sshMany, busy, self, emuOne, emuMany []time.Duration
	for i := 0; i < fanRounds; i++ {
		one = append(one, sshdFirstLines(t, cl, cvms[:1]).took)
		r := sshdFirstLines(t, cl, cvms)
		many, busy, self = append(many, r.took), append(busy, r.busy), append(self, r.self)
		sshOne = append(sshOne, sshFirstLines(t, cvms[:1]))
		sshMany = append(sshMany, sshFirstLines(t, cvms))
		emuOne = append(emuOne, firstLines(t, fanFiles, emu.args(1)...).took)
		emuMany = append(emuMany, firstLines(t, fanCVMs*fanFiles, emu.args(fanCVMs)...).took)
	}
	rep.fan = fanRow{one: median(one), many: median(many), sshOne: median(sshOne), sshMany: median(sshMany),
		busyMany: median(busy), selfMany: median(self), emuOne: median(emuOne), emuMany: median(emuMany)}
	t.Logf("fan-out: one %v (%v), %d CVMs %v (%v), machine CPU %v, cvmtail CPU %v; emulated one %v (%v), many %v (%v)",
		rep.fan.one, one, fanCVMs, rep.fan.many, many, busy, self, rep.fan.emuOne, emuOne, rep.fan.emuMany, emuMany)
}

// emulated is a cluster of in-process SSH servers on 127.0.0.1, one port each, reached
// through ssh_config aliases. The SSH protocol, its key exchange and authentication are real
// (and use this machine's CPU); what a CVM does with its own CPU is a wait: emuHandshake
// before authentication succeeds, emuAgentStart before the agent's first frame. The agent is
// played by Go: greeting, one file at offset 0, one line, then credits until the channel's
// stdin closes, as the real agent does.
type emulated struct {
	names                        []string
	config, knownHosts, identity string
}

func startEmulated(t *testing.T, n int) *emulated {
	dir := t.TempDir()
	e := &emulated{
		config:     filepath.Join(dir, "ssh_config"),
		knownHosts: filepath.Join(dir, "known_hosts"),
		identity:   filepath.Join(dir, "id_ed25519"),
	}
	key := sshxtest.WriteKey(t, e.identity, "")
	hostKey := sshxtest.NewKey(t, "ed25519")
	var cfg, kh strings.Builder
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("emu%02d", i+1)
		line := content(name, "fan", 1)
		ident := fmt.Sprintf("64768:%d", 1000+i)
		srv := sshxtest.Start(t, sshxtest.Config{
			HostKeys:       []ssh.Signer{hostKey},
			AuthorizedKeys: []ssh.PublicKey{key.PublicKey()},
			User:           "nutanix",
			AuthDelay:      emuHandshake,
			Exec: func(command string, ch ssh.Channel) uint32 {
				time.Sleep(emuAgentStart)
				// One line for every stream asked (docs/agent-protocol.md), in one write.
				var out bytes.Buffer
				out.WriteString("\x00CVMTAIL2\n")
				for _, id := range agentStreamIDs(command) {
					fmt.Fprintf(&out, "O %s %s 0 %d\nD %s %d\n%s", id, ident, len(line), id, len(line), line)
				}
				if _, err := ch.Write(out.Bytes()); err != nil {
					return 1
				}
				_, _ = io.Copy(io.Discard, ch)
				return 0
			},
		})
		e.names = append(e.names, name)
		fmt.Fprintf(&cfg, "Host %s\n  HostName 127.0.0.1\n  Port %d\n", name, srv.Port)
		kh.WriteString(srv.KnownHostsLine(hostKey.PublicKey()) + "\n")
	}
	for path, data := range map[string]string{e.config: cfg.String(), e.knownHosts: kh.String()} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// agentStreamIDs are the stream ids of an agent command: the arguments after `set --` are
// "2 follow poll zone", then 7 words per stream, the first its id.
func agentStreamIDs(command string) []string {
	_, rest, ok := strings.Cut(command, "; set -- ")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, "; if command -v")
	words := shellWords(rest)
	var ids []string
	for i := 4; i+7 <= len(words); i += 7 {
		ids = append(ids, words[i])
	}
	return ids
}

// shellWords splits words as the client quotes them: bare, or in single quotes with '\”.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, any := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\'':
			in = false
		case in:
			w.WriteByte(c)
		case c == '\'':
			in, any = true, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			any = true
		case c == ' ':
			if any || w.Len() > 0 {
				words = append(words, w.String())
			}
			w.Reset()
			any = false
		default:
			w.WriteByte(c)
			any = true
		}
	}
	if any || w.Len() > 0 {
		words = append(words, w.String())
	}
	return words
}

// args are cvmtail's arguments for the first n emulated CVMs.
func (e *emulated) args(n int) []string {
	return append(fanPaths(), "--cvm", strings.Join(e.names[:n], ","),
		"--ssh-config", e.config, "--known-hosts", e.knownHosts, "-i", e.identity, "--ssh-user", "nutanix")
}

// ---------------------------------------------------------------------------------------
// 4. Following 16 CVMs × 14 files: CPU, memory, teardown; with a reader and stalled.

type manyRow struct {
	stalled bool
	written int
	lines   int
	cpu     time.Duration
	// backlogCPU is what cvmtail had used when the last of the backlog was read: its start,
	// 16 connections and 224,000 lines.
	backlogCPU time.Duration
	maxRSS     int64
	teardown   time.Duration
	exit       int
	left       int // remote processes of the SSH user left a second after exit
	leftWhat   string
	// cvmtail's processes (besides sshd) and their memory on the CVM that has the most,
	// halfway through.
	remoteProcs int
	remoteRSS   int64
}

func many(t *testing.T, cl *sshdcvm.Cluster, rep *report, stalled bool) {
	cvms := cl.CVMs[:manyCVMs]
	var paths []string
	type file struct {
		f   *os.File
		cvm string
		nm  string
		seq int
	}
	var files []*file
	for i := 0; i < manyFiles; i++ {
		name := fmt.Sprintf("many%02d.out", i+1)
		paths = append(paths, cvms[0].RemotePath(name))
		for _, c := range cvms {
			var b bytes.Buffer
			n := 1000
			if stalled {
				n = stallPrefill / lineLen
			}
			for s := 1; s <= n; s++ {
				b.Write(content(c.Addr, name, s))
			}
			c.Write(t, name, b.String())
			f, err := os.OpenFile(c.Path(name), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			files = append(files, &file{f: f, cvm: c.Addr, nm: name, seq: n})
		}
	}
	backlog := "1000"
	if stalled {
		backlog = "100000"
	}
	cmd := cvmtailCmd(append(append([]string{"tail", "-n", backlog, "-o", "text"}, paths...), argsFor(cl, cvms)...)...)
	cmd.Stderr = os.Stderr
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var lines atomic.Int64
	readStart := make(chan struct{})
	readDone := make(chan struct{})
	// The CPU cvmtail had used when the last backlog line came: the start and the backlog,
	// apart from following.
	backlogLines := int64(manyCVMs * manyFiles * 1000)
	var backlogCPU atomic.Int64
	go func() {
		defer close(readDone)
		<-readStart
		br := bufio.NewReaderSize(pr, 1<<20)
		for {
			l, err := br.ReadSlice('\n')
			if len(l) > 0 && err == nil {
				if lines.Add(1) == backlogLines && !stalled {
					backlogCPU.Store(int64(procCPU(cmd.Process.Pid)))
				}
			}
			if err != nil && err != bufio.ErrBufferFull {
				return
			}
		}
	}()
	if !stalled {
		close(readStart)
	}

	// Writers: every 50 ms, manyPerTick lines to every file. The rate is what this box
	// sustains with 224 agents, 16 sshd and cvmtail on 2 cores; beyond it everything backs
	// up, which the stalled reader measures anyway.
	ctx, cancel := context.WithTimeout(context.Background(), manyRun)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var peak int64
	var remoteProcs int
	var remoteRSS int64
	sampleAt := time.Now().Add(manyRun / 2)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		if !sampleAt.IsZero() && time.Now().After(sampleAt) {
			sampleAt = time.Time{}
			for _, c := range cvms {
				n, r := footprint(userProcs(t, c))
				remoteProcs, remoteRSS = max(remoteProcs, n), max(remoteRSS, r)
			}
		}
		for _, f := range files {
			var b bytes.Buffer
			for k := 0; k < manyPerTick; k++ {
				f.seq++
				b.Write(content(f.cvm, f.nm, f.seq))
			}
			_, _ = f.f.Write(b.Bytes())
		}
		peak = max(peak, rss(cmd.Process.Pid))
	}
	if !stalled {
		// Let it catch up with what was written.
		time.Sleep(time.Second)
	}
	peak = max(peak, rss(cmd.Process.Pid))
	written := 0
	for _, f := range files {
		written += f.seq
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
		var mem []string
		for _, l := range strings.Split(string(st), "\n") {
			if strings.HasPrefix(l, "Vm") || strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "Threads") {
				mem = append(mem, strings.Join(strings.Fields(l), " "))
			}
		}
		t.Logf("16×14 stalled=%v: %s", stalled, strings.Join(mem, ", "))
	}
	row := manyRow{stalled: stalled, written: written, remoteProcs: remoteProcs, remoteRSS: remoteRSS}
	// Teardown: SIGINT (with a stalled reader: while stdout is still blocked).
	sig := time.Now()
	_ = cmd.Process.Signal(os.Interrupt)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("cvmtail did not exit within 10 s of SIGINT")
		if stalled {
			close(readStart)
		}
		<-exited
		stalled = false
	}
	row.teardown = time.Since(sig)
	if stalled {
		close(readStart)
	}
	<-readDone
	pr.Close()
	row.exit = cmd.ProcessState.ExitCode()
	u := usageOf(cmd.ProcessState)
	// Not rusage's maxrss: Go starts children with vfork, and Linux keeps the high-water
	// mark of the memory the child shared with this (big) test process before exec.
	row.cpu, row.maxRSS, row.lines = u.cpu, peak, int(lines.Load())
	time.Sleep(time.Second)
	for _, c := range cvms {
		procs, _ := c.UserProcesses()
		row.left += len(procs)
		for _, p := range procs {
			if row.leftWhat == "" {
				row.leftWhat = c.Addr + ": " + p.String()
			}
		}
		_, _ = c.WaitNoUserProcesses(5 * time.Second)
	}
	row.backlogCPU = time.Duration(backlogCPU.Load())
	t.Logf("16×14 stalled=%v: start and backlog cpu %v (%d lines), following cpu %v", row.stalled, row.backlogCPU, backlogLines, row.cpu-row.backlogCPU)
	t.Logf("16×14 stalled=%v: lines %d cpu %v maxrss %.1f MiB teardown %v exit %d left %d %s",
		row.stalled, row.lines, row.cpu, float64(row.maxRSS)/(1<<20), row.teardown, row.exit, row.left, row.leftWhat)
	rep.many = append(rep.many, row)
}

// rss is a process's peak resident set so far (VmHWM, bytes), 0 when unknown.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func machine() string {
	var model string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	var uname syscall.Utsname
	_ = syscall.Uname(&uname)
	rel := func(a [65]int8) string {
		var b []byte
		for _, c := range a {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		return string(b)
	}
	ssh, _ := exec.Command("ssh", "-V").CombinedOutput()
	return fmt.Sprintf("%d CPU (%s), Linux %s, %s", numCPU(), model, rel(uname.Release), strings.TrimSpace(string(ssh)))
}
