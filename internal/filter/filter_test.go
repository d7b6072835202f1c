package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/logtime"
)

func matchers(t testing.TB, exprs ...string) []*Matcher {
	var ms []*Matcher
	for _, e := range exprs {
		m, err := Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

var received = time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC)

const glogRecords = `I1122 10:00:00.000001 100 a.cc:1] starting
W1122 10:00:01.000000 100 a.cc:2] disk slow
E1122 10:00:02.000000 100 a.cc:3] op failed: timeout
  continuation of the error
F1122 10:00:03.000000 100 a.cc:4] Check failed: x
*** Check failure stack trace: ***
    @ 0x1 main
I1122 10:00:04.000000 100 a.cc:5] back to normal
  continuation of info
`

func TestApply(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		in   string
		want string
	}{
		{"grep any", Config{Grep: matchers(t, "disk", `op \w+`)}, glogRecords,
			"W1122 10:00:01.000000 100 a.cc:2] disk slow\nE1122 10:00:02.000000 100 a.cc:3] op failed: timeout\n"},
		{"exclude any", Config{Exclude: matchers(t, "continuation", `^\s+@`, "^I")}, glogRecords,
			"W1122 10:00:01.000000 100 a.cc:2] disk slow\nE1122 10:00:02.000000 100 a.cc:3] op failed: timeout\n" +
				"F1122 10:00:03.000000 100 a.cc:4] Check failed: x\n*** Check failure stack trace: ***\n"},
		{"grep then exclude", Config{Grep: matchers(t, "a.cc"), Exclude: matchers(t, "a.cc:[13]")}, glogRecords,
			"W1122 10:00:01.000000 100 a.cc:2] disk slow\nF1122 10:00:03.000000 100 a.cc:4] Check failed: x\n" +
				"I1122 10:00:04.000000 100 a.cc:5] back to normal\n"},
		{"level error keeps continuations with their record", Config{Level: logtime.Error}, glogRecords,
			"E1122 10:00:02.000000 100 a.cc:3] op failed: timeout\n  continuation of the error\n" +
				"F1122 10:00:03.000000 100 a.cc:4] Check failed: x\n*** Check failure stack trace: ***\n    @ 0x1 main\n"},
		{"level warning", Config{Level: logtime.Warning}, "  orphan continuation\n" + glogRecords[:strings.Index(glogRecords, "E1122")],
			"W1122 10:00:01.000000 100 a.cc:2] disk slow\n"},
		{"level on python records", Config{Level: logtime.Warning},
			"2026-11-22 10:00:00,123Z INFO a.py:1 fine\nTraceback (most recent call last):\n" +
				"2026-11-22 10:00:01,123Z ERROR a.py:2 broken\nTraceback (most recent call last):\n  File \"x\", line 1\n" +
				"2026-11-22 10:00:02,000Z WARNING a.py:3 hmm\n",
			"2026-11-22 10:00:01,123Z ERROR a.py:2 broken\nTraceback (most recent call last):\n  File \"x\", line 1\n" +
				"2026-11-22 10:00:02,000Z WARNING a.py:3 hmm\n"},
		{"level keeps syslog records (no severity)", Config{Level: logtime.Fatal},
			"Nov 22 10:00:00 cvm sshd[1]: Accepted\n  more\nI1122 10:00:04.000000 1 a.cc:5] x\n",
			"Nov 22 10:00:00 cvm sshd[1]: Accepted\n  more\n"},
		{"nothing kept", Config{Grep: matchers(t, "nomatch")}, glogRecords, ""},
		{"everything kept returns the input", Config{Exclude: matchers(t, "nomatch")}, glogRecords, glogRecords},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.cfg.NewStream()
			got, _ := s.Apply([]byte(tc.in), received)
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestLevelStateCarriesAcrossBatches(t *testing.T) {
	s := (&Config{Level: logtime.Error}).NewStream()
	got1, _ := s.Apply([]byte("E1122 10:00:02.000000 1 a.cc:3] bad\n"), received)
	got2, _ := s.Apply([]byte("  continuation\n"), received)
	got3, _ := s.Apply([]byte("I1122 10:00:03.000000 1 a.cc:3] ok\n  its continuation\n"), received)
	if string(got1) != "E1122 10:00:02.000000 1 a.cc:3] bad\n" || string(got2) != "  continuation\n" || len(got3) != 0 {
		t.Errorf("%q %q %q", got1, got2, got3)
	}
}

func TestTimes(t *testing.T) {
	s := (&Config{Times: true, Exclude: matchers(t, "drop")}).NewStream()
	got, times := s.Apply([]byte("I1122 10:00:00.5 1 a.cc:1] a\ndrop me\n  cont\n2026-11-22 10:00:01,000Z INFO b\n"), received)
	if string(got) != "I1122 10:00:00.5 1 a.cc:1] a\n  cont\n2026-11-22 10:00:01,000Z INFO b\n" {
		t.Fatalf("kept %q", got)
	}
	want := []time.Time{time.Date(2026, 11, 22, 10, 0, 0, 5e8, time.UTC), {}, time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC)}
	if len(times) != len(want) {
		t.Fatalf("times %v", times)
	}
	for i := range want {
		if !times[i].Equal(want[i]) {
			t.Errorf("line %d: %v, want %v", i, times[i], want[i])
		}
	}
}

func TestLiteralFastPath(t *testing.T) {
	for expr, lit := range map[string]bool{"ERROR": true, `a\.cc`: true, "(?i)error": false, "err|warn": false, `^E`: false} {
		m := matchers(t, expr)[0]
		if (m.lit != nil) != lit {
			t.Errorf("%q: literal %v, want %v", expr, m.lit != nil, lit)
		}
		if m.Match([]byte("x ERROR a.cc err")) != m.re.MatchString("x ERROR a.cc err") {
			t.Errorf("%q: fast path disagrees with the regexp", expr)
		}
	}
}

func TestApplyDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s := (&Config{Grep: matchers(t, "a.cc", `op \w+`), Exclude: matchers(t, "continuation"), Level: logtime.Warning, Times: true}).NewStream()
	data := []byte(glogRecords)
	s.Apply(data, received)
	if n := testing.AllocsPerRun(100, func() { s.Apply(data, received) }); n != 0 {
		t.Errorf("%v allocations per batch", n)
	}
}

func TestPrefixRejectAgreesWithRegexp(t *testing.T) {
	lines := []string{"xfoo bar", "foo bar", "a vdisk_id=4007 b", "vdisk_id=40 x", "", "foofoo"}
	for _, expr := range []string{"^foo", `foo\b`, `vdisk_id=40(07|11) `, "(?m)^foo", `\bfoo`, "foo|bar"} {
		m := matchers(t, expr)[0]
		for _, l := range lines {
			if m.Match([]byte(l)) != m.re.MatchString(l) {
				t.Errorf("%q on %q: %v, regexp says %v", expr, l, m.Match([]byte(l)), m.re.MatchString(l))
			}
		}
	}
}

// Drops decides whether a capture may trust its own size as a remote offset: reading
// times alone keeps every line.
func TestDrops(t *testing.T) {
	m := matchers(t, "x")[0]
	for _, tc := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"nothing", Config{}, false},
		{"times only", Config{Times: true}, false},
		{"grep", Config{Grep: []*Matcher{m}}, true},
		{"exclude", Config{Exclude: []*Matcher{m}}, true},
		{"level", Config{Level: logtime.Warning}, true},
	} {
		if got := tc.cfg.Drops(); got != tc.want {
			t.Errorf("%s: Drops() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
