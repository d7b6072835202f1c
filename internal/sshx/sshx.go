// Package sshx opens SSH connections to CVMs the way OpenSSH would: ssh_config, keys and
// ssh-agent, known_hosts checking, ProxyJump, timeouts bounded by a context, keepalives.
package sshx

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostKeyPolicy is --host-key-check.
type HostKeyPolicy string

const (
	HostKeyStrict    HostKeyPolicy = "strict"
	HostKeyAcceptNew HostKeyPolicy = "accept-new"
	HostKeyOff       HostKeyPolicy = "off"
)

// Options are the explicit settings; a zero value means "not given on the command line",
// so ssh_config, then the defaults, decide.
type Options struct {
	User           string        // --ssh-user (default nutanix)
	Port           int           // --ssh-port (default 22)
	IdentityFiles  []string      // -i, in order
	ConfigFile     string        // --ssh-config ("" = ~/.ssh/config; a missing default file is fine)
	KnownHostsFile string        // --known-hosts
	HostKeyCheck   HostKeyPolicy // --host-key-check (default strict)
	ConnectTimeout time.Duration // --connect-timeout (default 10s)
	AgentSocket    string        // SSH_AUTH_SOCK, read by the caller ("" = no agent)
	HomeDir        string        // for ~ in paths
	// Warn receives notices worth a stderr line, e.g. a new host key recorded.
	Warn func(msg string)
}

// Dialer opens connections to CVMs.
type Dialer struct{}

// Client is a connection to one CVM.
type Client struct {
	*ssh.Client
}

// NewDialer loads ssh_config, keys and known_hosts. A bad config or an unreadable key file
// is a *ConfigError.
func NewDialer(opts Options) (*Dialer, error) {
	return nil, errors.New("sshx: not implemented yet")
}

// Dial connects to host (a CVM address or ssh_config alias), bounded by ctx and the
// connect timeout.
func (d *Dialer) Dial(ctx context.Context, host string) (*Client, error) {
	return nil, errors.New("sshx: not implemented yet")
}
