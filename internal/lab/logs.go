//go:build unix

package lab

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Like Scavenger, the lab keeps keepGenerations uncompressed rotated files of each log and
// compresses older ones (.xz for .out files, .gz for glog's), keeping keepCompressed of
// those, so that a lab left running for days stays small.
const (
	keepGenerations = 3
	keepCompressed  = 32
)

// historyStep and historyGeneration shape the history written at start: a line per file
// every historyStep, a rotation every historyGeneration.
const (
	historyStep       = 10 * time.Second
	historyGeneration = 30 * time.Minute
)

// logFile is one log the lab writes.
type logFile interface {
	// lines appends n lines stamped at, spread up to, t.
	write(t time.Time, lines int) error
	// rotate starts a new file as the service would.
	rotate(t time.Time) error
	// id is the file's name (genesis.out) or the glog service's (stargate).
	id() string
	// current is the path of the file written now (for glog, the INFO file).
	current() string
	close()
}

// lineFormat renders one line of a plain (non-glog) log.
type lineFormat func(r *rand.Rand, env *msgEnv, t time.Time) string

// plainLog is a <svc>.out or .log file: rotated by renaming it to <name>.<YYYYMMDD-HHMMSS>
// and starting a new one, as the CVM's scripts do.
type plainLog struct {
	dir, name string
	r         *rand.Rand
	env       *msgEnv
	format    lineFormat
	f         *os.File
}

func newPlainLog(dir, name string, r *rand.Rand, env *msgEnv, format lineFormat) (*plainLog, error) {
	l := &plainLog{dir: dir, name: name, r: r, env: env, format: format}
	return l, l.open()
}

func (l *plainLog) open() error {
	f, err := os.OpenFile(filepath.Join(l.dir, l.name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	l.f = f
	return err
}

func (l *plainLog) write(t time.Time, n int) error {
	var b strings.Builder
	for i := range n {
		// Lines of one batch get increasing times within the last tick.
		at := t.Add(-time.Duration(n-1-i) * time.Millisecond * 7)
		b.WriteString(l.format(l.r, l.env, at))
		b.WriteByte('\n')
	}
	_, err := l.f.WriteString(b.String())
	return err
}

func (l *plainLog) rotate(t time.Time) error {
	l.f.Close()
	p := filepath.Join(l.dir, l.name)
	rotated := p + "." + t.UTC().Format("20060102-150405")
	if err := os.Rename(p, rotated); err != nil {
		return err
	}
	_ = os.Chtimes(rotated, t, t) // its last write, also when the lab writes history
	scavenge(l.dir, l.name+".2*", xzOrGzip)
	return l.open()
}

func (l *plainLog) close() { l.f.Close() }

func (l *plainLog) id() string { return l.name }

func (l *plainLog) current() string { return filepath.Join(l.dir, l.name) }

// scavenge compresses all but the newest keepGenerations plain files matching pattern and
// removes all but the newest keepCompressed compressed ones, as Scavenger does on a CVM.
func scavenge(dir, pattern string, compress func(string) error) {
	names, _ := filepath.Glob(filepath.Join(dir, pattern))
	sort.Strings(names) // timestamps in the names sort by time
	var plain, packed []string
	for _, n := range names {
		if strings.HasSuffix(n, ".gz") || strings.HasSuffix(n, ".xz") {
			packed = append(packed, n)
		} else {
			plain = append(plain, n)
		}
	}
	for len(plain) > keepGenerations {
		if compress(plain[0]) == nil {
			packed = append(packed, plain[0]) // its name sorts among the others' well enough
		}
		plain = plain[1:]
	}
	sort.Strings(packed)
	for len(packed) > keepCompressed {
		os.Remove(packed[0])
		packed = packed[1:]
	}
}

// xzOrGzip compresses a rotated .out file as recent AOS does, with xz, or with gzip where
// the machine has no xz.
func xzOrGzip(path string) error {
	xz, err := exec.LookPath("xz")
	if err != nil {
		return gzipFile(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	// xz keeps the mtime; -k is not used: the original goes, as Scavenger's does.
	if out, err := exec.Command(xz, "-q", "-T1", "--", path).CombinedOutput(); err != nil {
		return fmt.Errorf("xz %s: %v: %s", path, err, out)
	}
	return os.Chtimes(path+".xz", st.ModTime(), st.ModTime())
}

// gzipFile compresses path into path.gz, keeping its mtime, and removes it.
func gzipFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path+".gz", b.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(path+".gz", st.ModTime(), st.ModTime()); err != nil {
		return err
	}
	return os.Remove(path)
}

// pythonFormat is genesis's and acropolis's Python logging format:
// 2026-11-22 10:00:00,123Z INFO node_manager.py:1234 message
func pythonFormat(ts []template) lineFormat {
	return func(r *rand.Rand, env *msgEnv, t time.Time) string {
		tp := pick(r, ts)
		return fmt.Sprintf("%s,%03dZ %s %s %s", t.UTC().Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6,
			levelName(tp.sev), tp.src, fill(r, env, tp.text))
	}
}

// zookeeperFormat is log4j's as Zookeeper uses it on a CVM.
func zookeeperFormat(r *rand.Rand, env *msgEnv, t time.Time) string {
	tp := pick(r, zookeeperTemplates)
	thread := "NIOServerCxn.Factory:0.0.0.0/0.0.0.0:9876"
	if strings.HasPrefix(tp.src, "PrepRequest") {
		thread = "ProcessThread(sid:" + fmt.Sprint(1+r.IntN(3)) + " cport:-1):"
	}
	return fmt.Sprintf("%s,%03dZ - %-5s [%s:%s] - %s", t.UTC().Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6,
		javaLevel(tp.sev), thread, tp.src, fill(r, env, tp.text))
}

// prismFormat is the Prism gateway's (Tomcat, log4j) format.
func prismFormat(r *rand.Rand, env *msgEnv, t time.Time) string {
	tp := pick(r, prismTemplates)
	return fmt.Sprintf("%-5s %s,%03dZ http-nio-127.0.0.1-9081-exec-%d [] %s %s", javaLevel(tp.sev),
		t.UTC().Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6, 1+r.IntN(20), tp.src, fill(r, env, tp.text))
}

// glogOutFormat is a C++ service's .out file: glog lines written to stderr.
func glogOutFormat(ts []template, pid int) lineFormat {
	return func(r *rand.Rand, env *msgEnv, t time.Time) string {
		tp := pick(r, ts)
		return glogLine(tp.sev, t, pid, tp.src, fill(r, env, tp.text))
	}
}

// glogLine: I1122 10:00:00.123456 12345 file.cc:123] message
func glogLine(sev byte, t time.Time, tid int, src, msg string) string {
	t = t.UTC()
	return fmt.Sprintf("%c%02d%02d %02d:%02d:%02d.%06d %5d %s] %s", sev, int(t.Month()), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, tid, src, msg)
}

// javaLevel is log4j's name for a severity.
func javaLevel(sev byte) string {
	if sev == 'W' {
		return "WARN"
	}
	return levelName(sev)
}

func levelName(sev byte) string {
	switch sev {
	case 'W':
		return "WARNING"
	case 'E':
		return "ERROR"
	}
	return "INFO"
}

// glogLog is a C++ service's glog files: <svc>.<host>.nutanix.log.<LEVEL>.<time>.<pid>,
// each level holding its lines and every worse one, and relative symlinks <svc>.<LEVEL>
// to the current file of each level. WARNING and ERROR files appear with their first line.
type glogLog struct {
	dir, svc, host string
	pid            int
	r              *rand.Rand
	env            *msgEnv
	templates      []template
	files          map[string]*os.File // level -> current file
	started        time.Time           // of the current generation
}

func newGlogLog(dir, svc, host string, pid int, r *rand.Rand, env *msgEnv, ts []template, t time.Time) (*glogLog, error) {
	l := &glogLog{dir: dir, svc: svc, host: host, pid: pid, r: r, env: env, templates: ts,
		files: map[string]*os.File{}, started: t}
	_, err := l.file("INFO", t)
	return l, err
}

// file returns the current file of level, creating it (and switching the symlink) first.
func (l *glogLog) file(level string, t time.Time) (*os.File, error) {
	if f := l.files[level]; f != nil {
		return f, nil
	}
	stamp := l.started.UTC().Format("20060102-150405")
	name := fmt.Sprintf("%s.%s.nutanix.log.%s.%s.%d", l.svc, l.host, level, stamp, l.pid)
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// glog's header.
	u := t.UTC()
	fmt.Fprintf(f, "Log file created at: %s\nRunning on machine: %s\nRunning duration (h:mm:ss): 0:00:00\n"+
		"Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg\n", u.Format("2006/01/02 15:04:05"), l.host)
	l.files[level] = f
	// Switch the symlink in one step, as a reader following the name expects.
	link := filepath.Join(l.dir, l.svc+"."+level)
	tmp := link + ".lab-tmp"
	os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, link); err != nil {
		return nil, err
	}
	scavenge(l.dir, fmt.Sprintf("%s.%s.nutanix.log.%s.2*", l.svc, l.host, level), gzipFile)
	return f, nil
}

func (l *glogLog) write(t time.Time, n int) error {
	bufs := map[string]*strings.Builder{}
	add := func(level, line string) {
		b := bufs[level]
		if b == nil {
			b = &strings.Builder{}
			bufs[level] = b
		}
		b.WriteString(line)
	}
	for i := range n {
		at := t.Add(-time.Duration(n-1-i) * time.Millisecond * 7)
		tp := pick(l.r, l.templates)
		line := glogLine(tp.sev, at, l.pid+1+l.r.IntN(40), tp.src, fill(l.r, l.env, tp.text)) + "\n"
		add("INFO", line)
		if tp.sev == 'W' || tp.sev == 'E' {
			add("WARNING", line)
		}
		if tp.sev == 'E' {
			add("ERROR", line)
		}
	}
	for _, level := range []string{"INFO", "WARNING", "ERROR"} {
		b := bufs[level]
		if b == nil {
			continue
		}
		f, err := l.file(level, t)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(b.String()); err != nil {
			return err
		}
	}
	return nil
}

// rotate starts a new generation: glog opens a new timestamped file when the current one
// is full and points the symlink at it.
func (l *glogLog) rotate(t time.Time) error {
	l.close()
	for _, f := range l.files {
		_ = os.Chtimes(f.Name(), t, t) // its last write, also when the lab writes history
	}
	l.files = map[string]*os.File{}
	if !t.After(l.started.Add(time.Second)) {
		t = l.started.Add(time.Second) // a new name, even for rotations in the same second
	}
	l.started = t
	_, err := l.file("INFO", t)
	return err
}

func (l *glogLog) id() string { return l.svc }

func (l *glogLog) current() string {
	if f := l.files["INFO"]; f != nil {
		return f.Name()
	}
	return ""
}

func (l *glogLog) close() {
	for _, f := range l.files {
		f.Close()
	}
}

// cvmLogs are one CVM's logs and its writer loop.
type cvmLogs struct {
	files       []logFile
	rate        float64 // lines per second per file
	rotateEvery time.Duration
	r           *rand.Rand
	rotations   chan rotation // asked for by Lab.Rotate
}

type rotation struct {
	id    string
	reply chan rotated
}

type rotated struct {
	path string
	err  error
}

// newCVMLogs creates the log directory's files with backlog lines each.
func newCVMLogs(dir, host string, env *msgEnv, seed uint64, rate float64, rotateEvery time.Duration,
	backlog int, history time.Duration, now time.Time) (*cvmLogs, error) {
	r := rand.New(rand.NewPCG(seed, 0x1ab))
	c := &cvmLogs{rate: rate, rotateEvery: rotateEvery, r: r, rotations: make(chan rotation)}
	// Pids as a CVM would show them, stable per CVM.
	pid := func() int { return 3000 + r.IntN(60000) }
	// The backlog looks as if the lab had been running for a while.
	start := now.Add(-time.Duration(float64(backlog)/max(rate, 0.1)*float64(time.Second)) - time.Minute)
	// Before the backlog, the history: rotated generations, the older ones compressed, as a
	// CVM that has been up for a while has them (cvmtail tail --since reads them).
	first := start
	if history > 0 {
		first = start.Add(-history)
	}
	plain := []struct {
		name   string
		format lineFormat
	}{
		{"genesis.out", pythonFormat(genesisTemplates)},
		{"acropolis.out", pythonFormat(acropolisTemplates)},
		{"stargate.out", glogOutFormat(stargateOutTemplates, pid())},
		{"zookeeper.out", zookeeperFormat},
		{"prism_gateway.log", prismFormat},
	}
	for _, p := range plain {
		l, err := newPlainLog(dir, p.name, r, env, p.format)
		if err != nil {
			c.close()
			return nil, err
		}
		c.files = append(c.files, l)
	}
	glogs := []struct {
		svc string
		ts  []template
	}{
		{"stargate", stargateTemplates},
		{"cerebro", cerebroTemplates},
		{"curator", curatorTemplates},
	}
	for _, g := range glogs {
		l, err := newGlogLog(dir, g.svc, host, pid(), r, env, g.ts, first)
		if err != nil {
			c.close()
			return nil, err
		}
		c.files = append(c.files, l)
	}
	if history > 0 {
		if err := c.writeHistory(first, start); err != nil {
			c.close()
			return nil, err
		}
	}
	if backlog > 0 {
		step := now.Sub(start) / time.Duration(backlog)
		for i := range backlog {
			t := start.Add(time.Duration(i) * step)
			for _, f := range c.files {
				if err := f.write(t, 1); err != nil {
					c.close()
					return nil, err
				}
			}
		}
	}
	return c, nil
}

// writeHistory writes a line per file every historyStep from first to start, rotating every
// historyGeneration (staggered per file) and at start, where the backlog begins.
func (c *cvmLogs) writeHistory(first, start time.Time) error {
	for i, f := range c.files {
		next := first.Add(historyGeneration - time.Duration(i)*time.Minute)
		for t := first; t.Before(start); t = t.Add(historyStep) {
			if !t.Before(next) {
				if err := f.rotate(t); err != nil {
					return err
				}
				next = t.Add(historyGeneration)
			}
			if err := f.write(t, 1); err != nil {
				return err
			}
		}
		if err := f.rotate(start); err != nil {
			return err
		}
	}
	return nil
}

// run appends lines at the configured rate and rotates now and then, until ctx ends.
func (c *cvmLogs) run(ctx context.Context, errlog func(string, ...any)) {
	defer c.close()
	const tick = 100 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	owed := make([]float64, len(c.files))
	nextRotation := make([]time.Time, len(c.files))
	now := time.Now()
	for i := range nextRotation {
		nextRotation[i] = c.rotationAfter(now)
	}
	failed := make([]bool, len(c.files))
	for {
		select {
		case <-ctx.Done():
			return
		case now = <-ticker.C:
		case req := <-c.rotations:
			req.reply <- c.rotateNow(req.id)
			continue
		}
		for i, f := range c.files {
			if failed[i] {
				continue
			}
			if c.rotateEvery > 0 && now.After(nextRotation[i]) {
				nextRotation[i] = c.rotationAfter(now)
				if err := f.rotate(now); err != nil {
					errlog("rotating a log: %v", err)
					failed[i] = true
					continue
				}
			}
			// Bursty rather than metronomic: the expected rate, random per tick.
			owed[i] += c.rate * tick.Seconds() * 2 * c.r.Float64()
			n := int(owed[i])
			if n == 0 {
				continue
			}
			owed[i] -= float64(n)
			if err := f.write(now, n); err != nil {
				errlog("writing a log: %v", err)
				failed[i] = true
			}
		}
	}
}

func (c *cvmLogs) rotateNow(id string) rotated {
	for _, f := range c.files {
		if f.id() == id {
			if err := f.rotate(time.Now()); err != nil {
				return rotated{err: err}
			}
			return rotated{path: f.current()}
		}
	}
	return rotated{err: fmt.Errorf("no log %q in the lab", id)}
}

// rotationAfter staggers rotations so that files and CVMs do not all rotate together.
func (c *cvmLogs) rotationAfter(t time.Time) time.Time {
	return t.Add(time.Duration(float64(c.rotateEvery) * (0.5 + c.r.Float64())))
}

func (c *cvmLogs) close() {
	for _, f := range c.files {
		f.close()
	}
}
