package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cvmtail/cvmtail/internal/catalog"
	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/targets"
)

func newTestFactory() (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	return &cmdutil.Factory{
		IOStreams: ios,
		Build:     cmdutil.BuildInfo{Version: "test"},
		Now:       func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
		Getenv:    func(string) string { return "" },
		HomeDir:   func() (string, error) { return "/nonexistent-home", nil },
	}, out, errOut
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		wantNote  string // on stderr
		check     func(t *testing.T, o *Options)
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, o *Options) {
			if o.Remote || o.Output != "table" {
				t.Errorf("got Remote=%v Output=%q", o.Remote, o.Output)
			}
		}},
		{name: "json", args: []string{"-o", "json"}, check: func(t *testing.T, o *Options) {
			if o.Output != "json" {
				t.Errorf("Output = %q", o.Output)
			}
		}},
		{name: "remote with CVMs and SSH flags", args: []string{"--remote", "--cvm", "10.0.0.1,10.0.0.2", "--ssh-user", "admin", "-i", "k1"},
			check: func(t *testing.T, o *Options) {
				if !o.Remote || !reflect.DeepEqual(o.Targets.CVMs, []string{"10.0.0.1", "10.0.0.2"}) ||
					o.SSH.User != "admin" || !reflect.DeepEqual(o.SSH.Identities, []string{"k1"}) {
					t.Errorf("got %+v", o)
				}
				if o.ResolveTargets == nil || o.NewLister == nil {
					t.Error("--remote: ResolveTargets and NewLister must be set")
				}
			}},
		{name: "bad output", args: []string{"-o", "yaml"}, wantUsage: true},
		{name: "CVM flag without --remote", args: []string{"--cvm", "10.0.0.1"}, wantNote: "--cvm: not used without --remote",
			check: func(t *testing.T, o *Options) {}},
		{name: "SSH flags without --remote", args: []string{"--ssh-port", "2222", "--ssh-config", "/dev/null"},
			wantNote: "--ssh-config, --ssh-port: not used without --remote", check: func(t *testing.T, o *Options) {}},
		{name: "an argument", args: []string{"genesis"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, stderr := newTestFactory()
			var got *Options
			cmd := NewCmdLogs(f, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantUsage {
				var ue *cmdutil.UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("got %v, want a usage error", err)
				}
				if got != nil {
					t.Error("run function called despite the usage error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if tt.wantNote == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.wantNote) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantNote)
			}
			tt.check(t, got)
		})
	}
}

func TestCatalogPipe(t *testing.T) {
	f, out, _ := newTestFactory()
	cmd := NewCmdLogs(f, nil)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(catalog.All()) {
		t.Fatalf("%d lines, want one per catalog entry (%d) and no header", len(lines), len(catalog.All()))
	}
	for i, e := range catalog.All() {
		if want := e.Name + "\t" + e.Path + "\t" + e.Description; lines[i] != want {
			t.Errorf("line %d = %q, want %q", i, lines[i], want)
		}
	}
}

func TestCatalogTerminal(t *testing.T) {
	f, out, _ := newTestFactory()
	f.IOStreams.SetStdoutTTY(true)
	if err := logsRun(context.Background(), &Options{IO: f.IOStreams, Output: "table"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(catalog.All())+1 {
		t.Fatalf("%d lines, want a header and one per entry", len(lines))
	}
	header := lines[0]
	if !strings.HasPrefix(header, "NAME ") || strings.Contains(header, "\t") {
		t.Fatalf("header %q: want NAME, PATH, DESCRIPTION aligned with spaces", header)
	}
	pathCol, descCol := strings.Index(header, "PATH"), strings.Index(header, "DESCRIPTION")
	for _, l := range lines[1:] {
		e, ok := catalog.Lookup(strings.Fields(l)[0])
		if !ok {
			t.Fatalf("line %q: no catalog name first", l)
		}
		if l[pathCol:pathCol+len(e.Path)] != e.Path || l[descCol:] != e.Description {
			t.Errorf("line %q is not aligned under the header", l)
		}
	}
}

func TestCatalogJSON(t *testing.T) {
	f, out, _ := newTestFactory()
	if err := logsRun(context.Background(), &Options{IO: f.IOStreams, Output: "json"}); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(got) != len(catalog.All()) {
		t.Fatalf("%d objects, want %d", len(got), len(catalog.All()))
	}
	for i, e := range catalog.All() {
		if got[i]["name"] != e.Name || got[i]["path"] != e.Path || got[i]["description"] != e.Description || got[i]["sudo"] != e.Sudo {
			t.Errorf("object %d = %v, want %+v", i, got[i], e)
		}
	}
}

// TestListScript runs the remote listing command in a local bash against a directory
// shaped like a CVM's, with hostile names, and parses what it prints.
func TestListScript(t *testing.T) {
	if out, err := exec.Command("find", "--version").Output(); err != nil || !bytes.Contains(out, []byte("GNU")) {
		t.Skip("needs GNU find, as on CVMs")
	}
	dir := t.TempDir()
	write := func(name string, size int, mtime time.Time) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	t1 := time.Date(2026, 11, 20, 7, 8, 9, 500_000_000, time.UTC)
	t2 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	glogFile := "stargate.ntnx-1-cvm.nutanix.log.INFO.20261120-070809.3103"
	write("genesis.out", 1234, t1)
	write(glogFile, 5000, t2)
	symlink(glogFile, "stargate.INFO")
	symlink("gone.log", "broken.INFO")
	write("with space;$(x).out", 1, t1)
	write("tab\there.out", 2, t1)
	write("new\nline.out", 3, t1)
	if err := os.Mkdir(filepath.Join(dir, "sysstats"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("sysstats/top.INFO", 9, t1) // not listed: only the top level and cassandra/
	symlink("sysstats", "dirlink")    // a symlink to a directory is no log file
	if err := os.Mkdir(filepath.Join(dir, "cassandra"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("cassandra/system.log", 77, t2)

	// A login banner on stdout must not break the parse.
	script := "echo 'Nutanix Controller VM banner'\n" + listScript(dir)
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, stderr.String())
	}
	files, warning, err := interpretListing(out, stderr.String(), 0, dir)
	if err != nil || warning != "" {
		t.Fatalf("interpretListing: %v (warning %q)", err, warning)
	}
	brokenTime := files[0].Modified // the link's own time: whatever the file system says
	want := []RemoteFile{
		{Name: "broken.INFO", Path: dir + "/broken.INFO", Size: int64(len("gone.log")), Modified: brokenTime, Target: "gone.log", Broken: true},
		{Name: "cassandra/system.log", Path: dir + "/cassandra/system.log", Size: 77, Modified: t2},
		{Name: "genesis.out", Path: dir + "/genesis.out", Size: 1234, Modified: t1},
		{Name: "new\nline.out", Path: dir + "/new\nline.out", Size: 3, Modified: t1},
		{Name: "stargate.INFO", Path: dir + "/stargate.INFO", Size: 5000, Modified: t2, Target: glogFile},
		{Name: glogFile, Path: dir + "/" + glogFile, Size: 5000, Modified: t2},
		{Name: "tab\there.out", Path: dir + "/tab\there.out", Size: 2, Modified: t1},
		{Name: "with space;$(x).out", Path: dir + "/with space;$(x).out", Size: 1, Modified: t1},
	}
	if len(files) != len(want) {
		t.Fatalf("got %d files, want %d: %+v", len(files), len(want), files)
	}
	for i := range want {
		if !reflect.DeepEqual(files[i], want[i]) {
			t.Errorf("file %d\n got %+v\nwant %+v", i, files[i], want[i])
		}
	}

	// The directory missing: the script says so through its exit status.
	cmd = exec.Command("bash", "--norc", "--noprofile", "-c", listScript(filepath.Join(dir, "nope")))
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cdFailed {
		t.Fatalf("missing directory: got %v, want exit status %d", err, cdFailed)
	}
	_, _, err = interpretListing(out, stderr.String(), ee.ExitCode(), filepath.Join(dir, "nope"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")+": ") || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("missing directory: got %v, want the directory and the reason", err)
	}
}

func TestInterpretListing(t *testing.T) {
	rec := listingMarker + "\x00F\x00./a.out\x0010\x001700000000.25\x00f\x00"
	tests := []struct {
		name        string
		stdout      string
		stderr      string
		status      int
		wantFiles   int
		wantWarning string
		wantErr     string
	}{
		{name: "ok", stdout: rec, wantFiles: 1},
		{name: "empty directory", stdout: listingMarker + "\x00", wantFiles: 0},
		{name: "find complained about one entry", stdout: rec, stderr: "find: './x': Permission denied\n", status: 1,
			wantFiles: 1, wantWarning: "find: './x': Permission denied"},
		{name: "nonzero without a word", stdout: rec, status: 1, wantFiles: 1, wantWarning: "exited with status 1"},
		{name: "cannot enter", stderr: "bash: line 1: cd: /d: Permission denied\n", status: cdFailed, wantErr: "/d: cd: /d: Permission denied"},
		{name: "no GNU find", stdout: listingMarker + "\x00", stderr: "find: -printf: unknown primary or operator\n", status: 1,
			wantFiles: 0, wantWarning: "unknown primary"},
		{name: "no marker", stdout: "garbage", status: 127, stderr: "bash: printf: command not found", wantErr: "printf: command not found"},
		{name: "cut short", stdout: listingMarker + "\x00F\x00./a.out\x0010", wantErr: "listing /d: "},
		{name: "bad size", stdout: listingMarker + "\x00F\x00./a.out\x00ten\x001.0\x00f\x00", wantErr: "bad size"},
		{name: "unknown record", stdout: listingMarker + "\x00X\x00", wantErr: "unexpected output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, warning, err := interpretListing([]byte(tt.stdout), tt.stderr, tt.status, "/d")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tt.wantFiles {
				t.Errorf("%d files, want %d", len(files), tt.wantFiles)
			}
			if (tt.wantWarning == "") != (warning == "") || !strings.Contains(warning, tt.wantWarning) {
				t.Errorf("warning %q, want %q", warning, tt.wantWarning)
			}
		})
	}
	files, _, _ := interpretListing([]byte(rec), "", 0, "/d")
	if want := time.Unix(1700000000, 250_000_000).UTC(); !files[0].Modified.Equal(want) || files[0].Path != "/d/a.out" {
		t.Errorf("got %+v, want /d/a.out modified %v", files[0], want)
	}
}

// fakeLister answers from a table and records how many CVMs it served at once.
type fakeLister struct {
	files map[string][]RemoteFile
	errs  map[string]error
	// together, when set, holds each listing until that many are in flight at once (or a
	// few seconds have passed): parallelism shown by the event, not by timing. Each then
	// stays in flight for hold, so that listings beyond a bound would be seen.
	together int32
	hold     time.Duration
	full     chan struct{}
	fullOnce sync.Once
	active   atomic.Int32
	maxSeen  atomic.Int32
	mu       sync.Mutex
	listed   []string
}

func (l *fakeLister) List(ctx context.Context, tg targets.Target) ([]RemoteFile, error) {
	n := l.active.Add(1)
	defer l.active.Add(-1)
	for {
		m := l.maxSeen.Load()
		if n <= m || l.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	l.mu.Lock()
	l.listed = append(l.listed, tg.Address)
	l.mu.Unlock()
	if l.together > 0 {
		if n >= l.together {
			l.fullOnce.Do(func() { close(l.full) })
		}
		select {
		case <-l.full:
		case <-time.After(10 * time.Second):
			// Not parallel enough: let every listing through at once; maxSeen will tell.
			l.fullOnce.Do(func() { close(l.full) })
		case <-ctx.Done():
		}
		time.Sleep(l.hold)
	}
	if err := l.errs[tg.Address]; err != nil {
		return l.files[tg.Address], err
	}
	return l.files[tg.Address], nil
}

var (
	mod1 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	mod2 = time.Date(2026, 11, 22, 7, 30, 15, 0, time.UTC)
)

func remoteOptions(ios *iostreams.IOStreams, l Lister, output string, cvms ...targets.Target) *Options {
	return &Options{
		IO: ios, Remote: true, Output: output,
		ResolveTargets: func(context.Context) ([]targets.Target, error) { return cvms, nil },
		NewLister:      func() (Lister, error) { return l, nil },
	}
}

func twoCVMLister() *fakeLister {
	return &fakeLister{
		files: map[string][]RemoteFile{
			"10.0.0.1": {
				{Name: "genesis.out", Path: catalog.LogDir + "/genesis.out", Size: 1536, Modified: mod1},
				{Name: "stargate.INFO", Path: catalog.LogDir + "/stargate.INFO", Size: 5 << 20, Modified: mod2, Target: "stargate.x.log.INFO.1"},
			},
			"10.0.0.2": {
				{Name: "tab\tname.out", Path: catalog.LogDir + "/tab\tname.out", Size: 7, Modified: mod1},
			},
		},
		errs: map[string]error{},
	}
}

func TestRemotePipe(t *testing.T) {
	f, out, errOut := newTestFactory()
	l := twoCVMLister()
	err := remoteRun(context.Background(), remoteOptions(f.IOStreams, l, "table",
		targets.Target{Name: "NTNX-A-CVM", Address: "10.0.0.1"}, targets.Target{Name: "10.0.0.2", Address: "10.0.0.2"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "NTNX-A-CVM\tgenesis.out\t1536\t2026-11-22T06:00:00Z\t\n" +
		"NTNX-A-CVM\tstargate.INFO\t5242880\t2026-11-22T07:30:15Z\tstargate.x.log.INFO.1\n" +
		"10.0.0.2\ttab\\x09name.out\t7\t2026-11-22T06:00:00Z\t\n"
	if out.String() != want {
		t.Errorf("stdout\n%q\nwant\n%q", out.String(), want)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr %q, want nothing", errOut)
	}
}

func TestRemoteTerminal(t *testing.T) {
	f, out, _ := newTestFactory()
	f.IOStreams.SetStdoutTTY(true)
	err := remoteRun(context.Background(), remoteOptions(f.IOStreams, twoCVMLister(), "table",
		targets.Target{Name: "NTNX-A-CVM", Address: "10.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CVM         NAME           SIZE  MODIFIED              TARGET\n" +
		"NTNX-A-CVM  genesis.out    1.5K  2026-11-22T06:00:00Z  \n" +
		"NTNX-A-CVM  stargate.INFO  5.0M  2026-11-22T07:30:15Z  stargate.x.log.INFO.1\n"
	if out.String() != want {
		t.Errorf("stdout\n%s\nwant\n%s", out.String(), want)
	}
}

// On a terminal: sizes right-aligned, and glog's long file names cut in the middle so that
// no row is wider than the terminal; into a pipe and in JSON the names stay whole.
func TestRemoteTerminalFitsItsWidth(t *testing.T) {
	long := "stargate.ntnx-21ab0001-a-cvm.nutanix.log.INFO.20261122-060000Z.12345"
	lister := &fakeLister{files: map[string][]RemoteFile{"10.0.0.1": {
		{Name: "genesis.out", Path: catalog.LogDir + "/genesis.out", Size: 7, Modified: mod1},
		{Name: long, Path: catalog.LogDir + "/" + long, Size: 5 << 20, Modified: mod2},
		{Name: "stargate.INFO", Path: catalog.LogDir + "/stargate.INFO", Size: 5 << 20, Modified: mod2, Target: long},
	}}, errs: map[string]error{}}
	target := targets.Target{Name: "NTNX-21AB0001-A-CVM", Address: "10.0.0.1"}

	f, out, _ := newTestFactory()
	f.IOStreams.SetStdoutTTY(true)
	f.IOStreams.SetTerminalWidth(100)
	if err := remoteRun(context.Background(), remoteOptions(f.IOStreams, lister, "table", target)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("%d columns, wider than the terminal's 100: %q", n, l)
		}
	}
	if strings.Contains(out.String(), long) || !strings.Contains(out.String(), "stargate.n") || !strings.Contains(out.String(), "…60000Z.12345") {
		t.Errorf("long names are not cut in the middle:\n%s", out)
	}
	// Sizes are right-aligned under SIZE: their ends line up.
	sizeEnd := strings.Index(lines[0], "SIZE") + len("SIZE")
	for _, l := range lines[1:] {
		for _, size := range []string{" 7B ", " 5.0M "} {
			// In columns: a cut name holds a 3-byte "…".
			if i := strings.Index(l, size); i >= 0 && utf8.RuneCountInString(l[:i])+len(size)-1 != sizeEnd {
				t.Errorf("%q ends at column %d, SIZE at %d:\n%s", size, utf8.RuneCountInString(l[:i])+len(size)-1, sizeEnd, out)
			}
		}
	}

	// A narrow terminal cuts both columns, never below their minimum.
	f, out, _ = newTestFactory()
	f.IOStreams.SetStdoutTTY(true)
	f.IOStreams.SetTerminalWidth(40)
	if err := remoteRun(context.Background(), remoteOptions(f.IOStreams, lister, "table", target)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stargat…0Z.12345  ") || !strings.HasSuffix(out.String(), "stargat…0Z.12345\n") {
		t.Errorf("narrow terminal:\n%s", out)
	}

	// Into a pipe, whole.
	f, out, _ = newTestFactory()
	f.IOStreams.SetTerminalWidth(100) // a width, but stdout is not the terminal
	if err := remoteRun(context.Background(), remoteOptions(f.IOStreams, lister, "table", target)); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), long) != 2 || strings.Contains(out.String(), "…") {
		t.Errorf("pipe output cut:\n%s", out)
	}
}

func TestRemoteJSON(t *testing.T) {
	f, out, _ := newTestFactory()
	err := remoteRun(context.Background(), remoteOptions(f.IOStreams, twoCVMLister(), "json",
		targets.Target{Name: "NTNX-A-CVM", Address: "10.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []map[string]any{
		{"cvm": "NTNX-A-CVM", "address": "10.0.0.1", "name": "genesis.out", "path": catalog.LogDir + "/genesis.out",
			"size": float64(1536), "modified": "2026-11-22T06:00:00Z"},
		{"cvm": "NTNX-A-CVM", "address": "10.0.0.1", "name": "stargate.INFO", "path": catalog.LogDir + "/stargate.INFO",
			"size": float64(5 << 20), "modified": "2026-11-22T07:30:15Z", "target": "stargate.x.log.INFO.1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestRemoteFailures(t *testing.T) {
	a := targets.Target{Name: "NTNX-A-CVM", Address: "10.0.0.1"}
	b := targets.Target{Name: "10.0.0.2", Address: "10.0.0.2"}
	c := targets.Target{Name: "10.0.0.3", Address: "10.0.0.3"}

	t.Run("some fail", func(t *testing.T) {
		f, out, errOut := newTestFactory()
		l := twoCVMLister()
		l.errs["10.0.0.2"] = &sshx.AuthError{Host: "10.0.0.2", User: "nutanix", Offered: 1}
		l.errs["10.0.0.3"] = errors.New("10.0.0.3: connect to 10.0.0.3:22: connection refused")
		err := remoteRun(context.Background(), remoteOptions(f.IOStreams, l, "table", a, b, c))
		var pe *cmdutil.PartialError
		if !errors.As(err, &pe) || pe.Failed != 2 || cmdutil.ExitCode(err) != cmdutil.ExitPartial {
			t.Fatalf("got %v, want a PartialError for 2 CVMs (exit 1)", err)
		}
		wantErr := "cvmtail: 10.0.0.2: permission denied for user nutanix (publickey)\n" +
			"cvmtail: hint: give the CVM's key with -i FILE or load it into ssh-agent (ssh-add), or choose another user with --ssh-user (now nutanix)\n" +
			"cvmtail: 10.0.0.3: connect to 10.0.0.3:22: connection refused\n"
		if errOut.String() != wantErr {
			t.Errorf("stderr\n%s\nwant\n%s", errOut, wantErr)
		}
		if !strings.Contains(out.String(), "NTNX-A-CVM\tgenesis.out") || strings.Contains(out.String(), "10.0.0.2") {
			t.Errorf("stdout %q: want only the CVM that answered", out)
		}
	})
	t.Run("one hint for the same failure on several CVMs", func(t *testing.T) {
		f, _, errOut := newTestFactory()
		l := twoCVMLister()
		l.errs["10.0.0.2"] = &sshx.AuthError{Host: "10.0.0.2", User: "nutanix", Offered: 1}
		l.errs["10.0.0.3"] = &sshx.AuthError{Host: "10.0.0.3", User: "nutanix", Offered: 1}
		_ = remoteRun(context.Background(), remoteOptions(f.IOStreams, l, "table", a, b, c))
		if n := strings.Count(errOut.String(), "permission denied"); n != 2 || strings.Count(errOut.String(), "cvmtail: hint: ") != 1 {
			t.Errorf("stderr:\n%s\nwant an error per CVM and one hint", errOut)
		}
	})
	t.Run("all fail", func(t *testing.T) {
		f, out, errOut := newTestFactory()
		l := &fakeLister{errs: map[string]error{"10.0.0.1": errors.New("sshx: boom")}}
		err := remoteRun(context.Background(), remoteOptions(f.IOStreams, l, "json", a))
		var nd *cmdutil.NothingDoneError
		if !errors.As(err, &nd) || cmdutil.ExitCode(err) != cmdutil.ExitNothingDone {
			t.Fatalf("got %v, want a NothingDoneError (exit 3)", err)
		}
		if errOut.String() != "cvmtail: NTNX-A-CVM: sshx: boom\n" {
			t.Errorf("stderr %q", errOut)
		}
		if strings.TrimSpace(out.String()) != "[]" {
			t.Errorf("stdout %q, want an empty JSON array", out)
		}
	})
	t.Run("partial listing warns", func(t *testing.T) {
		f, out, errOut := newTestFactory()
		l := twoCVMLister()
		l.errs["10.0.0.1"] = &warningError{msg: "find: './x': Permission denied"}
		err := remoteRun(context.Background(), remoteOptions(f.IOStreams, l, "table", a))
		if err != nil {
			t.Fatalf("a warning is no failure: got %v", err)
		}
		if errOut.String() != "cvmtail: NTNX-A-CVM: find: './x': Permission denied\n" || !strings.Contains(out.String(), "genesis.out") {
			t.Errorf("stdout %q stderr %q", out, errOut)
		}
	})
	t.Run("targets fail", func(t *testing.T) {
		f, _, _ := newTestFactory()
		opts := remoteOptions(f.IOStreams, twoCVMLister(), "table")
		opts.ResolveTargets = func(context.Context) ([]targets.Target, error) {
			return nil, cmdutil.Usagef("no CVM selected")
		}
		if err := remoteRun(context.Background(), opts); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("got %v, want the usage error through", err)
		}
	})
}

func TestRemoteBoundedParallelism(t *testing.T) {
	f, _, _ := newTestFactory()
	// Each listing waits until maxParallelDials are in flight: a serial listing would never
	// get there, an unbounded one would go past while they are held.
	l := &fakeLister{together: maxParallelDials, hold: 50 * time.Millisecond, full: make(chan struct{})}
	var cvms []targets.Target
	for i := range 40 {
		addr := fmt.Sprintf("10.0.1.%d", i)
		cvms = append(cvms, targets.Target{Name: addr, Address: addr})
	}
	if err := remoteRun(context.Background(), remoteOptions(f.IOStreams, l, "table", cvms...)); err != nil {
		t.Fatal(err)
	}
	if m := l.maxSeen.Load(); m != maxParallelDials {
		t.Errorf("%d CVMs listed at once, want %d", m, maxParallelDials)
	}
	if len(l.listed) != 40 {
		t.Errorf("%d CVMs listed, want 40", len(l.listed))
	}
}

func TestDialErrorAgainstRealSSHX(t *testing.T) {
	// Without a reachable CVM, the real lister must fail per CVM, not panic or hang.
	f, _, errOut := newTestFactory()
	cmd := NewCmdLogs(f, nil)
	cmd.SetArgs([]string{"--remote", "--cvm", "127.0.0.1", "--ssh-port", "1", "--connect-timeout", "2s",
		"--ssh-config", "/dev/null", "--known-hosts", filepath.Join(t.TempDir(), "known_hosts")})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if cmdutil.ExitCode(err) != cmdutil.ExitNothingDone {
		t.Fatalf("got %v (exit %d), want exit 3", err, cmdutil.ExitCode(err))
	}
	if !strings.HasPrefix(errOut.String(), "cvmtail: 127.0.0.1: ") {
		t.Errorf("stderr %q, want the CVM named first", errOut)
	}
}

func TestHumanSize(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0B"}, {1023, "1023B"}, {1024, "1.0K"}, {1536, "1.5K"}, {10 << 10, "10K"}, {5 << 20, "5.0M"}, {3 << 30, "3.0G"}} {
		if got := humanSize(tt.n); got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestEscapeField(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain.out", "plain.out"},
		{"a\tb", `a\x09b`},
		{"a\nb", `a\x0ab`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"caf\xe9", `caf\xe9`},
		{"café", "café"},
	} {
		if got := escapeField(tt.in); got != tt.want {
			t.Errorf("escapeField(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRemoteInterrupted(t *testing.T) {
	f, out, errOut := newTestFactory()
	ctx, cancel := context.WithCancel(context.Background())
	l := listerFunc(func(ctx context.Context, _ targets.Target) ([]RemoteFile, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	err := remoteRun(ctx, remoteOptions(f.IOStreams, l, "table", targets.Target{Name: "a", Address: "a"}, targets.Target{Name: "b", Address: "b"}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if out.Len() != 0 || errOut.Len() != 0 {
		t.Errorf("stdout %q stderr %q: want nothing per CVM after an interrupt", out, errOut)
	}
}

type listerFunc func(ctx context.Context, t targets.Target) ([]RemoteFile, error)

func (f listerFunc) List(ctx context.Context, t targets.Target) ([]RemoteFile, error) {
	return f(ctx, t)
}

type closedPipe struct{}

func (closedPipe) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
}

func TestClosedStdoutIsQuiet(t *testing.T) {
	f, _, _ := newTestFactory()
	f.IOStreams.Out = closedPipe{}
	if err := logsRun(context.Background(), &Options{IO: f.IOStreams, Output: "table"}); err != nil {
		t.Errorf("catalog into a closed pipe: %v, want a quiet stop", err)
	}
	err := remoteRun(context.Background(), remoteOptions(f.IOStreams, twoCVMLister(), "json", targets.Target{Name: "a", Address: "10.0.0.1"}))
	if err != nil {
		t.Errorf("remote listing into a closed pipe: %v, want a quiet stop", err)
	}
}

// What a CVM sends for its listing is bounded: a CVM that sends more than a log directory
// holds (a listing beyond 16 MiB, more than 200,000 files, a name longer than a path can
// be) gets an error for that CVM instead of growing cvmtail's memory.
func TestListingBounds(t *testing.T) {
	b := &limitedBuffer{max: 8}
	if n, err := b.Write([]byte("12345")); n != 5 || err != nil || b.overflow {
		t.Fatalf("Write within the bound: %d, %v, overflow %v", n, err, b.overflow)
	}
	// Beyond it the session is still read to its end (every byte "taken"), but not kept.
	if n, err := b.Write([]byte("6789abc")); n != 7 || err != nil || !b.overflow || b.String() != "12345678" {
		t.Fatalf("Write beyond the bound: %d, %v, overflow %v, kept %q; want 7, nil, true, the first 8 bytes", n, err, b.overflow, b.String())
	}

	var many strings.Builder
	many.WriteString(listingMarker + "\x00")
	for i := 0; i <= maxListingFiles; i++ {
		fmt.Fprintf(&many, "F\x00./f%d\x0010\x001700000000.25\x00f\x00", i)
	}
	if _, _, err := interpretListing([]byte(many.String()), "", 0, "/d"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("/d: more than %d files", maxListingFiles)) {
		t.Errorf("%d files: %v, want an error saying there are too many", maxListingFiles+1, err)
	}

	long := listingMarker + "\x00F\x00./" + strings.Repeat("x", maxFieldBytes) + "\x0010\x001700000000.25\x00f\x00"
	if _, _, err := interpretListing([]byte(long), "", 0, "/d"); err == nil || !strings.Contains(err.Error(), "more than a file name can be") {
		t.Errorf("a name of %d bytes: %v, want an error", maxFieldBytes+2, err)
	}
}
