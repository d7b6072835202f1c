// Command dist writes cvmtail's release files into a directory (dist/):
//
//	cvmtail_<version>_<os>_<arch>.tar.gz   linux and darwin, amd64 and arm64
//	cvmtail_<version>_windows_<arch>.zip   windows, amd64 and arm64
//	cvmtail_<version>_<arch>.deb           amd64, arm64
//	cvmtail-<version>.<arch>.rpm           x86_64, aarch64
//	SHA256SUMS                             over all of them, for sha256sum -c
//
// Each archive holds the binary, LICENSE, README.md, the man pages (man/man1) and the
// completion scripts (completions/) under one directory named like the archive. The
// packages are made by nfpm, from .ci/nfpm.yaml, pinned by the Makefile and run with
// `go run`, so that the product's go.mod carries no packaging dependency.
//
// Run it from the repository root through `make dist`, which passes the version, the -X
// flags and the commit's time. The output depends on the sources, those flags and the Go
// toolchain only: binaries are static, stripped and built with -trimpath and an empty build
// ID; every file time in an archive or package is the commit's, entries are sorted, and
// owners and modes are fixed. Two runs give identical bytes.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// targets are the platforms of a release, as GOOS/GOARCH.
var targets = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// Linux package architectures by GOARCH.
var (
	debArch = map[string]string{"amd64": "amd64", "arm64": "arm64"}
	rpmArch = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}
)

// Repository paths the archives and packages take their files from.
const (
	nfpmConfig    = ".ci/nfpm.yaml"
	manDir        = "docs/man"
	completionDir = "completions"
)

type options struct {
	out     string // the directory to write into
	version string // 1.2.3, or a pseudo-version
	ldflags string // the -X flags; dist adds -s -w -buildid=
	epoch   int64  // the commit's time (SOURCE_DATE_EPOCH)
	nfpm    string // nfpm's command package at a version, for go run
	goCmd   string
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "dist", "directory to write the release files into")
	flag.StringVar(&o.version, "version", "", "the release's version (1.2.3)")
	flag.StringVar(&o.ldflags, "ldflags", "", "linker flags for the binaries (the -X version flags)")
	flag.Int64Var(&o.epoch, "epoch", 0, "the commit's time in seconds since 1970: every file time, and the build date")
	flag.StringVar(&o.nfpm, "nfpm", "", "nfpm's command at a pinned version, e.g. github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2")
	flag.StringVar(&o.goCmd, "go", "go", "the go command")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "dist: %s\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	switch {
	case o.version == "" || strings.ContainsAny(o.version, "/ _"):
		return fmt.Errorf("-version %q: want a version such as 1.2.3", o.version)
	case o.epoch <= 0:
		return errors.New("-epoch: want the commit's time (git log -1 --format=%ct)")
	case o.nfpm == "" || !strings.Contains(o.nfpm, "@v"):
		return fmt.Errorf("-nfpm %q: want nfpm's command package at a pinned version", o.nfpm)
	}
	mtime := time.Unix(o.epoch, 0).UTC()
	docs, err := readDocs()
	if err != nil {
		return err
	}
	if err := clean(o.out); err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "cvmtail-dist-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	var written []string
	for _, t := range targets {
		goos, goarch, _ := strings.Cut(t, "/")
		bin, err := build(o, stage, goos, goarch)
		if err != nil {
			return err
		}
		name, err := writeArchive(o.out, o.version, goos, goarch, bin, docs, mtime)
		if err != nil {
			return err
		}
		written = append(written, name)
	}

	// Debian and RPM want man pages compressed; gzip's header then holds neither a name nor
	// a time, as with gzip -n.
	for _, f := range docs {
		if dir, name := path.Split(f.name); dir == "man/man1/" {
			if err := os.MkdirAll(filepath.Join(stage, "man"), 0o755); err != nil {
				return err
			}
			gz, err := gzipBytes(f.data)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(stage, "man", name+".gz"), gz, 0o644); err != nil {
				return err
			}
		}
	}
	for _, t := range targets {
		goos, goarch, _ := strings.Cut(t, "/")
		if goos != "linux" {
			continue
		}
		for _, p := range []struct{ packager, name string }{
			{"deb", fmt.Sprintf("cvmtail_%s_%s.deb", o.version, debArch[goarch])},
			{"rpm", fmt.Sprintf("cvmtail-%s.%s.rpm", o.version, rpmArch[goarch])},
		} {
			if err := nfpmPackage(o, stage, goarch, p.packager, p.name); err != nil {
				return err
			}
			written = append(written, p.name)
		}
	}

	sums, err := sha256sums(o.out, written)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "SHA256SUMS"), sums, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dist: wrote %d files and SHA256SUMS into %s\n", len(written), o.out)
	return nil
}

// clean makes dir hold no release file of an earlier run; other files stay.
func clean(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "cvmtail") || e.Name() == "SHA256SUMS" {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// build compiles cvmtail for one platform into the staging directory.
func build(o options, stage, goos, goarch string) (string, error) {
	bin := filepath.Join(stage, goos+"_"+goarch, "cvmtail")
	if goos == "windows" {
		bin += ".exe"
	}
	args := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags", strings.TrimSpace("-s -w -buildid= " + o.ldflags), "-o", bin, "./cmd/cvmtail"}
	cmd := exec.Command(o.goCmd, args...)
	// Static everywhere: without cgo the Linux binary needs no libc, so it runs on CentOS 7's
	// glibc 2.17 and on musl alike. The baseline instruction sets are pinned against a
	// GOAMD64 or GOARM64 set in the environment.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOAMD64=v1", "GOARM64=v8.0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "GOOS=%s GOARCH=%s CGO_ENABLED=0 %s %s\n", goos, goarch, o.goCmd, quoteArgs(args))
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building for %s/%s: %w", goos, goarch, err)
	}
	return bin, nil
}

// nfpmPackage makes one .deb or .rpm for a Linux architecture with nfpm.
func nfpmPackage(o options, stage, goarch, packager, name string) error {
	args := []string{"run", o.nfpm, "package", "--config", nfpmConfig, "--packager", packager,
		"--target", filepath.Join(o.out, name)}
	cmd := exec.Command(o.goCmd, args...)
	cmd.Env = append(os.Environ(),
		"CVMTAIL_VERSION="+o.version, "CVMTAIL_ARCH="+goarch, "CVMTAIL_STAGE="+stage,
		"SOURCE_DATE_EPOCH="+strconv.FormatInt(o.epoch, 10))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "CVMTAIL_ARCH=%s %s %s\n", goarch, o.goCmd, quoteArgs(args))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nfpm %s for %s: %w", packager, goarch, err)
	}
	return nil
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \"'$") {
			q[i] = strconv.Quote(a)
		}
	}
	return strings.Join(q, " ")
}

// file is one entry of an archive, by its path inside the archive's directory.
type file struct {
	name string
	mode fs.FileMode
	data []byte
}

// readDocs reads what every archive holds beside the binary, in a fixed order.
func readDocs() ([]file, error) {
	var files []file
	for _, name := range []string{"LICENSE", "README.md"} {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		files = append(files, file{name: name, mode: 0o644, data: data})
	}
	for _, d := range []struct{ src, dst string }{{completionDir, "completions"}, {manDir, "man/man1"}} {
		entries, err := os.ReadDir(d.src)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || (d.src == manDir && !strings.HasSuffix(e.Name(), ".1")) {
				continue
			}
			data, err := os.ReadFile(filepath.Join(d.src, e.Name()))
			if err != nil {
				return nil, err
			}
			files = append(files, file{name: d.dst + "/" + e.Name(), mode: 0o644, data: data})
		}
	}
	if !slices.ContainsFunc(files, func(f file) bool { return f.name == "man/man1/cvmtail.1" }) {
		return nil, fmt.Errorf("%s/cvmtail.1 is missing: run make gen", manDir)
	}
	return files, nil
}

// writeArchive writes the archive of one platform and returns its file name.
func writeArchive(out, version, goos, goarch, bin string, docs []file, mtime time.Time) (string, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	base := fmt.Sprintf("cvmtail_%s_%s_%s", version, goos, goarch)
	files := append([]file{{name: filepath.Base(bin), mode: 0o755, data: data}}, docs...)
	var archive []byte
	name := base + ".tar.gz"
	if goos == "windows" {
		name = base + ".zip"
		archive, err = zipArchive(base, files, mtime)
	} else {
		archive, err = tarGzArchive(base, files, mtime)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return name, os.WriteFile(filepath.Join(out, name), archive, 0o644)
}

// entries are the archive's members under dir: every directory before what it holds, all
// sorted by path, so the order does not depend on the file system.
func entries(dir string, files []file) []file {
	all := []file{{name: dir + "/", mode: fs.ModeDir | 0o755}}
	seen := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f.name); d != "."; d = path.Dir(d) {
			if !seen[d] {
				seen[d] = true
				all = append(all, file{name: dir + "/" + d + "/", mode: fs.ModeDir | 0o755})
			}
		}
		all = append(all, file{name: dir + "/" + f.name, mode: f.mode, data: f.data})
	}
	slices.SortFunc(all, func(a, b file) int { return strings.Compare(a.name, b.name) })
	return all
}

func tarGzArchive(dir string, files []file, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range entries(dir, files) {
		h := &tar.Header{Name: f.name, Mode: int64(f.mode.Perm()), ModTime: mtime,
			Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
		if f.mode.IsDir() {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return gzipBytes(buf.Bytes())
}

func zipArchive(dir string, files []file, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range entries(dir, files) {
		h := &zip.FileHeader{Name: f.name, Modified: mtime, Method: zip.Deflate}
		if f.mode.IsDir() {
			h.Method = zip.Store
		}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipBytes compresses data with a header that holds no name and no time.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sha256sums is SHA256SUMS over names in dir, sorted, in sha256sum's format.
func sha256sums(dir string, names []string) ([]byte, error) {
	names = slices.Sorted(slices.Values(names))
	var b bytes.Buffer
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), name)
	}
	return b.Bytes(), nil
}
