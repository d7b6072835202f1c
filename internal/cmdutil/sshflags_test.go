package cmdutil

import (
	"testing"

	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/sshx"
)

func TestHostKeyCheckTakesOpenSSHSpellings(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &Factory{IOStreams: ios}
	for in, want := range map[string]sshx.HostKeyPolicy{
		"": "", "strict": sshx.HostKeyStrict, "yes": sshx.HostKeyStrict, "ask": sshx.HostKeyStrict, "ASK": sshx.HostKeyStrict,
		"accept-new": sshx.HostKeyAcceptNew, "off": sshx.HostKeyOff, "no": sshx.HostKeyOff,
	} {
		opts, err := (&SSHOptions{HostKeyCheck: in}).SSHConfig(f)
		if err != nil || opts.HostKeyCheck != want {
			t.Errorf("--host-key-check %q: %q, %v; want %q", in, opts.HostKeyCheck, err, want)
		}
	}
	_, err := (&SSHOptions{HostKeyCheck: "maybe"}).SSHConfig(f)
	if ExitCode(err) != ExitUsage || HintOf(err) == "" {
		t.Errorf("maybe: %v", err)
	}
}
