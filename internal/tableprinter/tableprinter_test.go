package tableprinter

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestCutMiddle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijk", 10, "abcd…ghijk"},
		{"ünïcödé-name", 7, "ünï…ame"},
	} {
		if got := CutMiddle(tc.in, tc.n); got != tc.want || utf8.RuneCountInString(got) > tc.n {
			t.Errorf("CutMiddle(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestTerminalAndPipe(t *testing.T) {
	var tty, pipe bytes.Buffer
	for _, b := range []struct {
		w   *bytes.Buffer
		tty bool
	}{{&tty, true}, {&pipe, false}} {
		tb := New(b.w, b.tty, "NAME", "STATE")
		tb.EmptyAs = "-"
		tb.Row("NTNX-A-CVM", "normal")
		tb.Row("b\tc\x1b", "")
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if want := "NAME        STATE\nNTNX-A-CVM  normal\nb\\x09c\\x1b  -\n"; tty.String() != want {
		t.Errorf("terminal:\n%q\nwant\n%q", tty.String(), want)
	}
	if want := "NTNX-A-CVM\tnormal\nb\\x09c\\x1b\t-\n"; pipe.String() != want {
		t.Errorf("pipe %q, want %q", pipe.String(), want)
	}
}
