package output

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// Capture appends each stream's lines to its own file under DIR (for cron capture):
//
//	DIR/<cvm>/<log>.log                  a log given by its catalog name
//	DIR/<cvm>/paths/<path>.log           a log given by its absolute path, the path mirrored
//
// Beside each capture file, a position file (".<file>.pos") records which remote file the
// capture follows and the offset in it right after the last captured line, so a restarted
// capture resumes there: no line lost, none captured twice. A lock file (".<file>.lock")
// keeps two runs from capturing one stream at once: the second waits for the first to end.
//
// DIR may be written by root from cron, so nothing is ever written outside it (every file
// is opened through an os.Root on DIR), a symlink where a capture, position or lock file
// belongs is refused rather than followed, and position files are replaced atomically.
type Capture struct {
	dir  string
	root *os.Root
	// Filtered tells that not every line is captured (--grep and the like): then the size
	// of a capture file says nothing about remote offsets.
	Filtered bool
	// LockWait is how long Open waits for another run holding a stream's lock (0: not at all).
	LockWait time.Duration
	// Warnings are what NewCapture found worth saying about DIR (owned by another user,
	// writable by others); the caller prints them.
	Warnings []string
	// Waiting, when set, is told once when a stream's lock is held by another run and Open
	// starts to wait for it.
	Waiting  func(capturePath, holder string)
	waitOnce sync.Once

	mu      sync.Mutex
	opens   map[string]*pendingOpen // by name relative to DIR
	checked map[string]bool         // directories under DIR already looked at
}

// CaptureKey names the stream a capture file belongs to.
type CaptureKey struct {
	CVM    string
	Log    string // catalog name, or the path's base name
	Path   string // absolute path on the CVM
	ByPath bool   // the user gave the path, not a catalog name
}

// NewCapture prepares dir, creating it when needed, and checks that it is writable.
func NewCapture(dir string) (*Capture, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	c := &Capture{dir: dir, root: root, opens: map[string]*pendingOpen{}, checked: map[string]bool{}}
	probe, err := os.CreateTemp(dir, ".cvmtail-probe-*")
	if err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("%s is not writable: %w", dir, errors.Unwrap(err))
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	if st, err := root.Stat("."); err == nil {
		if w := unsafeDir(dir, st); w != "" {
			c.Warnings = append(c.Warnings, w)
		}
	}
	return c, nil
}

// safeName keeps a CVM or log name one path component that is neither hidden nor ".."
// (termsafe.Name), and never empty. 250 bytes leave room for ".log" and the side files'
// "." and ".pos.tmp" within a file name's 255.
func safeName(s string) string {
	if s = termsafe.Name(s, 240); s == "" {
		return "_"
	}
	return s
}

// Name is the capture file of a stream, relative to DIR (slash-separated).
func (c *Capture) Name(k CaptureKey) string {
	cvm := safeName(k.CVM)
	if !k.ByPath {
		return cvm + "/" + safeName(k.Log) + ".log"
	}
	// The path mirrored under paths/, each component made safe: "a/../b" stays three
	// components, so no name can climb out of the CVM's directory.
	var parts []string
	for _, p := range strings.Split(strings.TrimPrefix(k.Path, "/"), "/") {
		if p != "" {
			parts = append(parts, safeName(p))
		}
	}
	return cvm + "/paths/" + strings.Join(parts, "/") + ".log"
}

// CapturedIn lists the remote files of directory dir (absolute, on CVM cvm) that have a
// capture under DIR and that keep takes: for each capture file in the mirrored directory
// whose name is the one Name gives a file of dir, that file's base name. Only names are
// read (nothing is opened or followed); at most limit of them.
func (c *Capture) CapturedIn(cvm, dir string, keep func(base string) bool, limit int) []string {
	rel := path.Dir(c.Name(CaptureKey{CVM: cvm, Path: path.Join(dir, "x"), ByPath: true}))
	entries, err := os.ReadDir(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if len(out) == limit {
			break
		}
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".log") {
			continue
		}
		base := strings.TrimSuffix(n, ".log")
		if c.Name(CaptureKey{CVM: cvm, Path: path.Join(dir, base), ByPath: true}) == rel+"/"+n && keep(base) {
			out = append(out, base)
		}
	}
	return out
}

// Path is the capture file of a stream on this machine.
func (c *Capture) Path(k CaptureKey) string {
	return filepath.Join(c.dir, filepath.FromSlash(c.Name(k)))
}

// sideFile is the hidden file beside a capture file: ".genesis.log.pos" and the like.
func sideFile(name, suffix string) string {
	return path.Join(path.Dir(name), "."+path.Base(name)+suffix)
}

// ErrSymlink is a symlink found where cvmtail writes: it is never followed.
var ErrSymlink = errors.New("is a symlink; refusing to write through it")

// LockedError is a stream another cvmtail run is capturing.
type LockedError struct {
	Path   string // the capture file
	Holder string // what the other run wrote into the lock file: pid and start
	Waited time.Duration
}

func (e *LockedError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another process"
	}
	return fmt.Sprintf("%s is being captured by another cvmtail (%s), which did not finish within %s", e.Path, holder, e.Waited)
}

// prepareDir creates dir (relative to DIR) and its parents, refusing symlinks on the way
// and noting directories that others may write to or that another user owns.
func (c *Capture) prepareDir(dir string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := ""
	for _, part := range strings.Split(dir, "/") {
		cur = path.Join(cur, part)
		if c.checked[cur] {
			continue
		}
		st, err := c.root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			if err := c.root.Mkdir(cur, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			st, err = c.root.Lstat(cur)
		}
		if err != nil {
			return err
		}
		full := filepath.Join(c.dir, filepath.FromSlash(cur))
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %w", full, ErrSymlink)
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", full)
		}
		if w := unsafeDir(full, st); w != "" {
			c.Warnings = append(c.Warnings, w)
		}
		c.checked[cur] = true
	}
	return nil
}

// openNoFollow opens name (relative to DIR) without following a symlink at its end; the
// os.Root keeps anything before it inside DIR.
func (c *Capture) openNoFollow(name string, flag int, perm fs.FileMode) (*os.File, error) {
	full := filepath.Join(c.dir, filepath.FromSlash(name))
	if st, err := c.root.Lstat(name); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s %w", full, ErrSymlink)
	}
	f, err := c.root.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	// Replaced by a symlink between the look and the open: refuse what was opened.
	if st, err := c.root.Lstat(name); err != nil || st.Mode()&fs.ModeSymlink != 0 {
		_ = f.Close()
		return nil, fmt.Errorf("%s %w", full, ErrSymlink)
	}
	return f, nil
}

// CaptureStream is one open capture file, and the lock that makes it this run's.
type CaptureStream struct {
	c    *Capture
	name string // relative to DIR
	path string // for messages
	f    *os.File
	lock *os.File
	size int64
	pos  []byte

	resumeIdent  string
	resumeOffset int64
	resumeOK     bool
}

// Open takes a stream's lock (waiting up to LockWait for another run to finish), opens its
// capture file for appending and reads where a previous run stopped. Opening a stream twice
// returns the same CaptureStream.
func (c *Capture) Open(ctx context.Context, k CaptureKey) (*CaptureStream, error) {
	name := c.Name(k)
	c.mu.Lock()
	if p, ok := c.opens[name]; ok {
		c.mu.Unlock()
		select {
		case <-p.done:
			return p.cs, p.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p := &pendingOpen{done: make(chan struct{})}
	c.opens[name] = p
	c.mu.Unlock()

	p.cs, p.err = c.open(ctx, name)
	if p.err != nil {
		c.mu.Lock()
		delete(c.opens, name) // a later call may try again
		c.mu.Unlock()
	}
	close(p.done)
	return p.cs, p.err
}

// pendingOpen is a stream being opened, or opened.
type pendingOpen struct {
	done chan struct{}
	cs   *CaptureStream
	err  error
}

func (c *Capture) open(ctx context.Context, name string) (*CaptureStream, error) {
	if err := c.prepareDir(path.Dir(name)); err != nil {
		return nil, err
	}
	cs := &CaptureStream{c: c, name: name, path: filepath.Join(c.dir, filepath.FromSlash(name))}
	lock, err := c.openNoFollow(sideFile(name, ".lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := c.waitLock(ctx, lock, cs.path); err != nil {
		_ = lock.Close()
		return nil, err
	}
	cs.lock = lock
	_ = lock.Truncate(0)
	_, _ = fmt.Fprintf(lock, "pid %d, started %s", os.Getpid(), time.Now().UTC().Format(time.RFC3339))

	f, err := c.openNoFollow(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		cs.release()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		cs.release()
		return nil, err
	}
	cs.f, cs.size = f, st.Size()
	cs.resumeIdent, cs.resumeOffset, cs.resumeOK = c.readPosition(name, st.Size())
	return cs, nil
}

// waitLock takes lock, trying again until LockWait has passed.
func (c *Capture) waitLock(ctx context.Context, lock *os.File, capturePath string) error {
	start := time.Now()
	for {
		ok, err := tryLock(lock)
		if err != nil {
			return fmt.Errorf("locking %s: %w", capturePath, err)
		}
		if ok {
			return nil
		}
		waited := time.Since(start)
		holder := func() string {
			b := make([]byte, 256)
			n, _ := lock.ReadAt(b, 0)
			return strings.TrimSpace(string(b[:n]))
		}
		if waited >= c.LockWait {
			return &LockedError{Path: capturePath, Holder: holder(), Waited: c.LockWait}
		}
		if c.Waiting != nil {
			c.waitOnce.Do(func() { c.Waiting(capturePath, holder()) })
		}
		t := time.NewTimer(min(100*time.Millisecond, c.LockWait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// identPattern is a file identity as the agent reports it: device and inode numbers.
var identPattern = regexp.MustCompile(`^[0-9]{1,20}:[0-9]{1,20}$`)

// readPosition tells where a restarted capture resumes: the remote file's identity and the
// offset after the last captured line. A position file that does not parse is ignored.
func (c *Capture) readPosition(name string, captureSize int64) (ident string, offset int64, ok bool) {
	pf, err := c.openNoFollow(sideFile(name, ".pos"), os.O_RDONLY, 0)
	if err != nil {
		return "", 0, false
	}
	defer func() { _ = pf.Close() }()
	buf := make([]byte, 128)
	n, _ := pf.Read(buf)
	f := strings.Fields(string(buf[:n]))
	if len(f) != 3 || !identPattern.MatchString(f[0]) {
		return "", 0, false
	}
	offset, err1 := strconv.ParseInt(f[1], 10, 64)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || offset < 0 || size < 0 {
		return "", 0, false
	}
	switch {
	case captureSize == size:
		return f[0], offset, true
	case captureSize > size && !c.Filtered:
		// Stopped between writing lines and recording them: the extra bytes are the next
		// bytes of the same remote file.
		return f[0], offset + (captureSize - size), true
	}
	return "", 0, false
}

// ResumePoint is where this stream's previous capture stopped.
func (cs *CaptureStream) ResumePoint() (ident string, offset int64, ok bool) {
	return cs.resumeIdent, cs.resumeOffset, cs.resumeOK
}

// Path is the capture file.
func (cs *CaptureStream) Path() string { return cs.path }

// Write appends whole lines read from the remote file ident up to endOffset (-1: unknown).
func (cs *CaptureStream) Write(lines []byte, ident string, endOffset int64) error {
	n, err := cs.f.Write(lines)
	cs.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing %s: %w", cs.path, err)
	}
	posName := sideFile(cs.name, ".pos")
	if ident == "" || endOffset < 0 || !identPattern.MatchString(ident) {
		// No exact resume point for what we just wrote.
		if err := cs.c.root.Remove(posName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", filepath.Join(cs.c.dir, posName), err)
		}
		return nil
	}
	cs.pos = fmt.Appendf(cs.pos[:0], "%s %d %d\n", ident, endOffset, cs.size)
	return cs.replacePosition(posName)
}

// replacePosition writes the position to a temporary file and renames it over the old one,
// so a stop or a full disk never leaves half a position, and a symlink planted at the
// position file's name is replaced, not written through.
func (cs *CaptureStream) replacePosition(posName string) error {
	tmpName := sideFile(cs.name, ".pos.tmp")
	full := filepath.Join(cs.c.dir, filepath.FromSlash(posName))
	_ = cs.c.root.Remove(tmpName) // a leftover of a run that stopped here, or a planted link
	tmp, err := cs.c.root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("writing %s: %w", full, err)
	}
	_, werr := tmp.Write(cs.pos)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = cs.c.root.Rename(tmpName, posName)
	}
	if werr != nil {
		_ = cs.c.root.Remove(tmpName)
		return fmt.Errorf("writing %s: %w", full, werr)
	}
	return nil
}

func (cs *CaptureStream) release() {
	if cs.lock != nil {
		_ = cs.lock.Close() // closing the file drops its lock
		cs.lock = nil
	}
}

// Close closes every capture file and releases the locks; data is written as it comes, so
// nothing is pending. Streams still being opened are left to their Open.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for name, p := range c.opens {
		select {
		case <-p.done:
		default:
			continue
		}
		if p.cs == nil {
			continue
		}
		if err := p.cs.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("closing %s: %w", p.cs.path, err)
		}
		p.cs.release()
		delete(c.opens, name)
	}
	return first
}
