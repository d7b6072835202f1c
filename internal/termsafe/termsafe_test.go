package termsafe

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppendEscapesWhatDrivesATerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text\twith tab", "plain text\twith tab"},
		{"osc 52 \x1b]52;c;aGk=\x07 end", `osc 52 \x1b]52;c;aGk=\x07 end`},
		{"csi \x1b[2J and cr\r", `csi \x1b[2J and cr\x0d`},
		{"c1 csi \u009b31m", `c1 csi \xc2\x9b31m`},
		{"lone byte \x9b", `lone byte \x9b`},
		{"del \x7f", `del \x7f`},
		{"utf-8 ä ✓ and U+FFFD \ufffd stay", "utf-8 ä ✓ and U+FFFD \ufffd stay"},
		{"nl\n", `nl\x0a`},
	}
	for _, tt := range tests {
		if got := string(Append(nil, []byte(tt.in), false)); got != tt.want {
			t.Errorf("Append(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriterKeepsNewlines(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	in := []byte("cvmtail: cvm: \x1b]52;c;x\x07: no such file\n")
	n, err := w.Write(in)
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if b.String() != "cvmtail: cvm: \\x1b]52;c;x\\x07: no such file\n" {
		t.Errorf("wrote %q", b.String())
	}
}

func TestFieldEscapesTabsToo(t *testing.T) {
	if got := Field("a\tb\x1b"); got != `a\x09b\x1b` {
		t.Errorf("Field = %q", got)
	}
	if got := Field("plain"); got != "plain" {
		t.Errorf("Field = %q", got)
	}
}

func TestName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"NTNX-21AB0001-A-CVM", "NTNX-21AB0001-A-CVM"},
		{"esx01.corp-CVM", "esx01.corp-CVM"},
		{"a/b", "a_b"},
		{`a\b`, "a_b"},
		{"..", "_."},
		{"../x", "_._x"},
		{"a..b...c", "a._b._.c"},
		{".hidden", "_hidden"},
		{".", "_"},
		{"a b\tc\nd", "a_b_c_d"},
		{"x\x1b[31m\x7f\u0085\u009f\u202e", "x_[31m____"},
		{"bad\xffutf8", "bad_utf8"},
		{"", ""},
		{"Ünïcode-CVM", "Ünïcode-CVM"},
	}
	for _, tt := range tests {
		if got := Name(tt.in, 128); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := Name(strings.Repeat("é", 100), 128)
	if len(long) > 128 || !strings.HasPrefix(long, "éé") || strings.ContainsRune(long, '\uFFFD') {
		t.Errorf("a long name is cut to %d bytes on a rune boundary: got %d bytes %q", 128, len(long), long)
	}
}
