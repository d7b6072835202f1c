package cmdutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/config"
	"github.com/cvmtail/cvmtail/internal/prism"
)

// ConfigPath is the config file: CVMTAIL_CONFIG, else config.yaml in the user's config
// directory (~/.config/cvmtail on Linux).
func ConfigPath(f *Factory) string {
	if p := f.Env("CVMTAIL_CONFIG"); p != "" {
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
	// The default file may well not exist; one named explicitly must.
	if env := f.Env("CVMTAIL_CONFIG"); env != "" && !cf.Exists && env != os.DevNull {
		return nil, UsageWithHint(fmt.Errorf("CVMTAIL_CONFIG names %s, which does not exist", env),
			"create it, or unset CVMTAIL_CONFIG (CVMTAIL_CONFIG="+os.DevNull+" means no config file)")
	}
	if cf.SecretExposed() {
		WarnExposedSecret(f, path, "chmod 600 "+path+", or use password-file")
	}
	return cf, nil
}

// WarnExposedSecret warns that a file holding a password may be read by others.
func WarnExposedSecret(f *Factory, path, hint string) {
	if f.IOStreams == nil {
		return
	}
	fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: warning: %s holds a password and others may read it\n", path)
	fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: hint: %s\n", hint)
}

// ApplyContext fills what neither a flag nor the environment set from the chosen context of
// the config file: flags win over the environment, which wins over the file. t or s may be
// nil for commands without those flags. The context's keys of the command itself (tail's
// lines, grep, output, ...: config.Context's cmd tags) set the flags of the same name.
//
// A context's Prism credentials and TLS settings (username, password, password-file,
// ca-cert, insecure) belong to its own Prism: when --prism or CVMTAIL_PRISM names another
// one, they are not used, nor are the context's clusters and CVMs, nor its host-key-check
// (the CVMs found there are other hosts). What says who we are on SSH (ssh-user, ssh-port,
// identity, ssh-config, known-hosts, connect-timeout) still applies: it is not given to
// anyone, and host keys are still checked.
func ApplyContext(cmd *cobra.Command, f *Factory, t *TargetOptions, s *SSHOptions) error {
	cf, err := LoadConfig(f)
	if err != nil {
		return err
	}
	name := f.Context
	if name == "" {
		name = f.Env("CVMTAIL_CONTEXT")
	}
	c, chosen, ok, err := cf.Select(name)
	if err != nil {
		hint := "list contexts in the config file, or drop --context"
		if names := cf.Names(); len(names) > 0 {
			hint = fmt.Sprintf("use one of the contexts of %s, or drop --context", cf.Path)
		}
		return UsageWithHint(err, hint)
	}
	if !ok {
		f.UnchosenContexts = cf.Names()
		return nil
	}
	home := ""
	if f.HomeDir != nil {
		home, _ = f.HomeDir()
	}
	given := func(flag string) bool {
		fl := cmd.Flags().Lookup(flag)
		return fl != nil && fl.Changed
	}
	// Whose CVMs are these? The context's own when the Prism in effect is its Prism, or, for
	// a context without Prism, when its CVM list is not replaced.
	env := ReadTargetEnv(f.Getenv)
	otherPrism, otherFrom := "", ""
	switch {
	case t != nil && given(flagPrism) && !samePrism(t.Prism, c.Prism):
		otherPrism, otherFrom = t.Prism, "--prism"
	case !given(flagPrism) && env.Prism != "" && !samePrism(env.Prism, c.Prism):
		otherPrism, otherFrom = env.Prism, EnvPrism
	}
	a := &contextApply{
		c:          c,
		configPath: cf.Path,
		t:          t,
		s:          s,
		ownPrism:   c.Prism != "" && otherPrism == "",
		env:        env,
		path:       func(p string) string { return config.ExpandHome(p, home) },
	}
	a.ownTargets = a.ownPrism || (c.Prism == "" && otherPrism == "" && !given(flagCVM))
	if t != nil {
		for _, fl := range targetFlags {
			if fl.fromContext != nil {
				if err := fl.fromContext(a, given(fl.name)); err != nil {
					return err
				}
			}
		}
	}
	if s != nil {
		for _, fl := range sshFlags {
			if fl.fromContext != nil {
				if err := fl.fromContext(a, given(fl.name)); err != nil {
					return err
				}
			}
		}
	}
	if err := applyCommandSettings(cmd, c, chosen, cf.Path, home); err != nil {
		return err
	}
	dropped := a.dropped
	// A context chosen by name whose settings the environment overrides (CVMTAIL_PRISM left
	// from a lab session, say) would otherwise surprise.
	if explicit := f.Context != "" || f.Env("CVMTAIL_CONTEXT") != ""; explicit && f.IOStreams != nil {
		var overriding []string
		if otherFrom == EnvPrism && len(dropped) == 0 {
			overriding = append(overriding, EnvPrism)
		}
		if a.ownPrism && !given("username") && env.Username != "" && c.Username != "" {
			overriding = append(overriding, EnvUsername)
		}
		if a.ownPrism && !given("password-file") && env.Password != "" && (c.Password != "" || c.PasswordFile != "") {
			overriding = append(overriding, EnvPassword)
		}
		for _, v := range overriding {
			fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: %s overrides context %s's setting\n", v, chosen)
		}
	}
	if len(dropped) > 0 && f.IOStreams != nil {
		why := fmt.Sprintf("%s %s is not context %s's prism %s", otherFrom, otherPrism, chosen, c.Prism)
		switch {
		case c.Prism == "" && otherPrism != "":
			why = fmt.Sprintf("%s %s replaces context %s's CVMs", otherFrom, otherPrism, chosen)
		case c.Prism == "":
			why = fmt.Sprintf("--cvm replaces context %s's CVMs", chosen)
		}
		fmt.Fprintf(f.IOStreams.ErrOut, "cvmtail: %s: not using the context's %s\n", why, strings.Join(dropped, ", "))
	}
	return nil
}

// applyCommandSettings applies the context's keys of this command (tail's lines, grep,
// output, ...) to the flags of the same name that the command line did not give, through
// each flag's own parser, as if typed after it.
func applyCommandSettings(cmd *cobra.Command, c config.Context, chosen, path, home string) error {
	for _, s := range c.CommandSettings(cmd.Name(), home) {
		fl := cmd.Flags().Lookup(s.Key)
		if fl == nil || fl.Changed {
			continue
		}
		for _, v := range s.Values {
			if err := fl.Value.Set(v); err != nil {
				return UsageWithHint(fmt.Errorf("config %s: context %s: %s %q: %w", path, chosen, s.Key, v, err),
					"fix the file, or give --"+s.Key+" on the command line")
			}
		}
	}
	return nil
}

// samePrism tells whether two Prism addresses name the same HOST:PORT.
func samePrism(a, b string) bool {
	na, errA := prism.NormalizeAddress(a)
	nb, errB := prism.NormalizeAddress(b)
	return errA == nil && errB == nil && strings.EqualFold(na, nb)
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
