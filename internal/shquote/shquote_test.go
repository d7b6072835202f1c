package shquote

import (
	"os/exec"
	"testing"
)

func TestQuoteIsOneLiteralWord(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", `$(touch x) ; & | > "q" \ *`, "new\nline", "'''"} {
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != s {
			t.Errorf("sh read %q back as %q", s, out)
		}
	}
}
