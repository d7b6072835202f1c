// Package units reads the durations and line counts that users type, on the command line
// or in the config file, with one parser each: so that --since 1d, --connect-timeout 10s
// and a context's connect-timeout accept the same words and fail with the same message.
//
// Duration and Lines also satisfy pflag's Value interface (Set, String, Type) without
// importing it, so that the commands can register them as flags.
package units

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrDuration is what is wrong with a duration that does not parse, in the tool's words.
var ErrDuration = errors.New("use a duration such as 30s, 15m, 2h or 1d")

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// ParseDuration reads a duration as Go writes them (300ms, 1.5h, 2h45m), with two more
// units: d (24h) and w (7d), as in 1d, 2w or 1d12h. A sign is allowed, as Go allows it;
// whether a negative duration makes sense is for the caller to say.
func ParseDuration(s string) (time.Duration, error) {
	rest := s
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	if rest == "0" {
		return 0, nil
	}
	if rest == "" {
		return 0, ErrDuration
	}
	var total time.Duration
	for rest != "" {
		// A number: digits with at most one '.'.
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		num := rest[:i]
		j := i
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		unit := rest[i:j]
		rest = rest[j:]
		if num == "" || num == "." || unit == "" {
			return 0, ErrDuration
		}
		var part time.Duration
		switch unit {
		case "d", "w":
			hours, err := time.ParseDuration(num + "h")
			if err != nil {
				return 0, ErrDuration
			}
			mult := time.Duration(24)
			if unit == "w" {
				mult = 24 * 7
			}
			if hours > maxDuration/mult {
				return 0, ErrDuration
			}
			part = hours * mult
		default:
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, ErrDuration
			}
			part = d
		}
		if total > maxDuration-part {
			return 0, ErrDuration
		}
		total += part
	}
	if neg {
		total = -total
	}
	return total, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// FormatDuration writes d as ParseDuration reads it, without Go's trailing zero units:
// 1m rather than 1m0s, 2d rather than 48h0m0s.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d < 0 && d != -maxDuration-1 {
		return "-" + FormatDuration(-d)
	}
	switch {
	case d%week == 0:
		return strconv.FormatInt(int64(d/week), 10) + "w"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	// Go writes 1h0m0s and 1m0s; drop the zero units at the end.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Duration is a time.Duration flag read with ParseDuration.
type Duration struct{ D *time.Duration }

// Set implements pflag.Value.
func (d Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d.D = v
	return nil
}

// String implements pflag.Value: "0" for zero, so that help leaves the default out as it
// does for other zero values.
func (d Duration) String() string {
	if d.D == nil {
		return "0"
	}
	return FormatDuration(*d.D)
}

// Type implements pflag.Value.
func (d Duration) Type() string { return "duration" }

// AllLines is the line count of a whole file: -n all, or tail's -n +1.
const AllLines = -1

// ErrLines is what is wrong with a line count that does not parse.
var ErrLines = errors.New("use a number of lines (0 for only new ones), or all for the whole file")

// ParseLines reads a line count: a whole number, or all (also tail's +1, and +0) for the
// whole file, which is AllLines. tail's +N for a later N (from line N on) is not offered.
func ParseLines(s string) (int, error) {
	switch {
	case strings.EqualFold(s, "all"), s == "+1", s == "+0":
		return AllLines, nil
	case strings.HasPrefix(s, "+"):
		if _, err := strconv.ParseUint(s[1:], 10, 31); err == nil {
			return 0, errors.New("starting from line N is not offered: use all (or +1) for the whole file, or a number of last lines")
		}
		return 0, ErrLines
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, ErrLines
	}
	return int(n), nil
}

// Lines is a line count flag read with ParseLines.
type Lines struct{ N *int }

// Set implements pflag.Value.
func (l Lines) Set(s string) error {
	v, err := ParseLines(s)
	if err != nil {
		return err
	}
	*l.N = v
	return nil
}

// String implements pflag.Value.
func (l Lines) String() string {
	if l.N == nil {
		return "0"
	}
	if *l.N == AllLines {
		return "all"
	}
	return strconv.Itoa(*l.N)
}

// Type implements pflag.Value.
func (l Lines) Type() string { return "N" }
