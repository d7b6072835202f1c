package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var (
	epoch = time.Unix(1795344964, 0).UTC() // 2026-11-22T10:56:04Z
	files = []file{
		{name: "cvmtail", mode: 0o755, data: []byte("binary")},
		{name: "LICENSE", mode: 0o644, data: []byte("license")},
		{name: "man/man1/cvmtail.1", mode: 0o644, data: []byte(".TH CVMTAIL")},
		{name: "completions/cvmtail.bash", mode: 0o644, data: []byte("complete")},
	}
	wantNames = []string{
		"cvmtail_1.2.3_linux_amd64/",
		"cvmtail_1.2.3_linux_amd64/LICENSE",
		"cvmtail_1.2.3_linux_amd64/completions/",
		"cvmtail_1.2.3_linux_amd64/completions/cvmtail.bash",
		"cvmtail_1.2.3_linux_amd64/cvmtail",
		"cvmtail_1.2.3_linux_amd64/man/",
		"cvmtail_1.2.3_linux_amd64/man/man1/",
		"cvmtail_1.2.3_linux_amd64/man/man1/cvmtail.1",
	}
)

// Same input, same bytes; sorted entries, each directory before what it holds, owned by
// root, with the commit's time and fixed modes, whatever the file system says.
func TestTarGzIsReproducible(t *testing.T) {
	a, err := tarGzArchive("cvmtail_1.2.3_linux_amd64", files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tarGzArchive("cvmtail_1.2.3_linux_amd64", files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs gave different bytes")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header holds name %q and time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "root" {
			t.Errorf("%s: time %v, owner %d/%d %s", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		want := int64(0o644)
		if h.Typeflag == tar.TypeDir || filepath.Base(h.Name) == "cvmtail" {
			want = 0o755
		}
		if h.Mode != want {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
		}
		if h.Name == "cvmtail_1.2.3_linux_amd64/cvmtail" {
			if data, _ := io.ReadAll(tr); string(data) != "binary" {
				t.Errorf("binary holds %q", data)
			}
		}
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("entries\n%q\nwant\n%q", names, wantNames)
	}
}

func TestZipIsReproducible(t *testing.T) {
	a, err := zipArchive("cvmtail_1.2.3_linux_amd64", files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	b, err := zipArchive("cvmtail_1.2.3_linux_amd64", files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs gave different bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(epoch) {
			t.Errorf("%s: time %v", f.Name, f.Modified)
		}
		if f.Name == "cvmtail_1.2.3_linux_amd64/cvmtail" && f.Mode() != 0o755 {
			t.Errorf("binary mode %v", f.Mode())
		}
		if f.Name == "cvmtail_1.2.3_linux_amd64/man/" && f.Mode() != fs.ModeDir|0o755 {
			t.Errorf("directory mode %v", f.Mode())
		}
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("entries\n%q\nwant\n%q", names, wantNames)
	}
}

// sha256sum -c reads "<hex>  <name>" lines.
func TestSHA256SUMS(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"b.zip": "bb", "a.tar.gz": "aa"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sha256sums(dir, []string{"b.zip", "a.tar.gz"})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x  a.tar.gz\n%x  b.zip\n", sha256.Sum256([]byte("aa")), sha256.Sum256([]byte("bb")))
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCleanKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"cvmtail_0.9.0_linux_amd64.tar.gz", "SHA256SUMS", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := clean(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		t.Errorf("left %v, want only notes.txt", entries)
	}
}

func TestRunRefusesMissingSettings(t *testing.T) {
	good := options{out: t.TempDir(), version: "1.2.3", epoch: 1795344964, nfpm: "github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"}
	for name, o := range map[string]options{
		"no version":       {out: good.out, epoch: good.epoch, nfpm: good.nfpm},
		"version with a /": {out: good.out, version: "feature/x", epoch: good.epoch, nfpm: good.nfpm},
		"no epoch":         {out: good.out, version: good.version, nfpm: good.nfpm},
		"nfpm not pinned":  {out: good.out, version: good.version, epoch: good.epoch, nfpm: "github.com/goreleaser/nfpm/v2/cmd/nfpm@latest"},
	} {
		if err := run(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
