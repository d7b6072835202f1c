package sshx

import "testing"

// The choice of agent, for every platform's default, on whatever machine runs the tests.
func TestAgentSocketChoice(t *testing.T) {
	for _, tc := range []struct {
		name, env, platformDefault string
		want                       string
		wantDefault                bool
	}{
		{"unix, SSH_AUTH_SOCK set", "/tmp/ssh-x/agent.1", "", "/tmp/ssh-x/agent.1", false},
		{"unix, no SSH_AUTH_SOCK: no agent", "", "", "", false},
		{"windows, no SSH_AUTH_SOCK: the agent service's pipe", "", windowsAgentPipe, windowsAgentPipe, true},
		{"windows, SSH_AUTH_SOCK names another pipe", `\\.\pipe\my-agent`, windowsAgentPipe, `\\.\pipe\my-agent`, false},
		{"windows, SSH_AUTH_SOCK names a unix socket", `C:\Users\u\agent.sock`, windowsAgentPipe, `C:\Users\u\agent.sock`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, isDefault := agentSocket(tc.env, tc.platformDefault)
			if got != tc.want || isDefault != tc.wantDefault {
				t.Errorf("agentSocket(%q, %q) = %q, %v; want %q, %v", tc.env, tc.platformDefault, got, isDefault, tc.want, tc.wantDefault)
			}
		})
	}
}

func TestIsNamedPipe(t *testing.T) {
	for path, want := range map[string]bool{
		`\\.\pipe\openssh-ssh-agent`: true,
		`//./pipe/openssh-ssh-agent`: true,
		`\\.\PIPE\pageant.u.1234`:    true,
		`\\.\pipe\`:                  false,
		`C:\Users\u\.ssh\agent.sock`: false,
		`/tmp/ssh-x/agent.1`:         false,
		``:                           false,
	} {
		if got := isNamedPipe(path); got != want {
			t.Errorf("isNamedPipe(%q) = %v, want %v", path, got, want)
		}
	}
}
