//go:build linux

package bench

import (
	"strings"
	"testing"
)

// The checker decides the "corrupted" column: it must catch cut, merged and mislabelled lines.
func TestCheckerCatchesCorruption(t *testing.T) {
	a := string(content("127.0.0.11", "bulk1.out", 7))
	b := string(content("127.0.0.12", "bulk2.out", 9))
	tests := []struct {
		name    string
		style   prefixStyle
		out     string
		corrupt int
	}{
		{"whole lines", styleText, "127.0.0.11 bulk1.out " + a + "127.0.0.12 bulk2.out " + b, 0},
		{"mislabelled", styleText, "127.0.0.12 bulk2.out " + a, 1},
		{"wrong file", styleText, "127.0.0.11 bulk2.out " + a, 1},
		{"merged at a buffer boundary", styleText, "127.0.0.11 bulk1.out " + a[:40] + "127.0.0.12 bulk2.out " + b, 1},
		{"cut", styleText, "127.0.0.11 bulk1.out " + a[:100] + "\n", 1},
		{"no prefix", styleNone, a + b, 0},
		{"unexpected prefix", styleNone, "x " + a, 1},
		{"clush", styleClush, "127.0.0.11: " + a + "127.0.0.11: " + b, 1},
		{"pssh chunk", stylePSSH, "127.0.0.11:2222: " + a + b, 1},
		{"pssh lines", stylePSSH, "127.0.0.11: " + a + "127.0.0.12:22: " + b, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := check(strings.NewReader(tt.out), tt.style)
			if c.corrupt != tt.corrupt || c.good+c.corrupt != c.lines {
				t.Errorf("got %+v, want %d corrupted", c, tt.corrupt)
			}
		})
	}
}

func TestAgentStreamIDs(t *testing.T) {
	cmd := `S='script'\''s'; set -- 2 1 20 0 1 '/a b' 262144 10 '' '' 0 2 '/c'\''d $(x)' 262144 10 '' '64768:12' 5; if command -v python3 >/dev/null`
	if got := strings.Join(agentStreamIDs(cmd), ","); got != "1,2" {
		t.Errorf("stream ids %q, want 1,2", got)
	}
}
