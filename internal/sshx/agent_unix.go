//go:build !windows

package sshx

import (
	"context"
	"net"
)

// defaultAgentSocket: without SSH_AUTH_SOCK, OpenSSH on unix uses no agent.
const defaultAgentSocket = ""

func dialAgent(ctx context.Context, socket string) (agentConn, error) {
	var nd net.Dialer
	return nd.DialContext(ctx, "unix", socket)
}
