package termsafe

import (
	"bytes"
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
