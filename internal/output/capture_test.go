package output

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCaptureAppendsAndRecordsResumePoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "capture")
	c, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.ResumePoint("NTNX-A-CVM", "genesis"); ok {
		t.Error("resume point before any capture")
	}
	cs, err := c.Stream("NTNX-A-CVM", "genesis")
	if err != nil {
		t.Fatal(err)
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
	ident, off, ok := c.ResumePoint("NTNX-A-CVM", "genesis")
	if !ok || ident != "64:12" || off != 104 {
		t.Errorf("resume %q %d %v", ident, off, ok)
	}

	// A stop between the lines and their record: the extra bytes are the next remote bytes.
	f, _ := os.OpenFile(c.Path("NTNX-A-CVM", "genesis"), os.O_APPEND|os.O_WRONLY, 0)
	if _, err := f.WriteString("c\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, off, ok := c.ResumePoint("NTNX-A-CVM", "genesis"); !ok || off != 106 {
		t.Errorf("after an unrecorded line: %d %v, want 106", off, ok)
	}
	c.Filtered = true
	if _, _, ok := c.ResumePoint("NTNX-A-CVM", "genesis"); ok {
		t.Error("a filtered capture cannot map its size to remote offsets")
	}
}

func TestCaptureNamesStayInsideDir(t *testing.T) {
	dir := t.TempDir()
	c, err := NewCapture(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../../etc/passwd", "..", ".hidden", "a/b"} {
		p := c.Path(name, name)
		if rel, err := filepath.Rel(dir, p); err != nil || filepath.IsAbs(rel) || rel[:2] == ".." || filepath.Dir(filepath.Dir(rel)) != "." {
			t.Errorf("%q -> %s escapes or nests in %s", name, p, dir)
		}
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
