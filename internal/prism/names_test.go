package prism

import (
	"reflect"
	"strings"
	"testing"
)

func TestValidAddress(t *testing.T) {
	good := []string{"10.20.1.31", "127.0.0.11", "fd00::1", "::ffff:10.0.0.1", "cvm01", "CVM-01.corp.example.com",
		"a", "1a.example", "x.0x7g", strings.Repeat("a", 63) + ".example"}
	bad := []string{"", "-oProxyCommand=x", "-cvm", "cvm-", "a b", "a\tb", "a;b", "$(id)", "`id`", "a|b", "a&b", "a>b",
		"cvm\x1b[31m", "cvm\u0085", "ü.example", "a..b", ".a", "a.", "0.0.0.0", "::", "fe80::1%eth0", "[fd00::1]",
		"10.1.1.1:22", "127.1", "10.020.1.1.1", "0x7f.1", "1.0x7F", "12345", strings.Repeat("a", 64) + ".example",
		strings.Repeat("a.", 127) + "ab", "user@host", "a/b", "a_b"}
	for _, s := range good {
		if !validAddress(s) {
			t.Errorf("validAddress(%q) = false, want true", s)
		}
	}
	for _, s := range bad {
		if validAddress(s) {
			t.Errorf("validAddress(%q) = true, want false", s)
		}
	}
}

func TestUniqueNames(t *testing.T) {
	cvm := func(name, cluster, addr string) CVM { return CVM{RawName: name, Cluster: cluster, Address: addr} }
	tests := []struct {
		name string
		in   []CVM
		want []string
	}{
		{"distinct names stay", []CVM{cvm("a", "c1", "10.0.0.1"), cvm("b", "c1", "10.0.0.2")}, []string{"a", "b"}},
		{"same name in two clusters", []CVM{cvm("a", "c1", "10.0.0.1"), cvm("a", "c2", "10.0.1.1")},
			[]string{"a@c1", "a@c2"}},
		{"same name twice in one cluster", []CVM{cvm("a", "c1", "10.0.0.1"), cvm("a", "c1", "10.0.0.2"), cvm("b", "c1", "10.0.0.3")},
			[]string{"a@c1@10.0.0.1", "a@c1@10.0.0.2", "b"}},
		{"names equal but for case", []CVM{cvm("CVM-A", "c1", "10.0.0.1"), cvm("cvm-a", "c2", "10.0.0.2")},
			[]string{"CVM-A@c1", "cvm-a@c2"}},
		{"names equal once made safe", []CVM{cvm("a/b", "c1", "10.0.0.1"), cvm("a_b", "c2", "10.0.0.2")},
			[]string{"a_b@c1", "a_b@c2"}},
		{"the same address twice", []CVM{cvm("a", "c1", "10.0.0.1"), cvm("a", "c1", "10.0.0.1")},
			[]string{"a@c1@10.0.0.1", "a@c1@10.0.0.1#2"}},
		{"a suffix meeting a real name", []CVM{cvm("a", "c1", "10.0.0.1"), cvm("a", "c2", "10.0.0.2"), cvm("a@c1", "c3", "10.0.0.3")},
			[]string{"a@c1@10.0.0.1", "a@c2", "a@c1@10.0.0.3"}},
		{"a counter meeting a real name", []CVM{cvm("x", "c", "h"), cvm("x", "c", "h"), cvm("x@c@h#2", "d", "i")},
			[]string{"x@c@h", "x@c@h#3", "x@c@h#2"}},
		{"hostile cluster name", []CVM{cvm("a", "../c\x1b", "10.0.0.1"), cvm("a", "c", "10.0.0.2")},
			[]string{"a@_._c_", "a@c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cvms := append([]CVM(nil), tt.in...)
			uniqueNames(cvms)
			var got []string
			seen := map[string]bool{}
			for i, c := range cvms {
				got = append(got, c.Name)
				if seen[strings.ToLower(c.Name)] {
					t.Errorf("name %q given twice", c.Name)
				}
				seen[strings.ToLower(c.Name)] = true
				if c.RawName != tt.in[i].RawName {
					t.Errorf("RawName changed: %q", c.RawName)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
			// Deterministic: the same list gives the same names again.
			again := append([]CVM(nil), tt.in...)
			uniqueNames(again)
			for i := range again {
				if again[i].Name != cvms[i].Name {
					t.Errorf("second run named %q %q, first %q", again[i].RawName, again[i].Name, cvms[i].Name)
				}
			}
		})
	}
}

func TestShowEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"alpha-pe01":          "alpha-pe01",
		"a b":                 `"a b"`,
		"x\x1b]52;c;SGk=\x07": `"x\x1b]52;c;SGk=\a"`,
		"c1\u0085":            `"c1\u0085"`,
		"bad\xff":             `"bad\xff"`,
		"":                    `""`,
	} {
		if got := show(in); got != want {
			t.Errorf("show(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestErrorMessageEscapes(t *testing.T) {
	got := errorMessage([]byte(`{"message": "denied \u001b[2J\u001b]52;c;SGk=\u0007 by policy"}`))
	if strings.ContainsAny(got, "\x1b\x07") || !strings.Contains(got, `\x1b[2J`) {
		t.Errorf("errorMessage = %q: control characters must be escaped", got)
	}
}
