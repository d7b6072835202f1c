package cmdutil

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/sshx"
)

// SSHOptions are the flags of CLI.md's SSH table.
type SSHOptions struct {
	User           string
	Port           int
	Identities     []string
	ConfigFile     string
	KnownHosts     string
	HostKeyCheck   string
	ConnectTimeout time.Duration
}

// AddSSHFlags registers the SSH flags on cmd.
func AddSSHFlags(cmd *cobra.Command, o *SSHOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.User, "ssh-user", "", "SSH user on the CVMs (default nutanix, or ssh_config's User)")
	fl.IntVar(&o.Port, "ssh-port", 0, "SSH port on the CVMs (default 22, or ssh_config's Port)")
	fl.StringArrayVarP(&o.Identities, "identity", "i", nil, "private key `FILE` (repeatable); ssh-agent is used too: SSH_AUTH_SOCK, or on Windows the OpenSSH agent service")
	fl.StringVar(&o.ConfigFile, "ssh-config", "", "ssh_config `FILE` (default ~/.ssh/config)")
	fl.StringVar(&o.KnownHosts, "known-hosts", "", "known_hosts `FILE` (default ssh_config's UserKnownHostsFile, else ~/.ssh/known_hosts)")
	fl.StringVar(&o.HostKeyCheck, "host-key-check", "", "host key policy: strict, accept-new or off (default strict, or ssh_config's StrictHostKeyChecking)")
	fl.DurationVar(&o.ConnectTimeout, "connect-timeout", 0, "give up connecting to a CVM after `D` (default 10s, or ssh_config's ConnectTimeout)")
	_ = cmd.RegisterFlagCompletionFunc("host-key-check", cobra.FixedCompletions(
		[]string{"strict\tunknown or changed keys are refused", "accept-new\trecord new keys, refuse changed ones", "off\tno host key check"},
		cobra.ShellCompDirectiveNoFileComp))
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
		opts.AgentSocket, opts.AgentDefault = sshx.AgentSocket(f.Getenv("SSH_AUTH_SOCK"))
	}
	opts.Warn = func(msg string) { fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: %s\n", msg) }
	return opts, nil
}
