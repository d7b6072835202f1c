package cmdutil

import (
	"fmt"
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
}

// AddSSHFlags registers the SSH flags (sshFlags) on cmd.
func AddSSHFlags(cmd *cobra.Command, o *SSHOptions) {
	for _, f := range sshFlags {
		f.define(cmd, f.name, o)
	}
}

// SSHConfig validates the flags and turns them into sshx options.
func (o *SSHOptions) SSHConfig(f *Factory) (sshx.Options, error) {
	var opts sshx.Options
	switch o.HostKeyCheck {
	case "", "strict", "accept-new", "off":
	default:
		return opts, Usagef("invalid --host-key-check %q: use strict, accept-new or off", o.HostKeyCheck)
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
		HostKeyCheck:   sshx.HostKeyPolicy(o.HostKeyCheck),
		ConnectTimeout: o.ConnectTimeout,
		HomeDir:        home,
	}
	if f.Getenv != nil {
		opts.AgentSocket = f.Getenv("SSH_AUTH_SOCK")
	}
	opts.Warn = func(msg string) { fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: %s\n", msg) }
	return opts, nil
}
