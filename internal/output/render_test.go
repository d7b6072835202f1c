package output

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("X", 3600))

func TestRenderFormats(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		in   string
		want string
	}{
		{"text", Options{Format: Text}, "hello world\n", "cvm1 genesis hello world\n"},
		{"text keeps an empty line", Options{Format: Text}, "\n", "cvm1 genesis \n"},
		{"text several lines", Options{Format: Text}, "a\nb\n", "cvm1 genesis a\ncvm1 genesis b\n"},
		{"text timestamps", Options{Format: Text, Timestamps: true}, "a\n", "2026-11-22T09:00:00.123Z cvm1 genesis a\n"},
		{"raw", Options{Format: Raw}, "a\tb\n", "a\tb\n"},
		{"raw timestamps", Options{Format: Raw, Timestamps: true}, "a\n", "2026-11-22T09:00:00.123Z a\n"},
		{"pipe passes bytes unchanged", Options{Format: Raw}, "\x1b[31mred\r\x07\xff\n", "\x1b[31mred\r\x07\xff\n"},
		{"terminal escapes controls", Options{Format: Raw, Escape: true}, "\x1b[31mred\r\x07 tab\tok\n", `\x1b[31mred\x0d\x07 tab` + "\tok\n"},
		{"terminal escapes invalid utf-8 and C1", Options{Format: Raw, Escape: true}, "caf\xc3\xa9 \xff \xc2\x9b1m\n", `café \xff \xc2\x9b1m` + "\n"},
		{"terminal escapes DEL", Options{Format: Text, Escape: true}, "a\x7fb\n", `cvm1 genesis a\x7fb` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRenderer(tc.opts, "cvm1", "10.1.1.11", "genesis", "/home/nutanix/data/logs/genesis.out")
			got := string(r.Append(nil, []byte(tc.in), t0))
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRenderJSON(t *testing.T) {
	r := NewRenderer(Options{Format: JSON, Escape: true}, "cvm \"1\"", "10.1.1.11", "genesis", "/p/genesis.out")
	out := r.Append(nil, []byte("plain\nbad \xff\xfe utf8 \x1b[0m \"q\" \\\n"), t0)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out)
	}
	var got []map[string]string
	for _, l := range lines {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", l, err)
		}
		got = append(got, m)
	}
	want := map[string]string{"time": "2026-11-22T09:00:00.123Z", "cvm": "cvm \"1\"", "address": "10.1.1.11", "log": "genesis", "path": "/p/genesis.out", "line": "plain"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %q, want %q", k, got[0][k], v)
		}
	}
	if l := got[1]["line"]; l != "bad \ufffd\ufffd utf8 \x1b[0m \"q\" \\" {
		t.Errorf("line = %q", l)
	}
	if !strings.HasPrefix(lines[0], `{"time":`) {
		t.Errorf("time should come first: %s", lines[0])
	}
}

func TestColourIsStablePerCVMAndOnlyWhenAsked(t *testing.T) {
	a := NewRenderer(Options{Format: Text, Color: true}, "NTNX-A-CVM", "", "genesis", "")
	b := NewRenderer(Options{Format: Text, Color: true}, "NTNX-A-CVM", "", "stargate", "")
	outA := string(a.Append(nil, []byte("x\n"), t0))
	outB := string(b.Append(nil, []byte("x\n"), t0))
	if !strings.Contains(outA, "\x1b[") {
		t.Fatalf("no colour in %q", outA)
	}
	prefixA, prefixB := outA[:strings.Index(outA, "NTNX")], outB[:strings.Index(outB, "NTNX")]
	if prefixA != prefixB {
		t.Errorf("same CVM, different colours: %q vs %q", prefixA, prefixB)
	}
	plain := NewRenderer(Options{Format: Text}, "NTNX-A-CVM", "", "genesis", "")
	if out := string(plain.Append(nil, []byte("x\n"), t0)); strings.Contains(out, "\x1b") {
		t.Errorf("colour without Color: %q", out)
	}
}

func TestNamesStayOneField(t *testing.T) {
	r := NewRenderer(Options{Format: Text}, "my cvm", "", "a log\tname", "")
	if got := string(r.Append(nil, []byte("x\n"), t0)); got != "my_cvm a_log_name x\n" {
		t.Errorf("got %q", got)
	}
}

func TestNamesFromOutsideCannotDriveTheTerminal(t *testing.T) {
	// C1 controls (U+0080–U+009F) act like C0 on some terminals; names get them as '_' too.
	r := NewRenderer(Options{Format: Text}, "NTNX-\u009b31m-CVM", "10.1.1.11", "gen\u0085esis", "/x")
	if got := string(r.Append(nil, []byte("a\n"), t0)); got != "NTNX-_31m-CVM gen_esis a\n" {
		t.Errorf("text prefix %q", got)
	}
	tmpl, err := NewTemplate("{{.cvm}} {{.log}} {{.path}} {{.address}} {{.line}}", false)
	if err != nil {
		t.Fatal(err)
	}
	r = NewRenderer(Options{Format: Text, Template: tmpl, Escape: true}, "cvm\x1b]52;c;aGk=\x07", "10.1.1.11", "lo\u009bg", "/p\x1b[2J")
	got := string(r.Append(nil, []byte("l\x1bine\n"), t0))
	if want := `cvm\x1b]52;c;aGk=\x07 lo\xc2\x9bg /p\x1b[2J 10.1.1.11 l\x1bine` + "\n"; got != want {
		t.Errorf("template on a terminal %q, want %q", got, want)
	}
}

func TestColumnWidthsCountRunesOfTheNamesAsShown(t *testing.T) {
	cvm, log := ColumnWidths(
		[]string{"NTNX-A-CVM", "NTNX-Ä-CVM-long", "a\xffb"},
		[]string{"genesis", "stargate.INFO", "my\tlog.out"})
	if cvm != 15 || log != 13 {
		t.Errorf("widths %d, %d; want 15 (runes, not bytes), 13", cvm, log)
	}
	if cvm, _ := ColumnWidths([]string{"x\x1b[31my"}, nil); cvm != len("x_[31my") {
		t.Errorf("width %d of a name shown as x_[31my", cvm)
	}
}

func TestAlignedPrefix(t *testing.T) {
	cvmW, logW := ColumnWidths([]string{"cvm1", "NTNX-Ä-CVM"}, []string{"genesis", "stargate.INFO"})
	aligned := Options{Format: Text, CVMWidth: cvmW, LogWidth: logW}
	tests := []struct {
		name     string
		opts     Options
		cvm, log string
		in, want string
	}{
		{"padded", aligned, "cvm1", "genesis", "x\n", "cvm1       genesis       x\n"},
		{"widest needs none", aligned, "NTNX-Ä-CVM", "stargate.INFO", "x\n", "NTNX-Ä-CVM stargate.INFO x\n"},
		{"into a pipe: one space", Options{Format: Text}, "cvm1", "genesis", "x\n", "cvm1 genesis x\n"},
		{"colour stays on the name", Options{Format: Text, Color: true, CVMColors: map[string]string{"cvm1": "32;1"}, CVMWidth: cvmW, LogWidth: logW},
			"cvm1", "genesis", "x\n", "\x1b[32;1mcvm1\x1b[0m       \x1b[2mgenesis\x1b[22m       x\n"},
		{"timestamps first", Options{Format: Text, Timestamps: true, CVMWidth: cvmW, LogWidth: logW}, "cvm1", "genesis", "x\n",
			"2026-11-22T09:00:00.123Z cvm1       genesis       x\n"},
		{"json ignores widths", Options{Format: JSON, CVMWidth: 30, LogWidth: 30}, "cvm1", "genesis", "x\n",
			`{"time":"2026-11-22T09:00:00.123Z","cvm":"cvm1","address":"","log":"genesis","path":"","file":"","line":"x"}` + "\n"},
		{"raw ignores widths", Options{Format: Raw, CVMWidth: 30, LogWidth: 30}, "cvm1", "genesis", "x\n", "x\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRenderer(tc.opts, tc.cvm, "", tc.log, "")
			if got := string(r.Append(nil, []byte(tc.in), t0)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestAlignedLogTimeKeepsTheColumnForALineWithoutTime(t *testing.T) {
	r := NewRenderer(Options{Format: Text, LogTime: true, CVMWidth: 4, LogWidth: 7}, "cvm1", "", "genesis", "")
	lt := time.Date(2026, 11, 22, 9, 59, 58, 250e6, time.UTC)
	got := string(r.AppendLines(nil, []byte("record\ntraceback\n"), t0, []time.Time{lt, {}}))
	lines := strings.Split(got, "\n")
	if i, j := strings.Index(lines[0], "cvm1"), strings.Index(lines[1], "cvm1"); i != j || i < 0 {
		t.Errorf("the prefix moves: %q", got)
	}
	r = NewRenderer(Options{Format: Text, LogTime: true}, "cvm1", "", "genesis", "")
	if got := string(r.AppendLines(nil, []byte("traceback\n"), t0, []time.Time{{}})); got != "- cvm1 genesis traceback\n" {
		t.Errorf("into a pipe %q", got)
	}
}
