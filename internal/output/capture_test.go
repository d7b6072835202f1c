package output

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func genesis(cvm string) CaptureKey {
	return CaptureKey{CVM: cvm, Log: "genesis", Path: "/home/nutanix/data/logs/genesis.out"}
}

func TestCaptureAppendsAndRecordsResumePoint(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "capture")
	c, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.Open(ctx, genesis("NTNX-A-CVM"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := cs.ResumePoint(); ok {
		t.Error("resume point before any capture")
	}
	if err := cs.Write([]byte("a\nb\n"), "64:12", 104); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "NTNX-A-CVM", "genesis.log"))
	if string(got) != "a\nb\n" {
		t.Errorf("capture %q", got)
	}
	resume := func(filtered bool) (string, int64, bool) {
		t.Helper()
		c, err := NewCapture(dir)
		if err != nil {
			t.Fatal(err)
		}
		c.Filtered = filtered
		cs, err := c.Open(ctx, genesis("NTNX-A-CVM"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		return cs.ResumePoint()
	}
	ident, off, ok := resume(false)
	if !ok || ident != "64:12" || off != 104 {
		t.Errorf("resume %q %d %v", ident, off, ok)
	}

	// A stop between the lines and their record: the extra bytes are the next remote bytes.
	f, _ := os.OpenFile(filepath.Join(dir, "NTNX-A-CVM", "genesis.log"), os.O_APPEND|os.O_WRONLY, 0)
	if _, err := f.WriteString("c\n"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if _, off, ok := resume(false); !ok || off != 106 {
		t.Errorf("after an unrecorded line: %d %v, want 106", off, ok)
	}
	if _, _, ok := resume(true); ok {
		t.Error("a filtered capture cannot map its size to remote offsets")
	}
}

func TestCapturePositionFileThatDoesNotParseIsIgnored(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "cvm"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "cvm", "genesis.log"), nil, 0o640))
	for _, pos := range []string{"64:12; rm -rf / 0 0\n", "$(x) 0 0\n", "64:12 -5 0\n", "a:b 1 0\n"} {
		must(t, os.WriteFile(filepath.Join(dir, "cvm", ".genesis.log.pos"), []byte(pos), 0o640))
		c, err := NewCapture(dir)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := c.Open(context.Background(), genesis("cvm"))
		if err != nil {
			t.Fatal(err)
		}
		if ident, off, ok := cs.ResumePoint(); ok {
			t.Errorf("position %q gave a resume point %q %d", pos, ident, off)
		}
		_ = c.Close()
	}
}

func TestCaptureNamesStayInsideDirAndNeverCollide(t *testing.T) {
	c, err := NewCapture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../../etc/passwd", "..", ".hidden", "a/b", "a\x1b]52;c;x\a"} {
		n := c.Name(CaptureKey{CVM: name, Log: name, Path: "/x"})
		if strings.Count(n, "/") != 1 || strings.HasPrefix(n, ".") || strings.Contains(n, "/.") || strings.ContainsAny(n, "\x1b\a") {
			t.Errorf("%q -> %q escapes, nests or hides", name, n)
		}
	}
	keys := []CaptureKey{
		{CVM: "cvm", Log: "genesis", Path: "/home/nutanix/data/logs/genesis.out"},
		{CVM: "cvm", Log: "genesis.out", Path: "/home/nutanix/data/logs/genesis.out", ByPath: true},
		{CVM: "cvm", Log: "genesis.out", Path: "/home/nutanix/data/logs/old/genesis.out", ByPath: true},
		{CVM: "cvm", Log: "genesis", Path: "/home/nutanix/data/logs/genesis", ByPath: true},
		{CVM: "cvm", Log: "b", Path: "/a/../b", ByPath: true},
		{CVM: "cvm", Log: "b", Path: "/b", ByPath: true},
	}
	seen := map[string]CaptureKey{}
	for _, k := range keys {
		n := c.Name(k)
		if other, dup := seen[n]; dup {
			t.Errorf("%+v and %+v share %s", k, other, n)
		}
		seen[n] = k
		if strings.Contains(n, "/../") || strings.HasPrefix(n, "../") {
			t.Errorf("%+v -> %s climbs", k, n)
		}
	}
	if n := c.Name(keys[0]); n != "cvm/genesis.log" {
		t.Errorf("a catalog name -> %s, want cvm/genesis.log as always", n)
	}
	if n := c.Name(keys[2]); n != "cvm/paths/home/nutanix/data/logs/old/genesis.out.log" {
		t.Errorf("a path -> %s", n)
	}
}

func TestCaptureRefusesPlantedSymlinks(t *testing.T) {
	for _, plant := range []string{"cvm/genesis.log", "cvm/.genesis.log.pos", "cvm/.genesis.log.lock", "cvm"} {
		t.Run(plant, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			must(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
			must(t, os.MkdirAll(filepath.Join(dir, "cvm"), 0o750))
			if plant == "cvm" {
				must(t, os.Remove(filepath.Join(dir, "cvm")))
				must(t, os.Symlink(filepath.Dir(victim), filepath.Join(dir, "cvm")))
			} else {
				must(t, os.Symlink(victim, filepath.Join(dir, plant)))
			}
			c, err := NewCapture(dir)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := c.Open(context.Background(), genesis("cvm"))
			if err == nil {
				// Only the position file can be planted past Open: it is replaced, never followed.
				if err := cs.Write([]byte("line from a CVM\n"), "1:2", 16); err != nil {
					t.Errorf("writing past a planted position file: %v", err)
				}
				if plant != "cvm/.genesis.log.pos" {
					t.Errorf("a symlink at %s was not refused", plant)
				}
				if st, lerr := os.Lstat(filepath.Join(dir, plant)); lerr != nil || st.Mode()&os.ModeSymlink != 0 {
					t.Errorf("the position file is still a symlink (%v)", lerr)
				}
			} else if !errors.Is(err, ErrSymlink) {
				t.Errorf("err = %v, want ErrSymlink", err)
			}
			_ = c.Close()
			if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
				t.Errorf("the file behind the symlink became %q", got)
			}
		})
	}
}

func TestCaptureLockMakesASecondRunWait(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Open(ctx, genesis("cvm")); err != nil {
		t.Fatal(err)
	}

	second, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	second.LockWait = 150 * time.Millisecond
	_, err = second.Open(ctx, genesis("cvm"))
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), "genesis.log") {
		t.Fatalf("err = %v, want a LockedError naming the file and the other process", err)
	}
	// Other streams are not held up.
	if _, err := second.Open(ctx, CaptureKey{CVM: "cvm", Log: "acropolis", Path: "/home/nutanix/data/logs/acropolis.out"}); err != nil {
		t.Errorf("another stream: %v", err)
	}

	// Once the first run ends, the second goes on.
	second.LockWait = 10 * time.Second
	done := make(chan error, 1)
	go func() {
		_, err := second.Open(ctx, genesis("cvm"))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second run did not wait: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	must(t, first.Close())
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second run still waits after the first ended")
	}
	_ = second.Close()
}

func TestCaptureUnsafeDirWarns(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o777))
	c, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "may be written by others") {
		t.Errorf("warnings %q", c.Warnings)
	}
	must(t, os.Chmod(dir, 0o750))
	c, _ = NewCapture(dir)
	if len(c.Warnings) != 0 {
		t.Errorf("a private directory warned: %q", c.Warnings)
	}
}

func TestCaptureUnwritableDirIsAnError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write anywhere")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o700) }()
	if _, err := NewCapture(filepath.Join(dir, "sub")); err == nil {
		t.Error("no error for an unwritable directory")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// CapturedIn finds the earlier captures of a directory's files (a glob's matches), by the
// names Name gives them: not the hidden side files, not directories, not a name that Name
// would not give (an escaped one), nothing outside the mirrored directory.
func TestCapturedInListsTheCapturesOfADirectory(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "capture")
	c, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/logs/svc.1.log", "/logs/svc.2.log", "/logs/sub/svc.3.log", "/other/svc.4.log"} {
		cs, err := c.Open(ctx, CaptureKey{CVM: "cvm1", Log: path.Base(p), Path: p, ByPath: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.Write([]byte("x\n"), "1:2", 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "cvm1", "paths", "logs")
	if err := os.WriteFile(filepath.Join(logs, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(logs, "d.log"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err = NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	all := func(string) bool { return true }
	if got := strings.Join(c.CapturedIn("cvm1", "/logs", all, 100), ","); got != "svc.1.log,svc.2.log" {
		t.Errorf("captured in /logs: %q", got)
	}
	if got := c.CapturedIn("cvm1", "/logs", all, 1); len(got) != 1 {
		t.Errorf("limit 1: %q", got)
	}
	if got := c.CapturedIn("cvm2", "/logs", all, 100); len(got) != 0 {
		t.Errorf("another CVM: %q", got)
	}
	// The limit counts what keep takes: a directory of many other captures hides no match.
	only2 := func(base string) bool { return base == "svc.2.log" }
	if got := strings.Join(c.CapturedIn("cvm1", "/logs", only2, 1), ","); got != "svc.2.log" {
		t.Errorf("keep svc.2.log, limit 1: %q", got)
	}
}
