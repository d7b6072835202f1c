package cmdutil

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/config"
)

// ConfigPath is the config file: CVMTAIL_CONFIG, else config.yaml in the user's config
// directory (~/.config/cvmtail on Linux).
func ConfigPath(f *Factory) string {
	if p := getenv(f, "CVMTAIL_CONFIG"); p != "" {
		return p
	}
	if f.ConfigDir == nil {
		return ""
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "config.yaml")
}

// LoadConfig reads the config file, warning once when it exposes a password.
func LoadConfig(f *Factory) (*config.File, error) {
	path := ConfigPath(f)
	if path == "" {
		return &config.File{}, nil
	}
	cf, err := config.Load(path)
	if err != nil {
		return nil, UsageWithHint(err, "fix the file, or point CVMTAIL_CONFIG elsewhere")
	}
	if cf.SecretExposed() && f.IOStreams != nil {
		fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: warning: %s holds a password and others may read it\n", path)
		fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: hint: chmod 600 %s, or use password-file\n", path)
	}
	return cf, nil
}

// ApplyContext fills what neither a flag nor the environment set from the chosen context of
// the config file: flags win over the environment, which wins over the file. t or s may be
// nil for commands without those flags.
func ApplyContext(cmd *cobra.Command, f *Factory, t *TargetOptions, s *SSHOptions) error {
	cf, err := LoadConfig(f)
	if err != nil {
		return err
	}
	name := f.Context
	if name == "" {
		name = getenv(f, "CVMTAIL_CONTEXT")
	}
	c, _, ok, err := cf.Select(name)
	if err != nil {
		hint := "list contexts in the config file, or drop --context"
		if names := cf.Names(); len(names) > 0 {
			hint = fmt.Sprintf("use one of the contexts of %s, or drop --context", cf.Path)
		}
		return UsageWithHint(err, hint)
	}
	if !ok {
		return nil
	}
	home := ""
	if f.HomeDir != nil {
		home, _ = f.HomeDir()
	}
	path := func(p string) string { return config.ExpandHome(p, home) }
	set := func(flag string) bool {
		fl := cmd.Flags().Lookup(flag)
		return fl != nil && fl.Changed
	}
	if t != nil {
		if !set("prism") && getenv(f, "CVMTAIL_PRISM") == "" && c.Prism != "" {
			t.Prism = c.Prism
		}
		if !set("username") && getenv(f, "CVMTAIL_USERNAME") == "" && c.Username != "" {
			t.Username = c.Username
		}
		if !set("password-file") && getenv(f, "CVMTAIL_PASSWORD") == "" {
			if c.PasswordFile != "" {
				t.PasswordFile = path(c.PasswordFile)
			}
			t.Password = c.Password
		}
		// A --prism on the command line means another Prism: the context's clusters and CVMs
		// no longer apply. A --cvm alone narrows within the context's cluster.
		otherTarget := set("prism")
		if !set("cluster") && !otherTarget && len(c.Clusters) > 0 {
			t.Clusters = c.Clusters
		}
		if !set("cvm") && !set("prism") && len(c.CVMs) > 0 {
			t.CVMs = c.CVMs
		}
		if !set("insecure") && c.Insecure {
			t.Insecure = true
		}
		if !set("ca-cert") && c.CACert != "" {
			t.CACert = path(c.CACert)
		}
	}
	if s != nil {
		if !set("ssh-user") && c.SSHUser != "" {
			s.User = c.SSHUser
		}
		if !set("ssh-port") && c.SSHPort != 0 {
			s.Port = c.SSHPort
		}
		if !set("identity") && len(c.Identities) > 0 {
			s.Identities = nil
			for _, id := range c.Identities {
				s.Identities = append(s.Identities, path(id))
			}
		}
		if !set("ssh-config") && c.SSHConfig != "" {
			s.ConfigFile = path(c.SSHConfig)
		}
		if !set("known-hosts") && c.KnownHosts != "" {
			s.KnownHosts = path(c.KnownHosts)
		}
		if !set("host-key-check") && c.HostKeyCheck != "" {
			s.HostKeyCheck = c.HostKeyCheck
		}
		if !set("connect-timeout") && c.ConnectTimeout != "" {
			d, err := time.ParseDuration(c.ConnectTimeout)
			if err != nil || d <= 0 {
				return UsageWithHint(fmt.Errorf("config %s: connect-timeout %q is not a duration", cf.Path, c.ConnectTimeout), "write it like 10s")
			}
			s.ConnectTimeout = d
		}
	}
	return nil
}

// CompleteContexts offers the config file's contexts (for --context).
func CompleteContexts(f *Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cf, err := config.Load(ConfigPath(f))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range cf.Names() {
			out = append(out, n+"\t"+cf.Contexts[n].Prism)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
