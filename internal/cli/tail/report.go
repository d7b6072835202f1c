package tail

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/tailer"
)

// reporter turns the engine's events into stderr lines, one at a time:
//   - a failure is named per CVM and file, its way forward said once per kind (four CVMs
//     with an unknown host key give four errors and one hint);
//   - rotation is normal: said only when asked (-v) or when stderr is not a terminal (a
//     cron log keeps the record), while truncation and possible loss always are;
//   - files a glob selected that a CVM does not have are summed up in one line at the end.
type reporter struct {
	l        *stderrLog
	rotation bool // show rotation notices

	mu      sync.Mutex
	hinted  map[string]bool     // kinds of way forward already said
	skipped map[string][]string // log → CVMs that do not have it
}

// newReporter is the reporter of these options: rotation is said with -v, or when stderr
// is not a terminal, and never with -q.
func (o *Options) newReporter(l *stderrLog) *reporter {
	return newReporter(l, (o.Verbose || !o.IO.IsStderrTTY()) && !o.Quiet)
}

func newReporter(l *stderrLog, showRotation bool) *reporter {
	return &reporter{l: l, rotation: showRotation, hinted: map[string]bool{}, skipped: map[string][]string{}}
}

func (r *reporter) event(ev tailer.Event) {
	where := ev.CVM
	if ev.Log != "" {
		where += ": " + ev.Log
	}
	msg := ""
	if ev.Err != nil {
		msg = ev.Err.Error()
	}
	// The SSH layer names the host itself; name the CVM once.
	msg = strings.TrimPrefix(msg, ev.CVM+": ")
	switch ev.Kind {
	case tailer.EventConnLost:
		r.l.printf("cvmtail: %s: connection lost (%s); reconnecting\n", where, msg)
	case tailer.EventReconnected:
		r.l.printf("cvmtail: %s: reconnected\n", where)
	case tailer.EventUnreachable:
		// Down at start is retried like a drop (an upgrade reboots CVMs one at a time); a
		// mistyped address or port would retry for ever, so its way forward is said too.
		r.l.printf("cvmtail: %s: unreachable (%s); retrying until it answers\n", where, msg)
		r.hint(ev.Err)
	case tailer.EventReached:
		r.l.printf("cvmtail: %s: reached; following its files\n", where)
	case tailer.EventRotated:
		if r.rotation {
			r.l.printf("cvmtail: %s: %s\n", where, msg)
		}
	case tailer.EventWaiting: // the start summary counts it; nothing to say
	case tailer.EventSkipped:
		r.mu.Lock()
		r.skipped[ev.Log] = append(r.skipped[ev.Log], ev.CVM)
		r.mu.Unlock()
	case tailer.EventNotice:
		// tail -F's own words in the fallback: rotation too.
		if strings.Contains(msg, "following new file") && !r.rotation {
			return
		}
		r.l.printf("cvmtail: %s: %s\n", where, msg)
	default:
		r.l.printf("cvmtail: %s: %s\n", where, msg)
		if ev.Kind == tailer.EventFailed {
			r.hint(ev.Err)
		}
	}
}

// hint says err's way forward unless one of its kind was said already.
func (r *reporter) hint(err error) {
	h := cmdutil.HintOf(err)
	if h == "" {
		return
	}
	kind := cmdutil.HintKind(err)
	r.mu.Lock()
	said := r.hinted[kind]
	r.hinted[kind] = true
	r.mu.Unlock()
	if !said {
		r.l.printf("cvmtail: hint: %s\n", h)
	}
}

// finish says, in one line, which files a glob selected that some CVMs do not have.
func (r *reporter) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.skipped) == 0 {
		return
	}
	var logs []string
	for l := range r.skipped {
		logs = append(logs, l)
	}
	sort.Strings(logs)
	var parts []string
	for _, l := range logs {
		n := len(r.skipped[l])
		cvms := "1 CVM"
		if n > 1 {
			cvms = fmt.Sprintf("%d CVMs", n)
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", l, cvms))
	}
	r.l.printf("cvmtail: skipped, not on the CVM: %s\n", strings.Join(parts, ", "))
}
