package cli

import (
	"bytes"
	"encoding/json"
	"runtime/debug"
	"testing"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
)

var release = cmdutil.BuildInfo{Version: "1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567",
	Date: "2026-11-22T10:56:04Z", Go: "go1.26.8", Platform: "linux/amd64"}

func runRoot(t *testing.T, b cmdutil.BuildInfo, args ...string) (string, error) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IOStreams: ios, Build: b})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestVersionLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    cmdutil.BuildInfo
		want string
	}{
		{"release", release, "cvmtail 1.2.3 (commit 0123456789ab, built 2026-11-22T10:56:04Z)\n"},
		{"nothing known", cmdutil.BuildInfo{Version: "dev"}, "cvmtail dev\n"},
		{"commit only", cmdutil.BuildInfo{Version: "dev", Commit: "abc1234"}, "cvmtail dev (commit abc1234)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{"--version"}, {"version"}} {
				got, err := runRoot(t, tc.b, args...)
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("cvmtail %s printed %q, want %q", args[0], got, tc.want)
				}
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	got, err := runRoot(t, release, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("not one JSON object: %q: %v", got, err)
	}
	want := map[string]string{"version": "1.2.3", "commit": release.Commit, "date": release.Date,
		"go": "go1.26.8", "platform": "linux/amd64"}
	if len(m) != len(want) {
		t.Errorf("keys %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if !bytes.HasSuffix([]byte(got), []byte("}\n")) {
		t.Errorf("%q: want one line", got)
	}
}

func TestVersionBadOutputIsUsage(t *testing.T) {
	_, err := runRoot(t, release, "version", "-o", "yaml")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("err %v: want a usage error", err)
	}
}

// Built without the Makefile: go install ...@v1.2.3, or go build in a clone.
func TestVersionFromGoBuildInfo(t *testing.T) {
	dev := cmdutil.BuildInfo{Version: "dev"}
	for _, tc := range []struct {
		name string
		b    cmdutil.BuildInfo
		bi   debug.BuildInfo
		want cmdutil.BuildInfo
	}{
		{"go install @v1.2.3", dev, debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			cmdutil.BuildInfo{Version: "1.2.3"}},
		{"go build in a clone", dev, debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261122105604-0123456789ab+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: release.Commit}, {Key: "vcs.time", Value: release.Date}}},
			cmdutil.BuildInfo{Version: "0.0.0-20261122105604-0123456789ab+dirty", Commit: release.Commit, Date: release.Date}},
		{"go build without VCS", dev, debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, dev},
		{"-ldflags -X wins", cmdutil.BuildInfo{Version: "1.2.3", Commit: "abc", Date: "2026-01-01T00:00:00Z"},
			debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "def"}, {Key: "vcs.time", Value: "2020-01-01T00:00:00Z"}}},
			cmdutil.BuildInfo{Version: "1.2.3", Commit: "abc", Date: "2026-01-01T00:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromGoBuildInfo(tc.b, &tc.bi); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
