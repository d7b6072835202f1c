package tailer

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cvmtail/cvmtail/internal/shquote"
)

// agentScript follows every file asked of one CVM in one process and frames their bytes
// with stream ids, offsets and file identities (see agent/agent.py and
// docs/agent-protocol.md). Python is on every CVM: the cluster's own services use it.
//
//go:embed agent/agent.py
var agentScript string

// agentRequest is what one agent process is asked: the streams of one CVM that it follows,
// all read as the SSH user or all through sudo.
type agentRequest struct {
	Follow     bool
	PollMillis int // how often an idle file is looked at when inotify is not there
	ZoneOffset int // UTC offset in seconds of syslog-style times, for Since
	Sudo       bool
	// History: a stream with Since starts in the file's rotated predecessors (H frames).
	History bool
	// Until, when not zero, ends each stream at its first line stamped at or after it (or,
	// following, when the CVM's clock passes it).
	Until   time.Time
	Streams []streamRequest
}

// streamRequest is one file of an agentRequest.
type streamRequest struct {
	ID     int
	Path   string
	Window int // bytes in flight before the agent waits for credit
	Lines  int // backlog lines; -1: from the start (a file that appears later, a resume)
	// Since, when not zero, replaces Lines: the first line stamped at or after it (a binary
	// search by offset on the CVM).
	Since time.Time
	// ResumeIdent ("dev:ino", validated) and ResumeOffset: where the last session stopped.
	ResumeIdent  string
	ResumeOffset int64
	// Glob, when set, makes Path a glob the agent expands: each match becomes a stream of
	// its own, announced with an N frame (docs/agent-protocol.md, "Globs").
	Glob *globRequest
}

// globRequest is the id range of a glob's matches: Lo..Hi in all, Next the first not used
// yet (the ones before it are the matches of earlier sessions: the live ones are streams of
// this request, the ended ones are Done, so that none is announced again).
type globRequest struct {
	Lo, Next, Hi int
	Done         []string
	Resume       []ResumePoint // matches not announced yet that an earlier run followed
}

// args are the agent's arguments (docs/agent-protocol.md, "Request"), shell-quoted. The
// paths travel in the command line, where the lab's CVMs find them too.
func (r agentRequest) args() string {
	follow := "0"
	if r.Follow {
		follow = "1"
	}
	words := []string{protocolVersion, follow, strconv.Itoa(max(r.PollMillis, 1)), strconv.Itoa(r.ZoneOffset)}
	// Options, only when used: an agent ignores the ones it does not know.
	if r.History {
		words = append(words, "history=1")
	}
	if !r.Until.IsZero() {
		words = append(words, "until="+unixSeconds(r.Until))
	}
	for _, s := range r.Streams {
		if g := s.Glob; g != nil {
			words = append(words, fmt.Sprintf("glob=%d:%d:%d:%d", s.ID, g.Lo, g.Next, g.Hi))
			for _, p := range g.Done {
				words = append(words, shquote.Quote(fmt.Sprintf("globdone=%d:%s", s.ID, p)))
			}
			for _, p := range g.Resume {
				words = append(words, shquote.Quote(fmt.Sprintf("globresume=%d:%d:%s:%s", s.ID, p.Offset, p.Ident, p.Path)))
			}
		}
	}
	for _, s := range r.Streams {
		since := ""
		if !s.Since.IsZero() && s.ResumeIdent == "" {
			since = unixSeconds(s.Since)
		}
		ident, offset := "", int64(0)
		if validIdent(s.ResumeIdent) && s.ResumeOffset >= 0 && s.ResumeOffset <= maxNumber {
			ident, offset = s.ResumeIdent, s.ResumeOffset
		}
		words = append(words, strconv.Itoa(s.ID), shquote.Quote(s.Path), strconv.Itoa(s.Window),
			strconv.Itoa(s.Lines), shquote.Quote(since), shquote.Quote(ident), strconv.FormatInt(offset, 10))
	}
	return strings.Join(words, " ")
}

// unixSeconds is t as the agent reads times: Unix seconds with microseconds.
func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 6, 64)
}

// quotedAgent is the agent quoted for the shell, once for every session of the run: it is
// most of the command, about 64 KB.
var quotedAgent = sync.OnceValue(func() string { return shquote.Quote(agentScript) })

// command is the remote command line: the agent under python3 (or python 2.7), exec'ed so
// that the shell is gone and the agent is the channel's only process. A CVM without Python
// answers with the "no python" greeting instead and the streams fall back to tail -F, one
// channel each.
func (r agentRequest) command() string {
	sudo := ""
	if r.Sudo {
		sudo = "sudo -n "
	}
	script, args := quotedAgent(), r.args()
	var b strings.Builder
	b.Grow(len(script) + len(args) + 512)
	b.WriteString("S=")
	b.WriteString(script)
	b.WriteString("; set -- ")
	b.WriteString(args)
	b.WriteString("; if command -v python3 >/dev/null 2>&1; then exec ")
	b.WriteString(sudo)
	b.WriteString(`python3 -S -E -c "$S" "$@"; elif command -v python >/dev/null 2>&1; then exec `)
	b.WriteString(sudo)
	b.WriteString(`python -S -E -c "$S" "$@"; else printf '\000CVMTAIL` + noPythonVersion + `\n'; fi`)
	return b.String()
}

// fallbackRequest is what one tail -F channel is asked, on a CVM without Python.
type fallbackRequest struct {
	Path         string
	Lines        int // backlog lines; -1: from the start
	Follow       bool
	Sudo         bool
	ResumeIdent  string // validated "dev:ino", or ""
	ResumeOffset int64
}

// command is the tail -F pipeline: unframed bytes after a "\0CVMTAIL0 <ident>" line, no
// offsets beyond a resume point. Nothing outlives the channel: a watchdog reads the
// channel's stdin and, at EOF (the channel closed), kills the whole process group, which
// also catches an old coreutils tail that would linger until its next write. When tail ends
// by itself (--no-follow) the shell waits until its output is drained, then exits; sshd may
// close the channel as soon as the shell is gone, so output still on its way through a
// helper process would be lost.
func (r fallbackRequest) command() string {
	sudo := ""
	if r.Sudo {
		sudo = "sudo -n "
	}
	p := shquote.Quote(r.Path)
	var tailArgs string
	switch {
	case validIdent(r.ResumeIdent) && r.ResumeOffset >= 0 && r.ResumeOffset < maxNumber:
		// Resume only when the name still points at the same file; otherwise new lines only.
		tailArgs = `$(if [ "$(stat -L -c %d:%i -- ` + p + ` 2>/dev/null)" = ` + shquote.Quote(r.ResumeIdent) +
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
