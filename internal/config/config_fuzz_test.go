package config

import (
	"strings"
	"testing"
)

// FuzzDecode: whatever the file holds, Decode returns a config or an error naming the file,
// and never panics or spins.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("default: prod\ncontexts:\n  prod:\n    prism: pc.example.com\n    cluster: [a, b]\n    cvm: 10.1.1.11,10.1.1.12\n    ssh-port: 2222\n    insecure: true\n"))
	f.Add([]byte("contexts:\n  a:\n    prism: x\n    password: hunter2\n"))
	f.Add([]byte("contexts:\n  a:\n    sshport: 22\n"))
	f.Add([]byte("contexts:\n  a:\n    ssh-port: abc\n"))
	f.Add([]byte("default: missing\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("contexts: !!binary aGk=\n"))
	f.Add([]byte("\t- : {"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := Decode("/etc/cvmtail.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config /etc/cvmtail.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if cf.Default != "" {
			if _, ok := cf.Contexts[cf.Default]; !ok {
				t.Fatalf("default %q accepted without its context", cf.Default)
			}
		}
		_, _, _, _ = cf.Select("")
	})
}
