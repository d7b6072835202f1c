// Package logtime reads the timestamp and severity at the start of a CVM log line.
//
// Formats recognised (the agent, internal/tailer/agent/agent.py, mirrors these rules so that
// --since finds the same line the client would):
//
//	glog        I1122 10:00:00.123456 12345 file.cc:123] msg     (no year: inferred)
//	glog (new)  I20261122 10:00:00.123456 12345 file.cc:123] msg
//	Python      2026-11-22 10:00:00,123Z INFO file.py:12 msg      (",123" or ".123"; Z optional)
//	Cassandra   INFO  [main] 2026-11-22 10:00:00,123 file.java:12 - msg
//	RFC 3339    2026-11-22T10:00:00.123456+00:00 host prog[1]: msg (no offset: the CVM's zone)
//	syslog      Nov 22 10:00:00 host prog[123]: msg                (no year: inferred)
//
// Service logs (glog, Python, Cassandra) are written in UTC; OS logs (syslog, RFC 3339
// without an offset) in the CVM's local time, which the caller passes as a *time.Location.
// A line matching none of these (a continuation, a traceback) has no time.
package logtime

import (
	"time"
)

// Level is a record's severity; Unknown when the format carries none (syslog).
type Level int8

const (
	Unknown Level = iota
	Debug
	Info
	Warning
	Error
	Fatal
)

func (l Level) String() string {
	return [...]string{"", "DEBUG", "INFO", "WARNING", "ERROR", "FATAL"}[l]
}

// ParseLevel reads a --level value: W, E, F or the words WARNING (WARN), ERROR, FATAL
// (CRITICAL), any case; also I and INFO.
func ParseLevel(s string) (Level, bool) {
	switch upperASCII(s) {
	case "I", "INFO":
		return Info, true
	case "W", "WARN", "WARNING":
		return Warning, true
	case "E", "ERROR":
		return Error, true
	case "F", "FATAL", "C", "CRITICAL":
		return Fatal, true
	}
	return Unknown, false
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Format names the kind of line a time came from.
type Format int8

const (
	NoTime Format = iota
	Glog
	Python
	RFC3339
	Syslog
)

// Stamp is what the start of a line says.
type Stamp struct {
	Time   time.Time
	Level  Level
	Format Format
}

// Parse reads the timestamp (and severity) at the start of line. ref is a time near when the
// line was written (its receiving time), used to infer a missing year: the latest year that
// does not put the line more than a day after ref, which handles lines written just before
// New Year and read just after. loc is the zone of OS logs (nil: UTC). ok is false for a line
// without a timestamp. Parse does not allocate.
func Parse(line []byte, ref time.Time, loc *time.Location) (st Stamp, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	if len(line) < 15 {
		return Stamp{}, false
	}
	c := line[0]
	switch {
	case c >= '0' && c <= '9':
		return parseISO(line, loc)
	case c == 'I' || c == 'W' || c == 'E' || c == 'F':
		if st, ok := parseGlog(line, ref); ok {
			return st, true
		}
	}
	if st, ok := parseSyslog(line, ref, loc); ok {
		return st, true
	}
	return parseCassandra(line)
}

func digits(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// clock reads "hh:mm:ss" at i and an optional fraction introduced by one of seps; it returns
// the position after them.
func clock(b []byte, i int, seps string) (h, m, s, nsec, end int, ok bool) {
	if h, ok = digits(b, i, 2); !ok || i+8 > len(b) || b[i+2] != ':' || b[i+5] != ':' {
		return 0, 0, 0, 0, 0, false
	}
	if m, ok = digits(b, i+3, 2); !ok {
		return
	}
	if s, ok = digits(b, i+6, 2); !ok {
		return
	}
	if h > 23 || m > 59 || s > 60 {
		return 0, 0, 0, 0, 0, false
	}
	end = i + 8
	if end < len(b) && (b[end] == seps[0] || len(seps) > 1 && b[end] == seps[1]) && end+1 < len(b) && b[end+1] >= '0' && b[end+1] <= '9' {
		end++
		scale := 100000000
		for end < len(b) && b[end] >= '0' && b[end] <= '9' {
			nsec += int(b[end]-'0') * scale
			scale /= 10
			end++
		}
	}
	return h, m, s, nsec, end, true
}

func validDate(mo, d int) bool { return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 }

// inferYear places month/day/clock in the latest year that is not more than a day after ref.
func inferYear(ref time.Time, mo, d, h, m, s, nsec int, loc *time.Location) time.Time {
	limit := ref.Add(24 * time.Hour)
	y := ref.In(loc).Year() + 1
	for k := 0; k < 2; k++ {
		t := time.Date(y-k, time.Month(mo), d, h, m, s, nsec, loc)
		if !t.After(limit) {
			return t
		}
	}
	return time.Date(y-2, time.Month(mo), d, h, m, s, nsec, loc)
}

// parseGlog: "Lmmdd hh:mm:ss.uuuuuu " or "Lyyyymmdd hh:mm:ss.uuuuuu ".
func parseGlog(b []byte, ref time.Time) (Stamp, bool) {
	var level Level
	switch b[0] {
	case 'I':
		level = Info
	case 'W':
		level = Warning
	case 'E':
		level = Error
	case 'F':
		level = Fatal
	}
	var y, mo, d, i int
	var ok bool
	switch {
	case len(b) > 9 && b[9] == ' ':
		if y, ok = digits(b, 1, 4); !ok {
			return Stamp{}, false
		}
		if mo, ok = digits(b, 5, 2); !ok {
			return Stamp{}, false
		}
		if d, ok = digits(b, 7, 2); !ok {
			return Stamp{}, false
		}
		i = 10
	case b[5] == ' ':
		if mo, ok = digits(b, 1, 2); !ok {
			return Stamp{}, false
		}
		if d, ok = digits(b, 3, 2); !ok {
			return Stamp{}, false
		}
		i = 6
	default:
		return Stamp{}, false
	}
	if !validDate(mo, d) {
		return Stamp{}, false
	}
	h, m, s, nsec, end, ok := clock(b, i, ".")
	if !ok || end < len(b) && b[end] != ' ' {
		return Stamp{}, false
	}
	var t time.Time
	if y != 0 {
		t = time.Date(y, time.Month(mo), d, h, m, s, nsec, time.UTC)
	} else {
		t = inferYear(ref, mo, d, h, m, s, nsec, time.UTC)
	}
	return Stamp{Time: t, Level: level, Format: Glog}, true
}

// parseISO: Python logging ("2026-11-22 10:00:00,123Z LEVEL ...", UTC) and RFC 3339
// ("2026-11-22T10:00:00.123+01:00 ...", loc when the offset is missing).
func parseISO(b []byte, loc *time.Location) (Stamp, bool) {
	t, end, format, ok := isoTime(b, 0, loc)
	if !ok {
		return Stamp{}, false
	}
	st := Stamp{Time: t, Format: format}
	if format == Python {
		st.Level = levelWord(b, end)
	}
	return st, true
}

func isoTime(b []byte, i int, loc *time.Location) (time.Time, int, Format, bool) {
	y, ok1 := digits(b, i, 4)
	mo, ok2 := digits(b, i+5, 2)
	d, ok3 := digits(b, i+8, 2)
	if !ok1 || !ok2 || !ok3 || b[i+4] != '-' || b[i+7] != '-' || i+10 >= len(b) || !validDate(mo, d) {
		return time.Time{}, 0, NoTime, false
	}
	sep := b[i+10]
	if sep != ' ' && sep != 'T' {
		return time.Time{}, 0, NoTime, false
	}
	seps := ",."
	if sep == 'T' {
		seps = "."
	}
	h, m, s, nsec, end, ok := clock(b, i+11, seps)
	if !ok {
		return time.Time{}, 0, NoTime, false
	}
	format := Python
	zone := time.UTC
	if sep == 'T' {
		format = RFC3339
		zone = loc
	}
	if end < len(b) {
		switch c := b[end]; {
		case c == 'Z':
			zone = time.UTC
			end++
		case (c == '+' || c == '-') && end+6 <= len(b) && b[end+3] == ':':
			oh, ok1 := digits(b, end+1, 2)
			om, ok2 := digits(b, end+4, 2)
			if ok1 && ok2 {
				off := (oh*60 + om) * 60
				if c == '-' {
					off = -off
				}
				t := time.Date(y, time.Month(mo), d, h, m, s, nsec, time.UTC).Add(-time.Duration(off) * time.Second)
				return t, end + 6, format, true
			}
		}
	}
	return time.Date(y, time.Month(mo), d, h, m, s, nsec, zone), end, format, true
}

// levelWord reads the severity word after a Python timestamp (skipping one token, such as a
// thread name or PID, when the first is not a level).
func levelWord(b []byte, i int) Level {
	for k := 0; k < 2; k++ {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		j := i
		for j < len(b) && b[j] != ' ' && b[j] != '\n' {
			j++
		}
		if l := wordLevel(b[i:j]); l != Unknown {
			return l
		}
		i = j
	}
	return Unknown
}

func wordLevel(w []byte) Level {
	switch string(w) { // no allocation: the compiler compares in place
	case "DEBUG", "TRACE":
		return Debug
	case "INFO":
		return Info
	case "WARNING", "WARN":
		return Warning
	case "ERROR":
		return Error
	case "CRITICAL", "FATAL":
		return Fatal
	}
	return Unknown
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseSyslog: "Nov 22 10:00:00 host ..." (day space-padded) in loc.
func parseSyslog(b []byte, ref time.Time, loc *time.Location) (Stamp, bool) {
	mo := 0
	for k, name := range months {
		if string(b[:3]) == name {
			mo = k + 1
			break
		}
	}
	if mo == 0 || b[3] != ' ' {
		return Stamp{}, false
	}
	var d int
	var ok bool
	if b[4] == ' ' {
		d, ok = digits(b, 5, 1)
	} else {
		d, ok = digits(b, 4, 2)
	}
	if !ok || b[6] != ' ' || !validDate(mo, d) {
		return Stamp{}, false
	}
	h, m, s, nsec, end, ok := clock(b, 7, ".")
	if !ok || end < len(b) && b[end] != ' ' {
		return Stamp{}, false
	}
	return Stamp{Time: inferYear(ref, mo, d, h, m, s, nsec, loc), Format: Syslog}, true
}

// parseCassandra: "LEVEL  [thread] 2026-11-22 10:00:00,123 ..." (cassandra/system.log).
func parseCassandra(b []byte) (Stamp, bool) {
	j := 0
	for j < len(b) && b[j] >= 'A' && b[j] <= 'Z' {
		j++
	}
	level := wordLevel(b[:j])
	if level == Unknown {
		return Stamp{}, false
	}
	for j < len(b) && b[j] == ' ' {
		j++
	}
	if j >= len(b) || b[j] != '[' {
		return Stamp{}, false
	}
	for j < len(b) && b[j] != ']' {
		j++
	}
	j += 2
	if j+19 > len(b) {
		return Stamp{}, false
	}
	t, _, format, ok := isoTime(b, j, time.UTC)
	if !ok || format != Python {
		return Stamp{}, false
	}
	return Stamp{Time: t, Level: level, Format: Python}, true
}
