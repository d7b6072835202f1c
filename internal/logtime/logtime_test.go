package logtime

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ref := time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC)
	newYear := time.Date(2027, 1, 1, 0, 0, 30, 0, time.UTC)
	tokyo := time.FixedZone("JST", 9*3600)
	utc := func(y int, mo time.Month, d, h, m, s, ns int) time.Time {
		return time.Date(y, mo, d, h, m, s, ns, time.UTC)
	}
	tests := []struct {
		name   string
		line   string
		ref    time.Time
		loc    *time.Location
		want   time.Time
		level  Level
		format Format
	}{
		{"glog info", "I1122 10:00:00.123456 12345 stargate.cc:123] Starting Stargate", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 123456000), Info, Glog},
		{"glog warning", "W1122 09:59:59.000001  4321 vdisk_controller.cc:99] slow op", ref, nil,
			utc(2026, 11, 22, 9, 59, 59, 1000), Warning, Glog},
		{"glog error", "E1122 10:00:01.5 1 x.cc:1] e", ref, nil, utc(2026, 11, 22, 10, 0, 1, 500000000), Error, Glog},
		{"glog fatal", "F1122 10:00:02.000000 77 curator.cc:5] Check failed: x == y", ref, nil,
			utc(2026, 11, 22, 10, 0, 2, 0), Fatal, Glog},
		{"glog 8-digit date", "I20261122 10:00:00.123456 12345 file.cc:123] msg", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 123456000), Info, Glog},
		{"glog 8-digit date, other year", "E20251231 23:59:59.999999 1 file.cc:1] msg", ref, nil,
			utc(2025, 12, 31, 23, 59, 59, 999999000), Error, Glog},
		{"glog last year's line read after New Year", "I1231 23:59:58.000000 1 a.cc:1] m", newYear, nil,
			utc(2026, 12, 31, 23, 59, 58, 0), Info, Glog},
		{"glog new year's line, client clock a bit behind", "I0101 00:00:05.000000 1 a.cc:1] m",
			utc(2026, 12, 31, 23, 59, 50, 0), nil, utc(2027, 1, 1, 0, 0, 5, 0), Info, Glog},
		{"glog without fraction", "I1122 10:00:00 1 a.cc:1] m", ref, nil, utc(2026, 11, 22, 10, 0, 0, 0), Info, Glog},
		{"python comma millis Z", "2026-11-22 10:00:00,123Z INFO node_manager.py:1234 Node is up", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 123000000), Info, Python},
		{"python without Z", "2026-11-22 10:00:00,123 WARNING zookeeper_session.py:110 slow", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 123000000), Warning, Python},
		{"python dot millis", "2026-11-22 10:00:00.456Z ERROR genesis.py:1 failed", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 456000000), Error, Python},
		{"python critical after a thread name", "2026-11-22 10:00:00,000Z MainThread CRITICAL x.py:1 boom", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 0), Fatal, Python},
		{"python no millis, local zone ignored", "2026-11-22 10:00:00 INFO a.py:1 m", ref, tokyo,
			utc(2026, 11, 22, 10, 0, 0, 0), Info, Python},
		{"python without level", "2026-11-22 10:00:00,1Z something else", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 100000000), Unknown, Python},
		{"cassandra", "INFO  [main] 2026-11-22 10:00:00,123 CassandraDaemon.java:1 - Starting", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 123000000), Info, Python},
		{"cassandra warn", "WARN  [GossipTasks:1] 2026-11-22 10:00:00,123 Gossiper.java:1 - down", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 123000000), Warning, Python},
		{"rfc3339 with offset", "2026-11-22T10:00:00.123456+00:00 ntnx-cvm sshd[123]: Accepted", ref, tokyo,
			utc(2026, 11, 22, 10, 0, 0, 123456000), Unknown, RFC3339},
		{"rfc3339 with other offset", "2026-11-22T19:00:00+09:00 ntnx-cvm kernel: x", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 0), Unknown, RFC3339},
		{"rfc3339 Z", "2026-11-22T10:00:00.5Z host prog: x", ref, tokyo, utc(2026, 11, 22, 10, 0, 0, 500000000), Unknown, RFC3339},
		{"rfc3339 without offset is local", "2026-11-22T19:00:00 host prog: x", ref, tokyo,
			utc(2026, 11, 22, 10, 0, 0, 0), Unknown, RFC3339},
		{"syslog UTC", "Nov 22 10:00:00 ntnx-cvm sudo[4242]: nutanix : TTY=pts/0", ref, nil,
			utc(2026, 11, 22, 10, 0, 0, 0), Unknown, Syslog},
		{"syslog local time", "Nov 22 19:00:00 ntnx-cvm genesis[1]: x", ref, tokyo,
			utc(2026, 11, 22, 10, 0, 0, 0), Unknown, Syslog},
		{"syslog padded day", "Nov  2 10:00:00 ntnx-cvm kernel: x", ref, nil, utc(2026, 11, 2, 10, 0, 0, 0), Unknown, Syslog},
		{"syslog last year", "Dec 31 23:59:59 h p: x", newYear, nil, utc(2026, 12, 31, 23, 59, 59, 0), Unknown, Syslog},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := Parse([]byte(tc.line), tc.ref, tc.loc)
			if !ok {
				t.Fatalf("no time in %q", tc.line)
			}
			if !st.Time.Equal(tc.want) || st.Level != tc.level || st.Format != tc.format {
				t.Errorf("got %v %v %v, want %v %v %v", st.Time.UTC(), st.Level, st.Format, tc.want, tc.level, tc.format)
			}
		})
	}
}

func TestParseNoTime(t *testing.T) {
	ref := time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC)
	for _, line := range []string{
		"",
		"Traceback (most recent call last):",
		`  File "/home/nutanix/cluster/bin/genesis", line 12, in <module>`,
		"    raise RuntimeError('x')",
		"RuntimeError: x",
		"*** Check failure stack trace: ***",
		"    @     0x7f0c1b2c3d4e  google::LogMessage::Fail()",
		"Initializing stargate at 10.1.1.11",
		"I1322 10:00:00.000000 1 a.cc:1] month 13",
		"X1122 10:00:00.000000 1 a.cc:1] not a severity",
		"I1122 25:00:00.000000 1 a.cc:1] hour 25",
		"2026-11-22 10:00 INFO short clock",
		"2026-11-22_10:00:00 INFO odd separator",
		"Foo 22 10:00:00 host prog: not a month",
		"INFO  [main] no time here at all, really",
		"12345 a number first, not a date",
	} {
		if st, ok := Parse([]byte(line), ref, nil); ok {
			t.Errorf("%q: found %v", line, st)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"W": Warning, "w": Warning, "warning": Warning, "WARN": Warning,
		"E": Error, "error": Error, "F": Fatal, "Fatal": Fatal, "critical": Fatal, "i": Info} {
		if got, ok := ParseLevel(in); !ok || got != want {
			t.Errorf("%q: %v %v", in, got, ok)
		}
	}
	if _, ok := ParseLevel("loud"); ok {
		t.Error("loud accepted")
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	ref := time.Now()
	lines := [][]byte{
		[]byte("I1122 10:00:00.123456 12345 stargate.cc:123] Starting Stargate"),
		[]byte("2026-11-22 10:00:00,123Z INFO node_manager.py:1234 Node is up"),
		[]byte("Nov 22 10:00:00 ntnx-cvm sudo[4242]: x"),
		[]byte("Traceback (most recent call last):"),
	}
	n := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			Parse(l, ref, nil)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
