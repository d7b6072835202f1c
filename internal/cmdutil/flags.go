package cmdutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/config"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/units"
)

// The flags that choose CVMs and say how to reach them (docs/cli/cvmtail_tail.md) are
// described once, in targetFlags and sshFlags: their name, which is also their key in a
// context of the config file, how they are defined, and how a context's value applies
// when the flag is not given. AddTargetFlags, AddSSHFlags, ApplyContext and CVMFlagNames
// all read these tables.

// flagSpec is one such flag, bound to a field of O (TargetOptions or SSHOptions).
type flagSpec[O any] struct {
	name string
	// define registers the flag on cmd, bound to o.
	define func(cmd *cobra.Command, name string, o *O)
	// fromContext applies the chosen context's setting, or records why it does not apply;
	// given tells whether the flag was on the command line. nil: not a context key.
	fromContext func(a *contextApply, given bool) error
}

// Flags that ApplyContext's own logic looks at.
const (
	flagPrism = "prism"
	flagCVM   = "cvm"
)

var targetFlags = []flagSpec[TargetOptions]{
	// In the order of the line that says which of a context's settings are not used.
	{
		name: flagPrism,
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().StringVar(&o.Prism, name, "", "Prism Element or Prism Central address HOST[:PORT] (port 9440 when omitted; env CVMTAIL_PRISM)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if a.ownPrism && !given {
				a.t.Prism = a.c.Prism
			}
			return nil
		},
	},
	{
		name: "username",
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().StringVar(&o.Username, name, "", "Prism user (env CVMTAIL_USERNAME, default admin)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if a.prismSetting("username", a.c.Username != "") && !given && a.env.Username == "" && a.c.Username != "" {
				a.t.Username = a.c.Username
			}
			return nil
		},
	},
	{
		// Also applies the context's password: no flag takes a password.
		name: "password-file",
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().StringVar(&o.PasswordFile, name, "", "read the Prism password from `FILE` (or env CVMTAIL_PASSWORD, or a prompt on a terminal)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if a.prismSetting("password", a.c.Password != "" || a.c.PasswordFile != "") && !given && a.env.Password == "" {
				if a.c.PasswordFile != "" {
					a.t.PasswordFile = a.path(a.c.PasswordFile)
				}
				a.t.Password = a.c.Password
			}
			return nil
		},
	},
	{
		name: "insecure",
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().BoolVar(&o.Insecure, name, false, "do not verify Prism's TLS certificate")
		},
		fromContext: func(a *contextApply, given bool) error {
			if a.prismSetting("TLS settings", a.c.Insecure) && !given && a.c.Insecure {
				a.t.Insecure = true
			}
			return nil
		},
	},
	{
		name: "ca-cert",
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().StringVar(&o.CACert, name, "", "trust this CA bundle `FILE` for Prism")
		},
		fromContext: func(a *contextApply, given bool) error {
			if a.prismSetting("TLS settings", a.c.CACert != "") && !given && a.c.CACert != "" {
				a.t.CACert = a.path(a.c.CACert)
			}
			return nil
		},
	},
	{
		name: "cluster",
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().StringArrayVar(&o.Clusters, name, nil, "with Prism Central: cluster `NAME|UUID` to use (repeatable and comma-separated; all or '*': every cluster). A PC with one cluster needs none, and --cvm alone finds its CVMs in any cluster")
		},
		fromContext: func(a *contextApply, given bool) error {
			if a.prismSetting("clusters", len(a.c.Clusters) > 0) && !given && len(a.c.Clusters) > 0 {
				a.t.Clusters = a.c.Clusters
			}
			return nil
		},
	},
	{
		name: flagCVM,
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().StringSliceVar(&o.CVMs, name, nil, "CVM `NAME|IP` (repeatable, comma- or space-separated, e.g. \"$(svmips)\"); without --prism these addresses are the CVMs")
		},
		fromContext: func(a *contextApply, given bool) error {
			// --cvm alone narrows within the context's cluster; with another Prism, or
			// instead of a Prism-less context's list, it replaces the context's CVMs.
			if !given && a.ownTargets && len(a.c.CVMs) > 0 {
				a.t.CVMs = a.c.CVMs
			}
			return nil
		},
	},
	{
		name: "refresh",
		define: func(cmd *cobra.Command, name string, o *TargetOptions) {
			cmd.Flags().BoolVar(&o.Refresh, name, false, "ask Prism again instead of using the CVM list cached for 5 minutes (a cached list does not check the password: a wrong one shows once it expires)")
		},
	},
}

var sshFlags = []flagSpec[SSHOptions]{
	{
		name: "ssh-user",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().StringVar(&o.User, name, "", "SSH user on the CVMs (default nutanix, or ssh_config's User)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if !given && a.c.SSHUser != "" {
				a.s.User = a.c.SSHUser
			}
			return nil
		},
	},
	{
		name: "ssh-port",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().IntVar(&o.Port, name, 0, "SSH port on the CVMs (default 22, or ssh_config's Port)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if !given && a.c.SSHPort != 0 {
				a.s.Port = a.c.SSHPort
			}
			return nil
		},
	},
	{
		name: "identity",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().StringArrayVarP(&o.Identities, name, "i", nil, "private key `FILE` (repeatable); ssh-agent is used too: SSH_AUTH_SOCK, or on Windows the OpenSSH agent service")
		},
		fromContext: func(a *contextApply, given bool) error {
			if !given && len(a.c.Identities) > 0 {
				a.s.Identities = nil
				for _, id := range a.c.Identities {
					a.s.Identities = append(a.s.Identities, a.path(id))
				}
			}
			return nil
		},
	},
	{
		name: "ssh-config",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().StringVar(&o.ConfigFile, name, "", "ssh_config `FILE` (default ~/.ssh/config); HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump, UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, StrictHostKeyChecking, HashKnownHosts, ConnectTimeout and ServerAlive* are honoured")
		},
		fromContext: func(a *contextApply, given bool) error {
			if !given && a.c.SSHConfig != "" {
				a.s.ConfigFile = a.path(a.c.SSHConfig)
			}
			return nil
		},
	},
	{
		name: "known-hosts",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().StringVar(&o.KnownHosts, name, "", "known_hosts `FILE` (default ssh_config's UserKnownHostsFile, else ~/.ssh/known_hosts)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if !given && a.c.KnownHosts != "" {
				a.s.KnownHosts = a.path(a.c.KnownHosts)
			}
			return nil
		},
	},
	{
		name: "host-key-check",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().StringVar(&o.HostKeyCheck, name, "", "host key policy: strict, accept-new or off, or as OpenSSH spells StrictHostKeyChecking: yes (strict), ask (strict: cvmtail never asks), no (off); default strict, or ssh_config's StrictHostKeyChecking. Keys are checked against the user's and the system's known_hosts, as OpenSSH does; off warns")
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(
				[]string{"strict\tunknown or changed keys are refused", "accept-new\trecord new keys, refuse changed ones", "off\tno host key check",
					"yes\tas strict", "ask\tas strict", "no\tas off"},
				cobra.ShellCompDirectiveNoFileComp))
		},
		fromContext: func(a *contextApply, given bool) error {
			// A policy for the context's CVMs, not for other hosts.
			if !given && a.c.HostKeyCheck != "" {
				if a.ownTargets {
					a.s.HostKeyCheck = a.c.HostKeyCheck
				} else {
					a.drop("host-key-check", hostKeyPolicies[strings.ToLower(a.c.HostKeyCheck)] != sshx.HostKeyStrict)
				}
			}
			return nil
		},
	},
	{
		name: "connect-timeout",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			DurationVar(cmd.Flags(), &o.ConnectTimeout, name, 0, "give up connecting to a CVM after `D` (default 10s, or ssh_config's ConnectTimeout)")
		},
		fromContext: func(a *contextApply, given bool) error {
			if !given && a.c.ConnectTimeout != "" {
				// The same words as the flag (1d as well as 10s), checked when the file was read.
				d, err := units.ParseDuration(string(a.c.ConnectTimeout))
				if err != nil || d <= 0 {
					return UsageWithHint(fmt.Errorf("config %s: connect-timeout %q is not a positive duration", a.configPath, a.c.ConnectTimeout), "write it like 10s")
				}
				a.s.ConnectTimeout = d
			}
			return nil
		},
	},
	{
		name: "use-nat",
		define: func(cmd *cobra.Command, name string, o *SSHOptions) {
			cmd.Flags().BoolVar(&o.UseNAT, name, false, "connect to each CVM at the NAT address and port Prism gives for it (list-cvms -o wide shows them); the port wins over --ssh-port")
		},
		fromContext: func(a *contextApply, given bool) error {
			// NAT belongs to how the context's CVMs are reached, not another Prism's.
			if !given && a.c.UseNAT {
				if a.ownTargets {
					a.s.UseNAT = true
				} else {
					a.drop("use-nat", true)
				}
			}
			return nil
		},
	},
}

// CVMFlagNames lists the flags that choose CVMs or say how to reach them, for a command
// that takes them only in some modes (logs: with --remote).
func CVMFlagNames() []string {
	var names []string
	for _, f := range targetFlags {
		names = append(names, f.name)
	}
	for _, f := range sshFlags {
		names = append(names, f.name)
	}
	return names
}

// contextApply is ApplyContext's work on one context.
type contextApply struct {
	c          config.Context
	configPath string
	t          *TargetOptions
	s          *SSHOptions
	// ownPrism: the Prism in effect is the context's own; ownTargets: so are the CVMs
	// (the context's Prism's, or, for a context without Prism, its unreplaced list).
	ownPrism, ownTargets bool
	env                  TargetEnv           // what the environment overrides
	path                 func(string) string // ~/ expanded
	dropped              []string            // the context's settings not used, for the user
}

// prismSetting tells whether a setting that belongs to the context's Prism (its
// credentials, TLS settings, clusters) applies; when another Prism is named instead, a
// present setting is recorded as not used.
func (a *contextApply) prismSetting(what string, present bool) bool {
	if !a.ownPrism && a.c.Prism != "" {
		a.drop(what, present)
	}
	return a.ownPrism
}

func (a *contextApply) drop(what string, present bool) {
	if present && !slices.Contains(a.dropped, what) {
		a.dropped = append(a.dropped, what)
	}
}
