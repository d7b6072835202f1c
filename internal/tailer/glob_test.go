package tailer

import (
	"strings"
	"testing"
)

// A CVM chooses its file names: a 4 KiB name of a's must not make a pattern with many
// stars backtrack exponentially (this test did not end with the recursive matcher).
func TestGlobMatchManyStarsLongName(t *testing.T) {
	name := strings.Repeat("a", 4000)
	if globMatch(strings.Repeat("*a", 12)+"*b", name) {
		t.Error("matched a name without b")
	}
	if !globMatch(strings.Repeat("*a", 12)+"*", name) {
		t.Error("did not match")
	}
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"stargate*", "stargate.INFO", true},
		{"*.INFO", "stargate.INFO", true},
		{"*.INFO", "stargate.INFO.1", false},
		{"s*g*e.?NFO", "stargate.INFO", true},
		{"[a-c]*", "b.log", true},
		{"[!a-c]*", "b.log", false},
		{"[*", "[x", true},
		{"a**", "a", true},
		{"*x*", "abc", false},
		{"", "", true},
	} {
		if got := globMatch(c.pattern, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}
