package sshx

import (
	"bytes"
	"testing"
)

// FuzzSSHConfig: whatever ~/.ssh/config holds, parsing and resolving a host return values
// or an error, and never panic.
func FuzzSSHConfig(f *testing.F) {
	f.Add([]byte("Host cvm*\n  HostName %h.example\n  User admin\n  Port 2222\n  IdentityFile ~/.ssh/%r_key\n  ProxyJump bastion,jumper@other:2200\n"))
	f.Add([]byte("Host *\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile ~/a ~/b\n  GlobalKnownHostsFile none\n  HostKeyAlias ntnx\n  IdentitiesOnly yes\n"))
	f.Add([]byte("Host 10.1.1.*\n  ConnectTimeout 7\n  ServerAliveInterval 0\n  ServerAliveCountMax 5\n"))
	f.Add([]byte("Match host x\n  Port 0\nHost\n  ProxyJump ssh://[::1]:99999\n"))
	f.Add([]byte("Host cvm1\n  Port abc\n  IdentitiesOnly maybe\n  ProxyJump @\n"))
	f.Add([]byte("Host \"quoted name\" cvm1\n\tHostName\t10.1.1.11 # comment\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(bytes.ToLower(data), []byte("include")) {
			return // Include reads files of this machine: not what is fuzzed here
		}
		cfg, err := parseConfigData("config", data)
		if err != nil {
			return
		}
		d := &Dialer{opts: Options{HomeDir: "/home/u", Warn: func(string) {}}, config: cfg, configFile: "config",
			keyCache: map[string]identity{}, explicitPublic: map[string]bool{}}
		for _, host := range []string{"cvm1", "10.1.1.11", "quoted name"} {
			hc, _ := d.resolve(host, nil)
			if hc.Port < 1 || hc.Port > 65535 {
				t.Fatalf("%s: port %d", host, hc.Port)
			}
			for _, hop := range hc.ProxyJump {
				if spec, err := parseJump(hop); err == nil && (spec.port < 0 || spec.port > 65535) {
					t.Fatalf("jump %q: port %d", hop, spec.port)
				}
			}
		}
	})
}
