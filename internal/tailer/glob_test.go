package tailer

import (
	"fmt"
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

// What an earlier run says of a glob's matches goes into a command on the CVM: only points
// that name a match, with a file identity and an offset, and at most a glob's matches.
func TestGlobResumeKeepsOnlyValidPoints(t *testing.T) {
	ok := ResumePoint{Path: "/logs/svc.1.log", Ident: "2049:77", Offset: 10}
	points := []ResumePoint{ok,
		{Path: "/logs/other.txt", Ident: "2049:78", Offset: 1},      // not a match
		{Path: "/elsewhere/svc.2.log", Ident: "2049:79", Offset: 1}, // another directory
		{Path: "/logs/svc.3.log", Ident: "2049:80; rm -rf /", Offset: 1},
		{Path: "/logs/svc.4.log", Ident: "2049:81", Offset: -1},
		{Path: "/logs/svc.5\n.log", Ident: "2049:82", Offset: 1},
	}
	got := validGlobResume("/logs/svc.*.log", points)
	if len(got) != 1 || got[0] != ok {
		t.Errorf("kept %+v, want only %+v", got, ok)
	}
	var many []ResumePoint
	for i := 0; i < 2*MaxGlobMatches; i++ {
		many = append(many, ResumePoint{Path: fmt.Sprintf("/logs/svc.%d.log", i), Ident: "1:2", Offset: 0})
	}
	if n := len(validGlobResume("/logs/svc.*.log", many)); n != MaxGlobMatches {
		t.Errorf("kept %d of %d, want %d", n, len(many), MaxGlobMatches)
	}
}
