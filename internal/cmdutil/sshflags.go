package cmdutil

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/sshx"
)

// SSHOptions are the flags that say how to reach the CVMs over SSH (sshFlags).
type SSHOptions struct {
	User           string
	Port           int
	Identities     []string
	ConfigFile     string
	KnownHosts     string
	HostKeyCheck   string
	ConnectTimeout time.Duration
	UseNAT         bool // --use-nat: see targets.UseNAT
}

// AddSSHFlags registers the SSH flags (sshFlags) on cmd.
func AddSSHFlags(cmd *cobra.Command, o *SSHOptions) {
	for _, f := range sshFlags {
		f.define(cmd, f.name, o)
	}
}

// hostKeyPolicies are --host-key-check's values, OpenSSH's StrictHostKeyChecking spellings
// included. "ask" is strict: with many CVMs at once there is no one prompt to answer, and
// an unknown key is refused with the way forward.
var hostKeyPolicies = map[string]sshx.HostKeyPolicy{
	"": "", "strict": sshx.HostKeyStrict, "yes": sshx.HostKeyStrict, "ask": sshx.HostKeyStrict,
	"accept-new": sshx.HostKeyAcceptNew, "off": sshx.HostKeyOff, "no": sshx.HostKeyOff,
}

// SSHConfig validates the flags and turns them into sshx options.
func (o *SSHOptions) SSHConfig(f *Factory) (sshx.Options, error) {
	var opts sshx.Options
	policy, ok := hostKeyPolicies[strings.ToLower(o.HostKeyCheck)]
	if !ok {
		return opts, UsageWithHint(fmt.Errorf("invalid --host-key-check %q", o.HostKeyCheck),
			"use strict, accept-new or off (or OpenSSH's yes, ask, no)")
	}
	if o.Port < 0 || o.Port > 65535 {
		return opts, Usagef("invalid --ssh-port %d: use a port from 1 to 65535", o.Port)
	}
	if o.ConnectTimeout < 0 {
		return opts, Usagef("invalid --connect-timeout %s: use a positive duration such as 10s", o.ConnectTimeout)
	}
	home := ""
	if f.HomeDir != nil {
		home, _ = f.HomeDir()
	}
	opts = sshx.Options{
		User:           o.User,
		Port:           o.Port,
		IdentityFiles:  o.Identities,
		ConfigFile:     o.ConfigFile,
		KnownHostsFile: o.KnownHosts,
		HostKeyCheck:   policy,
		ConnectTimeout: o.ConnectTimeout,
		HomeDir:        home,
	}
	if f.Getenv != nil {
		opts.AgentSocket, opts.AgentDefault = sshx.AgentSocket(f.Getenv("SSH_AUTH_SOCK"))
	}
	opts.Warn = func(msg string) { fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: %s\n", msg) }
	return opts, nil
}

// DialSSH dials a target's Address: "host:port" (a NAT address, see targets.UseNAT) on that port,
// anything else as ssh would (--ssh-port, ssh_config, 22).
func DialSSH(d *sshx.Dialer) func(ctx context.Context, address string) (*sshx.Client, error) {
	return func(ctx context.Context, address string) (*sshx.Client, error) {
		if host, port, err := net.SplitHostPort(address); err == nil {
			if p, err := strconv.Atoi(port); err == nil {
				return d.DialPort(ctx, host, p)
			}
		}
		return d.Dial(ctx, address)
	}
}
