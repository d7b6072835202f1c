// Package filter is tail's per-line stage: --grep, --exclude and --level decide which lines
// of a stream are kept, and the kept lines' own timestamps are read for --log-time and
// --merge-window. It runs before anything renders or captures a line.
package filter

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"time"

	"github.com/cvmtail/cvmtail/internal/logtime"
)

// Matcher is one expression. A plain literal (the usual `--grep ERROR`) is searched with
// bytes.Index, several times faster than the regexp engine on lines that do not match.
type Matcher struct {
	re  *regexp.Regexp
	lit []byte // the whole expression is this literal
	// every match begins with prefix: a line without it is rejected by bytes.Index alone,
	// which is what most lines of a busy log are
	prefix []byte
}

// Compile compiles a Go RE2 expression.
func Compile(expr string) (*Matcher, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	m := &Matcher{re: re}
	if prefix, _ := re.LiteralPrefix(); len(prefix) >= 3 {
		m.prefix = []byte(prefix)
	}
	if p, err := syntax.Parse(expr, syntax.Perl); err == nil {
		p = p.Simplify()
		if p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 {
			m.lit = []byte(string(p.Rune))
		}
	}
	return m, nil
}

// Regexp is the compiled expression (for highlighting).
func (m *Matcher) Regexp() *regexp.Regexp { return m.re }

// Match tells whether line contains a match.
func (m *Matcher) Match(line []byte) bool {
	if m.lit != nil {
		return bytes.Contains(line, m.lit)
	}
	if m.prefix != nil && !bytes.Contains(line, m.prefix) {
		return false
	}
	return m.re.Match(line)
}

// Config is the filtering of a run; it is shared read-only by every stream.
type Config struct {
	Grep    []*Matcher    // keep lines matching any (none: keep all)
	Exclude []*Matcher    // then drop lines matching any
	Level   logtime.Level // keep records of this severity or worse; Unknown: off
	Times   bool          // read each kept line's time (--log-time, --merge-window)
	Zone    *time.Location
}

// Active tells whether the stage has anything to do; when not, the sink skips it.
func (c *Config) Active() bool {
	return len(c.Grep) > 0 || len(c.Exclude) > 0 || c.Level != logtime.Unknown || c.Times
}

// Drops tells whether some lines may be left out (grep, exclude, level), as opposed to only
// having their times read: then what was kept says nothing about how far into the file
// the stream got.
func (c *Config) Drops() bool {
	return len(c.Grep) > 0 || len(c.Exclude) > 0 || c.Level != logtime.Unknown
}

// Stream is the stage of one stream (one file on one CVM). Not safe for concurrent use:
// the engine calls a stream's sink from one goroutine.
type Stream struct {
	cfg   *Config
	buf   []byte
	times []time.Time
	// keepRecord: whether the current record (the last line with a timestamp and what
	// follows it) passes --level. Lines before the first record are dropped under --level:
	// they belong to a record that started before the backlog.
	keepRecord bool
}

// NewStream starts the stage of one stream.
func (c *Config) NewStream() *Stream { return &Stream{cfg: c} }

// Apply filters data (one or more '\n'-terminated lines) received at received. It returns
// the kept lines, data itself when every line is kept, and with Times each kept line's own
// time (zero for a line without one). The results are valid until the next call.
//
// --level: a line with a severity starts a record that is kept when it is at or above the
// level; a timestamped line without severity (syslog, RFC 3339) starts a record that is
// always kept, since its importance is unknown; a line without a timestamp (continuation,
// traceback) goes with its record.
func (s *Stream) Apply(data []byte, received time.Time) ([]byte, []time.Time) {
	c := s.cfg
	if cap(s.buf) > 4<<20 { // give back memory after a giant line
		s.buf = nil
	}
	s.buf = s.buf[:0]
	s.times = s.times[:0]
	needParse := c.Times || c.Level != logtime.Unknown
	all := true
	for rest := data; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest) - 1 // the engine always ends data with '\n'; be safe anyway
		}
		line := rest[:i+1]
		rest = rest[i+1:]
		body := line[:len(line)-1]

		var stamp logtime.Stamp
		var stamped bool
		if needParse {
			stamp, stamped = logtime.Parse(body, received, c.Zone)
		}
		keep := true
		if c.Level != logtime.Unknown {
			if stamped {
				s.keepRecord = stamp.Level == logtime.Unknown || stamp.Level >= c.Level
			}
			keep = s.keepRecord
		}
		if keep && len(c.Grep) > 0 {
			keep = false
			for _, m := range c.Grep {
				if m.Match(body) {
					keep = true
					break
				}
			}
		}
		if keep {
			for _, m := range c.Exclude {
				if m.Match(body) {
					keep = false
					break
				}
			}
		}
		if !keep {
			if all {
				// First dropped line: from now on build the kept lines in buf.
				all = false
				s.buf = append(s.buf, data[:len(data)-len(rest)-len(line)]...)
			}
			continue
		}
		if !all {
			s.buf = append(s.buf, line...)
		}
		if c.Times {
			var t time.Time
			if stamped {
				t = stamp.Time
			}
			s.times = append(s.times, t)
		}
	}
	var times []time.Time
	if c.Times {
		times = s.times
	}
	if all {
		return data, times
	}
	return s.buf, times
}
