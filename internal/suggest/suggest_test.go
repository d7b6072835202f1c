package suggest

import (
	"reflect"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"genesis", "genesys", 1}, {"stargate", "stragate", 2}, {"kitten", "sitting", 3}} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"ssh-port", "ssh-user", "ssh-config", "prism", "password"}
	if got := Nearest("sshport", keys, 3); !reflect.DeepEqual(got, []string{"ssh-port"}) {
		t.Errorf("Nearest(sshport) = %q", got)
	}
	if got := Nearest("SSH-USR", keys, 3); !reflect.DeepEqual(got, []string{"ssh-user"}) {
		t.Errorf("Nearest(SSH-USR) = %q", got)
	}
	if got := Nearest("xy", keys, 3); got != nil {
		t.Errorf("Nearest(xy) = %q", got)
	}
}
