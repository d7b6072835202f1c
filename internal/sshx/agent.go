package sshx

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"
)

// AgentSocket is the ssh-agent to ask, given SSH_AUTH_SOCK as the caller read it: that
// when set, else the platform's default (on Windows, the named pipe of the OpenSSH agent
// service; elsewhere none). isDefault tells the caller to set Options.AgentDefault.
func AgentSocket(sshAuthSock string) (socket string, isDefault bool) {
	return agentSocket(sshAuthSock, defaultAgentSocket)
}

// agentSocket is AgentSocket for a given platform default, so that the choice can be
// tested on any platform.
func agentSocket(sshAuthSock, platformDefault string) (socket string, isDefault bool) {
	if sshAuthSock != "" {
		return sshAuthSock, false
	}
	return platformDefault, platformDefault != ""
}

// windowsAgentPipe is where the Windows OpenSSH agent service (ssh-agent, ssh-add)
// listens. It is what ssh.exe uses when SSH_AUTH_SOCK is unset.
const windowsAgentPipe = `\\.\pipe\openssh-ssh-agent`

// isNamedPipe tells whether path names a Windows named pipe (\\.\pipe\NAME, or with
// forward slashes) rather than a unix socket file.
func isNamedPipe(path string) bool {
	p := strings.ToLower(strings.ReplaceAll(path, "/", `\`))
	return strings.HasPrefix(p, `\\.\pipe\`) && len(p) > len(`\\.\pipe\`)
}

// agentConn is a connection to ssh-agent: a unix socket, or on Windows a named pipe.
type agentConn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// connectAgent connects to the agent at socket, bounded by ctx. ok is false when there is
// no agent to use; the reason is warned about once, except that no agent listening at the
// platform's default is no news.
func (d *Dialer) connectAgent(ctx context.Context) (conn agentConn, ok bool) {
	if d.opts.AgentSocket == "" {
		return nil, false
	}
	conn, err := dialAgent(ctx, d.opts.AgentSocket)
	if err != nil {
		if !(d.opts.AgentDefault && errors.Is(err, fs.ErrNotExist)) {
			d.agentWarn.Do(func() {
				d.opts.Warn("ssh-agent at " + d.opts.AgentSocket + ": " + describeNetError(unwrapPathError(err)))
			})
		}
		return nil, false
	}
	if deadline, has := ctx.Deadline(); has {
		_ = conn.SetDeadline(deadline) // an agent that hangs must not hold up the dial
	}
	return conn, true
}
