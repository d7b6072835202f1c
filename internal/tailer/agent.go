package tailer

import (
	_ "embed"
	"strconv"
	"strings"
	"time"
)

// agentScript follows one file on the CVM and frames its bytes with offsets and file
// identity (see agent/agent.py). Python is on every CVM: the cluster's own services use it.
//
//go:embed agent/agent.py
var agentScript string

// agentRequest is what one stream asks of the CVM.
type agentRequest struct {
	Path         string
	Lines        int // backlog lines; -1: none (resume or new file)
	Follow       bool
	ResumeIdent  string // "dev:ino" of the file we were reading, "" for a fresh start
	ResumeOffset int64  // first byte not yet delivered
	Window       int    // bytes in flight before the agent waits for credit
	PollMillis   int    // how often the agent checks the name for new data and rotation
	Sudo         bool
	// Since, when not zero, replaces Lines: the agent starts at the first line stamped at
	// or after it (binary search by offset); ZoneOffset is the UTC offset in seconds of
	// syslog-style times. Appended after the original arguments.
	Since      time.Time
	ZoneOffset int
}

// shellQuote makes s one word for a POSIX shell: every character literal, nothing
// expanded or split. The remote login shell runs the command; a path is only ever data.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// command returns the remote command line. It prefers the Python agent; a CVM without
// Python gets `tail -F` wrapped so that nothing outlives the channel: a watchdog reads the
// channel's stdin and, at EOF (the channel closed), kills the whole process group, which
// also catches an old coreutils tail that would linger until its next write.
func (r agentRequest) command() string {
	sudo := ""
	if r.Sudo {
		sudo = "sudo -n "
	}
	follow := "0"
	if r.Follow {
		follow = "1"
	}
	args := strings.Join([]string{
		shellQuote(r.Path), strconv.Itoa(r.Lines), follow, shellQuote(r.ResumeIdent),
		strconv.FormatInt(r.ResumeOffset, 10), strconv.Itoa(r.Window), strconv.Itoa(r.PollMillis),
	}, " ")
	if !r.Since.IsZero() && r.ResumeIdent == "" {
		args += " " + strconv.FormatFloat(float64(r.Since.UnixNano())/1e9, 'f', 6, 64) + " " + strconv.Itoa(r.ZoneOffset)
	}
	var b strings.Builder
	b.WriteString("S=")
	b.WriteString(shellQuote(agentScript))
	b.WriteString("; if command -v python3 >/dev/null 2>&1; then exec ")
	b.WriteString(sudo)
	b.WriteString(`python3 -S -E -c "$S" `)
	b.WriteString(args)
	b.WriteString("; elif command -v python >/dev/null 2>&1; then exec ")
	b.WriteString(sudo)
	b.WriteString(`python -S -E -c "$S" `)
	b.WriteString(args)
	b.WriteString("; else ")
	b.WriteString(r.fallback(sudo))
	b.WriteString("; fi")
	return b.String()
}

// fallback is the tail -F pipeline for CVMs without Python: unframed bytes after a
// "\0CVMTAIL0 <ident>" line, no offsets beyond a resume point. When tail ends by itself
// (--no-follow) the shell waits until its output is drained, then exits; sshd may close the
// channel as soon as the shell is gone, so output still on its way through a helper process
// would be lost. The watchdog cleans up once the channel has closed.
func (r agentRequest) fallback(sudo string) string {
	p := shellQuote(r.Path)
	var tailArgs string
	switch {
	case r.ResumeIdent != "":
		// Resume only when the name still points at the same file; otherwise new lines only.
		tailArgs = `$(if [ "$(stat -L -c %d:%i -- ` + p + ` 2>/dev/null)" = ` + shellQuote(r.ResumeIdent) +
			` ]; then echo "-c +` + strconv.FormatInt(r.ResumeOffset+1, 10) + `"; else echo "-n +1"; fi)`
	case r.Lines >= 0:
		tailArgs = "-n " + strconv.Itoa(r.Lines)
	default:
		tailArgs = "-n +1"
	}
	follow := ""
	if r.Follow {
		// -s: GNU tail polls symlinked names (glog's *.INFO) once a second by default.
		follow = " -F -s 0.1"
	}
	return `exec 3<&0 </dev/null; ` +
		`( trap '' TERM; cat <&3 >/dev/null 2>&1; kill -TERM 0 ) >/dev/null 2>&1 & ` +
		`printf '\000CVMTAIL0 %s\n' "$(stat -L -c %d:%i -- ` + p + ` 2>/dev/null)"; ` +
		// tail writes into our own cat: its EOF comes only once every writer of tail's
		// output is gone, so the shell exits only after everything reached the channel.
		// tail's status comes back through fd 5 (POSIX sh has no pipefail).
		`{ rc=$( { { ` + sudo + `tail ` + tailArgs + follow + ` -- ` + p + ` 5>&-; echo $? >&5; } | cat >&6; } 5>&1 ); } 6>&1; exit $rc`
}
