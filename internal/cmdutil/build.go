package cmdutil

import "fmt"

// BuildInfo is what `cvmtail --version` and `cvmtail version` tell of the binary.
type BuildInfo struct {
	Version  string `json:"version"`  // 1.2.3, or a Go pseudo-version between releases
	Commit   string `json:"commit"`   // the full git commit hash, "" when unknown
	Date     string `json:"date"`     // the commit's time, UTC RFC 3339: the build's date, reproducibly
	Go       string `json:"go"`       // the Go toolchain that built it
	Platform string `json:"platform"` // GOOS/GOARCH
}

// String is the --version line's text after "cvmtail ":
// 1.2.3 (commit 0123456789ab, built 2026-11-22T10:56:04Z).
func (b BuildInfo) String() string {
	s := b.Version
	if s == "" {
		s = "dev"
	}
	commit := b.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	switch {
	case commit != "" && b.Date != "":
		s += fmt.Sprintf(" (commit %s, built %s)", commit, b.Date)
	case commit != "":
		s += fmt.Sprintf(" (commit %s)", commit)
	case b.Date != "":
		s += fmt.Sprintf(" (built %s)", b.Date)
	}
	return s
}
