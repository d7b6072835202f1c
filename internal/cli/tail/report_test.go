package tail

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

func TestReporterSaysEachWayForwardOnce(t *testing.T) {
	var b bytes.Buffer
	r := newReporter(&stderrLog{w: &b}, false)
	for _, cvm := range []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"} {
		err := &sshx.HostKeyError{Host: cvm, Addr: cvm + ":22", Fingerprint: "SHA256:x", KnownHostsFile: "/kh"}
		r.event(tailer.Event{Kind: tailer.EventFailed, CVM: cvm, Err: err})
	}
	out := b.String()
	if n := strings.Count(out, "unknown host key"); n != 4 {
		t.Errorf("%d errors, want one per CVM:\n%s", n, out)
	}
	if n := strings.Count(out, "cvmtail: hint: "); n != 1 {
		t.Errorf("%d hints, want one for the four:\n%s", n, out)
	}
	// Another kind gets its own.
	r.event(tailer.Event{Kind: tailer.EventFailed, CVM: "127.0.0.15", Err: &sshx.HostKeyError{Host: "x", Addr: "x:22", Changed: true}})
	if n := strings.Count(b.String(), "cvmtail: hint: "); n != 2 {
		t.Errorf("a changed key shares the unknown key's hint:\n%s", b.String())
	}
}

func TestReporterRotationOnlyWhenAsked(t *testing.T) {
	rotated := tailer.Event{Kind: tailer.EventRotated, CVM: "c", Log: "genesis", Err: errors.New("rotated; following the new file")}
	truncated := tailer.Event{Kind: tailer.EventNotice, CVM: "c", Log: "genesis", Err: errors.New("file truncated; following from its start")}
	for _, show := range []bool{false, true} {
		var b bytes.Buffer
		r := newReporter(&stderrLog{w: &b}, show)
		r.event(rotated)
		r.event(truncated)
		if got := strings.Contains(b.String(), "rotated"); got != show {
			t.Errorf("showRotation %v: stderr %q", show, b.String())
		}
		if !strings.Contains(b.String(), "cvmtail: c: genesis: file truncated") {
			t.Errorf("truncation is always said: %q", b.String())
		}
	}
}

// Whether rotation is said follows from the run's flags and its stderr: on a terminal only
// with -v, into a file (a cron log) always, and never with -q.
func TestRotationNoticeFollowsVerboseQuietAndTheTerminal(t *testing.T) {
	rotated := tailer.Event{Kind: tailer.EventRotated, CVM: "c", Log: "genesis", Err: errors.New("rotated; following the new file")}
	for _, tt := range []struct {
		stderrTTY, verbose, quiet, want bool
	}{
		{stderrTTY: true, want: false},
		{stderrTTY: true, verbose: true, want: true},
		{stderrTTY: false, want: true},
		{stderrTTY: false, quiet: true, want: false},
		{stderrTTY: true, verbose: true, quiet: true, want: false},
	} {
		ios, _, _, _ := iostreams.Test()
		ios.SetStderrTTY(tt.stderrTTY)
		var b bytes.Buffer
		r := (&Options{IO: ios, Verbose: tt.verbose, Quiet: tt.quiet}).newReporter(&stderrLog{w: &b})
		r.event(rotated)
		if got := strings.Contains(b.String(), "rotated; following the new file"); got != tt.want {
			t.Errorf("stderr terminal %v, -v %v, -q %v: stderr %q, want the rotation said: %v", tt.stderrTTY, tt.verbose, tt.quiet, b.String(), tt.want)
		}
	}
}

func TestReporterSumsUpSkippedFiles(t *testing.T) {
	var b bytes.Buffer
	r := newReporter(&stderrLog{w: &b}, false)
	for _, ev := range []tailer.Event{
		{Kind: tailer.EventSkipped, CVM: "a", Log: "stargate.FATAL"},
		{Kind: tailer.EventSkipped, CVM: "b", Log: "stargate.FATAL"},
		{Kind: tailer.EventSkipped, CVM: "a", Log: "stargate.ERROR"},
	} {
		r.event(ev)
	}
	if b.Len() != 0 {
		t.Errorf("said before the end: %q", b.String())
	}
	r.finish()
	if want := "cvmtail: skipped, not on the CVM: stargate.ERROR (1 CVM), stargate.FATAL (2 CVMs)\n"; b.String() != want {
		t.Errorf("stderr %q, want %q", b.String(), want)
	}
}

func TestReporterSaysDownAtStartAndReachedOnce(t *testing.T) {
	var b bytes.Buffer
	r := newReporter(&stderrLog{w: &b}, false)
	for _, cvm := range []string{"NTNX-A-CVM", "NTNX-B-CVM"} {
		err := &sshx.DialError{Host: cvm, Addr: "127.0.0.12:22", Err: syscall.ECONNREFUSED}
		r.event(tailer.Event{Kind: tailer.EventUnreachable, CVM: cvm, Err: err})
	}
	r.event(tailer.Event{Kind: tailer.EventReached, CVM: "NTNX-A-CVM"})
	out := b.String()
	for _, want := range []string{
		"cvmtail: NTNX-A-CVM: unreachable (connect to 127.0.0.12:22: connection refused); retrying until it answers\n",
		"cvmtail: NTNX-B-CVM: unreachable (",
		"cvmtail: NTNX-A-CVM: reached; following its files\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "cvmtail: hint: check the address and that sshd listens on port 22"); n != 1 {
		t.Errorf("%d hints, want one for both CVMs:\n%s", n, out)
	}
}
