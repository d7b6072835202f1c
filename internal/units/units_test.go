package units

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"30s", 30 * time.Second},
		{"15m", 15 * time.Minute},
		{"2h", 2 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"2h45m", 2*time.Hour + 45*time.Minute},
		{"300ms", 300 * time.Millisecond},
		{"1d", 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1w2d3h", (9*24 + 3) * time.Hour},
		{"0.5d", 12 * time.Hour},
		{"-5s", -5 * time.Second},
		{"+1d", 24 * time.Hour},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDurationErrorsInTheToolsWords(t *testing.T) {
	for _, in := range []string{"", "-", "30", "1x", "d", "1 d", "1..5h", "abc", "1d2", "100000000w", "5000000h5000000h"} {
		_, err := ParseDuration(in)
		if !errors.Is(err, ErrDuration) {
			t.Errorf("ParseDuration(%q): err %v, want ErrDuration", in, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "time:") || !strings.Contains(msg, "1d") {
			t.Errorf("ParseDuration(%q): %q is not the tool's wording", in, msg)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", time.Minute: "1m", 10 * time.Second: "10s", time.Hour: "1h", 90 * time.Minute: "1h30m",
		36 * time.Hour: "36h", 24 * time.Hour: "1d", 14 * 24 * time.Hour: "2w", 1500 * time.Millisecond: "1.5s",
		-time.Minute: "-1m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}

func TestDurationFlagValue(t *testing.T) {
	var d time.Duration
	v := Duration{&d}
	if v.String() != "0" || v.Type() != "duration" {
		t.Errorf("zero value: String %q, Type %q", v.String(), v.Type())
	}
	if err := v.Set("1d"); err != nil || d != 24*time.Hour || v.String() != "1d" {
		t.Errorf("Set(1d): %v, %v, %q", err, d, v.String())
	}
	if err := v.Set("soon"); !errors.Is(err, ErrDuration) || d != 24*time.Hour {
		t.Errorf("Set(soon): %v, value now %v", err, d)
	}
}

func TestParseLines(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "10": 10, "100000": 100000, "all": AllLines, "ALL": AllLines, "+1": AllLines, "+0": AllLines} {
		if got, err := ParseLines(in); err != nil || got != want {
			t.Errorf("ParseLines(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "ten", "1.5", "+x", "99999999999"} {
		_, err := ParseLines(in)
		if !errors.Is(err, ErrLines) {
			t.Errorf("ParseLines(%q): %v, want ErrLines", in, err)
		}
	}
	if _, err := ParseLines("+5"); err == nil || !strings.Contains(err.Error(), "all") {
		t.Errorf("ParseLines(+5): %v, want an error pointing at all", err)
	}
	n := 10
	v := Lines{&n}
	if v.String() != "10" {
		t.Errorf("String %q", v.String())
	}
	if err := v.Set("all"); err != nil || n != AllLines || v.String() != "all" {
		t.Errorf("Set(all): %v, %d, %q", err, n, v.String())
	}
}
