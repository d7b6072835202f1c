package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/shquote"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/tableprinter"
	"github.com/cvmtail/cvmtail/internal/targets"
	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// RemoteFile is one log file found on a CVM.
type RemoteFile struct {
	Name     string // relative to catalog.LogDir: "stargate.INFO", "cassandra/system.log"
	Path     string // absolute
	Size     int64  // of the file a symlink points to
	Modified time.Time
	Target   string // what a symlink points to, as written in the link; "" for a plain file
	Broken   bool   // a symlink to nothing (or a loop): Size and Modified are the link's own
}

// maxParallelDials bounds the CVMs connected to at once: a big cluster must not open
// hundreds of connections in the same instant (nor exhaust our file descriptors).
const maxParallelDials = 16

// Output bounds: a log directory with tens of thousands of rotated generations is ~10 MB;
// a CVM that sends more, or names longer than Linux allows, is not listing its logs. Up to
// maxParallelDials listings are held at once.
const (
	maxListingBytes = 16 << 20
	maxListingFiles = 200_000
	maxFieldBytes   = 4096 // PATH_MAX: a name or link target longer than that is not one
	maxStderrBytes  = 64 << 10
)

// listTimeout bounds a CVM's listing once connected: a find that hangs on a stuck
// filesystem must not hold the command forever.
const listTimeout = 2 * time.Minute

// listingMarker starts our output, so that anything a login script prints before it
// (a banner on stdout) is skipped instead of breaking the parse.
const listingMarker = "CVMTAIL-LIST-1"

// cdFailed is the listing script's exit status when the log directory cannot be entered.
const cdFailed = 97

// listScript lists the regular files and symlinks of dir and of dir/cassandra (where
// Cassandra keeps system.log), one remote command for the whole listing. GNU find's
// -printf separates fields with NUL, the one byte a file name cannot hold, so names with
// spaces, tabs or newlines parse back exactly. Two passes: -L gives a symlink's target
// size and time (F records), the plain pass gives what the link says (L records).
func listScript(dir string) string {
	return `cd ` + shquote.Quote(dir) + ` || exit ` + strconv.Itoa(cdFailed) + `
printf '` + listingMarker + `\0'
set -- .
if [ -d cassandra ]; then set -- . cassandra; fi
find -L "$@" -mindepth 1 -maxdepth 1 \( -type f -o -type l \) -printf 'F\0%p\0%s\0%T@\0%Y\0'
s=$?
find "$@" -mindepth 1 -maxdepth 1 -type l -printf 'L\0%p\0%l\0'
exit $((s | $?))
`
}

// parseListing reads listScript's output for dir, field by field: a CVM's answer is not
// trusted to be small or well formed.
func parseListing(out []byte, dir string) ([]RemoteFile, error) {
	start := bytes.Index(out, []byte(listingMarker+"\x00"))
	if start < 0 {
		return nil, errors.New("unexpected output from the listing command")
	}
	rest := out[start+len(listingMarker)+1:]
	next := func() (string, bool) {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return "", false
		}
		f := rest[:i]
		rest = rest[i+1:]
		return string(f), true
	}
	files := map[string]*RemoteFile{}
	targets := map[string]string{}
	for len(rest) > 0 {
		tag, ok := next()
		if !ok {
			return nil, fmt.Errorf("listing cut short after %q", snippet(rest))
		}
		var f [4]string
		n := map[string]int{"F": 4, "L": 2}[tag]
		if n == 0 {
			return nil, fmt.Errorf("unexpected output from the listing command near %q", snippet([]byte(tag)))
		}
		for k := 0; k < n; k++ {
			if f[k], ok = next(); !ok {
				return nil, fmt.Errorf("listing cut short after %q", snippet([]byte(tag)))
			}
			if len(f[k]) > maxFieldBytes {
				return nil, fmt.Errorf("listing holds a name of %d bytes: more than a file name can be", len(f[k]))
			}
		}
		name := strings.TrimPrefix(f[0], "./")
		switch tag {
		case "F":
			if len(files) >= maxListingFiles {
				return nil, fmt.Errorf("%s: more than %d files", dir, maxListingFiles)
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || size < 0 {
				return nil, fmt.Errorf("%s: bad size %q", escapeField(f[0]), snippet([]byte(f[1])))
			}
			mtime, err := parseFindTime(f[2])
			if err != nil {
				return nil, fmt.Errorf("%s: bad time %q", escapeField(f[0]), snippet([]byte(f[2])))
			}
			files[name] = &RemoteFile{
				Name:     name,
				Path:     dir + "/" + name,
				Size:     size,
				Modified: mtime,
				// %Y under -L: N = target missing, L = loop, ? = cannot stat.
				Broken: f[3] == "N" || f[3] == "L" || f[3] == "?",
			}
		case "L":
			if len(targets) >= maxListingFiles {
				return nil, fmt.Errorf("%s: more than %d symlinks", dir, maxListingFiles)
			}
			targets[name] = f[1]
		}
	}
	out2 := make([]RemoteFile, 0, len(files))
	for name, f := range files {
		if t, ok := targets[name]; ok {
			f.Target = t
		}
		out2 = append(out2, *f)
	}
	sort.Slice(out2, func(i, j int) bool { return out2[i].Name < out2[j].Name })
	return out2, nil
}

// snippet is the start of b, escaped, for a message.
func snippet(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return escapeField(string(b))
}

// parseFindTime reads find's %T@, seconds since the epoch with a fraction.
func parseFindTime(s string) (time.Time, error) {
	secStr, fracStr, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var nsec int64
	if fracStr != "" {
		if len(fracStr) > 9 {
			fracStr = fracStr[:9]
		}
		fracStr += strings.Repeat("0", 9-len(fracStr))
		if nsec, err = strconv.ParseInt(fracStr, 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// interpretListing turns the listing command's output and exit status into files, a
// warning worth a stderr line (find could not read some entry) or an error.
func interpretListing(stdout []byte, stderr string, exitStatus int, dir string) ([]RemoteFile, string, error) {
	complaint := firstLine(stderr)
	if exitStatus == cdFailed {
		if complaint == "" {
			complaint = "cannot enter the directory"
		}
		return nil, "", fmt.Errorf("%s: %s", dir, complaint)
	}
	files, err := parseListing(stdout, dir)
	if err != nil {
		if complaint != "" {
			return nil, "", fmt.Errorf("listing %s: %s", dir, complaint)
		}
		return nil, "", fmt.Errorf("listing %s: %w", dir, err)
	}
	if exitStatus != 0 && complaint == "" {
		complaint = fmt.Sprintf("the listing command exited with status %d", exitStatus)
	}
	return files, complaint, nil
}

// firstLine is the first non-empty line of s, without the remote shell's "bash: line 1: "
// noise.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if i := strings.Index(l, "line 1: "); i >= 0 {
				l = l[i+len("line 1: "):]
			}
			return escapeField(l)
		}
	}
	return ""
}

// sshLister lists over one SSH connection per CVM, closed when done.
type sshLister struct {
	dial func(ctx context.Context, host string) (*sshx.Client, error)
	dir  string // catalog.LogDir unless a test says otherwise
}

// listResult is what one CVM gave.
type listResult struct {
	files   []RemoteFile
	warning string
}

func (l *sshLister) List(ctx context.Context, t targets.Target) ([]RemoteFile, error) {
	res, err := l.list(ctx, t)
	if err != nil {
		return nil, err
	}
	if res.warning != "" {
		return res.files, &warningError{msg: res.warning}
	}
	return res.files, nil
}

func (l *sshLister) list(ctx context.Context, t targets.Target) (listResult, error) {
	dir := l.dir
	if dir == "" {
		dir = catalog.LogDir
	}
	c, err := l.dial(ctx, t.Address)
	if err != nil {
		return listResult{}, err
	}
	defer func() { _ = c.Close() }()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	sess, err := c.NewSession()
	if err != nil {
		return listResult{}, fmt.Errorf("open a session: %w", err)
	}
	defer func() { _ = sess.Close() }()
	stdout := &limitedBuffer{max: maxListingBytes}
	stderr := &limitedBuffer{max: maxStderrBytes}
	sess.Stdout, sess.Stderr = stdout, stderr
	var runErr error
	done := make(chan struct{})
	go func() {
		runErr = sess.Run(listScript(dir))
		close(done)
	}()
	select {
	case <-done:
		err = runErr
	case <-ctx.Done():
		_ = c.Close() // ends the session; find on the CVM dies of the closed channel
		<-done
		if parent.Err() == nil {
			return listResult{}, fmt.Errorf("listing %s: no answer within %s", dir, listTimeout)
		}
		return listResult{}, ctx.Err()
	}
	if stdout.overflow {
		return listResult{}, fmt.Errorf("%s: listing larger than %d MiB", dir, maxListingBytes>>20)
	}
	exitStatus := 0
	if err != nil {
		var exitErr *ssh.ExitError
		if !errors.As(err, &exitErr) {
			return listResult{}, fmt.Errorf("listing %s: %w", dir, err)
		}
		exitStatus = exitErr.ExitStatus()
	}
	files, warning, err := interpretListing(stdout.Bytes(), stderr.String(), exitStatus, dir)
	return listResult{files: files, warning: warning}, err
}

// warningError comes with files: the listing worked, but not for everything.
type warningError struct{ msg string }

func (e *warningError) Error() string { return e.msg }

// limitedBuffer keeps the first max bytes and notes that more came.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil // keep reading, so the session ends normally
	}
	return b.Buffer.Write(p)
}

// cvmListing is one CVM's outcome.
type cvmListing struct {
	target  targets.Target
	files   []RemoteFile
	warning string
	err     error
}

func remoteRun(ctx context.Context, opts *Options) error {
	lister, err := opts.NewLister()
	if err != nil {
		return err
	}
	targets, err := opts.ResolveTargets(ctx)
	if err != nil {
		return err
	}
	results := listAll(ctx, lister, targets)
	if err := ctx.Err(); err != nil {
		// Interrupted: every CVM would report "context canceled"; the signal says it all.
		return err
	}

	failed := 0
	hinted := map[string]bool{}
	for _, r := range results {
		switch {
		case r.err != nil:
			failed++
			reportCVM(opts.IO.ErrOut, r.target, r.err, hinted)
		case r.warning != "":
			fmt.Fprintf(opts.IO.ErrOut, "cvmtail: %s: %s\n", r.target.Name, r.warning)
		}
	}
	width := 0
	if opts.IO.IsStdoutTTY() {
		width = opts.IO.TerminalWidth()
	}
	if err := quietOnClosedPipe(printRemote(opts.IO.Out, results, opts.Output, opts.IO.IsStdoutTTY(), width)); err != nil {
		return err
	}
	// A cluster Prism could not list (said when resolving) is CVMs not listed either.
	unlisted := opts.Targets.UnlistedClusters()
	switch {
	case failed > 0 && failed == len(results):
		return &cmdutil.NothingDoneError{Err: fmt.Errorf("no CVM could be listed (%d failed)", failed)}
	case failed > 0 || unlisted > 0:
		return &cmdutil.PartialError{Failed: failed + unlisted}
	}
	return nil
}

// listAll lists every CVM, at most maxParallelDials at once; results keep targets' order.
func listAll(ctx context.Context, lister Lister, targets []targets.Target) []cvmListing {
	results := make([]cvmListing, len(targets))
	sem := make(chan struct{}, maxParallelDials)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].target = t
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			files, err := lister.List(ctx, t)
			var we *warningError
			if errors.As(err, &we) {
				results[i].files, results[i].warning = files, we.msg
				return
			}
			if err != nil {
				results[i].err = err
				return
			}
			results[i].files = files
		}()
	}
	wg.Wait()
	return results
}

// reportCVM prints one CVM's failure as "cvmtail: <cvm>: <error>" and its hint, unless a
// hint of its kind was said for another CVM (hinted records them). sshx's
// errors already start with the address: it is not repeated.
func reportCVM(w io.Writer, t targets.Target, err error, hinted map[string]bool) {
	msg := strings.TrimSuffix(err.Error(), ".")
	if !(t.Name == t.Address && strings.HasPrefix(msg, t.Address+": ")) {
		msg = t.Name + ": " + msg
	}
	fmt.Fprintf(w, "cvmtail: %s\n", msg)
	if h := cmdutil.HintOf(err); h != "" && !hinted[cmdutil.HintKind(err)] {
		hinted[cmdutil.HintKind(err)] = true
		fmt.Fprintf(w, "cvmtail: hint: %s\n", h)
	}
}

type remoteJSON struct {
	CVM      string `json:"cvm"`
	Address  string `json:"address"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	Modified string `json:"modified"`
	Target   string `json:"target,omitempty"`
	Broken   bool   `json:"broken,omitempty"`
}

// printRemote prints the listing. On a terminal (tty), sizes are human-readable and
// right-aligned, and when the table is wider than width (0: unknown), the longest names
// and targets are cut in the middle (…) so that no row wraps; into a pipe and in JSON
// every value is whole.
func printRemote(w io.Writer, results []cvmListing, format string, tty bool, width int) error {
	if format == "json" {
		out := []remoteJSON{}
		for _, r := range results {
			for _, f := range r.files {
				out = append(out, remoteJSON{
					CVM: r.target.Name, Address: r.target.Address, Name: f.Name, Path: f.Path,
					Size: f.Size, Modified: f.Modified.UTC().Format(time.RFC3339),
					Target: f.Target, Broken: f.Broken,
				})
			}
		}
		return writeJSON(w, out)
	}
	header := []string{"CVM", "NAME", "SIZE", "MODIFIED", "TARGET"}
	var rows [][]string
	for _, r := range results {
		for _, f := range r.files {
			size := strconv.FormatInt(f.Size, 10)
			target := f.Target
			if tty {
				size = humanSize(f.Size)
				if f.Broken && target != "" {
					target += " (broken)"
				}
			}
			rows = append(rows, []string{r.target.Name, f.Name, size, f.Modified.UTC().Format(time.RFC3339), target})
		}
	}
	if tty {
		for _, row := range rows {
			for i := range row {
				row[i] = termsafe.Field(row[i]) // measured as shown
			}
		}
		rows = append([][]string{header}, rows...)
		tableprinter.AlignRight(rows, remoteSizeColumn)
		tableprinter.FitWidth(rows, width, remoteNameColumn, remoteTargetColumn)
		header, rows = rows[0], rows[1:]
	}
	t := tableprinter.New(w, tty, header...)
	for _, row := range rows {
		t.Row(row...)
	}
	return t.Flush()
}

// The columns of printRemote's table.
const (
	remoteNameColumn   = 1
	remoteSizeColumn   = 2
	remoteTargetColumn = 4
)

// humanSize is ls -h's style: 512B, 4.0K, 12M, 1.5G.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	const units = "KMGTPE"
	f := float64(n) / 1024
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f < 10 {
		return fmt.Sprintf("%.1f%c", f, units[i])
	}
	return fmt.Sprintf("%.0f%c", f, units[i])
}
