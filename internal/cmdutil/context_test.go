package cmdutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/iostreams"
)

const testConfig = `
default: prod
contexts:
  prod:
    prism: pc.example.com
    username: ops
    password-file: ~/prod.pw
    cluster: [prod-01]
    ca-cert: ~/ca.pem
    ssh-user: admin2
    ssh-port: 2222
    identity: ~/.ssh/cvm_key
    host-key-check: accept-new
    connect-timeout: 3s
  lab:
    cvm: 127.0.0.11,127.0.0.12
`

// contextCmd parses args into target and SSH options with a config file holding testConfig.
func contextCmd(t *testing.T, env map[string]string, mode os.FileMode, args ...string) (*TargetOptions, *SSHOptions, string, error) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(testConfig), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfgPath, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	f := &Factory{
		IOStreams: ios,
		Getenv: func(k string) string {
			if k == "CVMTAIL_CONFIG" {
				return cfgPath
			}
			return env[k]
		},
		HomeDir: func() (string, error) { return "/home/u", nil },
	}
	var to TargetOptions
	var so SSHOptions
	var applyErr error
	cmd := &cobra.Command{Use: "x", RunE: func(cmd *cobra.Command, args []string) error {
		applyErr = ApplyContext(cmd, f, &to, &so)
		return nil
	}}
	cmd.Flags().StringVar(&f.Context, "context", "", "")
	AddTargetFlags(cmd, &to)
	AddSSHFlags(cmd, &so)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	return &to, &so, errOut.String(), applyErr
}

func TestContextFillsWhatIsNotGiven(t *testing.T) {
	to, so, stderr, err := contextCmd(t, nil, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if to.Prism != "pc.example.com" || to.Username != "ops" || to.PasswordFile != "/home/u/prod.pw" ||
		strings.Join(to.Clusters, ",") != "prod-01" || to.CACert != "/home/u/ca.pem" {
		t.Errorf("targets %+v", to)
	}
	if so.User != "admin2" || so.Port != 2222 || so.Identities[0] != "/home/u/.ssh/cvm_key" || so.HostKeyCheck != "accept-new" || so.ConnectTimeout != 3*time.Second {
		t.Errorf("ssh %+v", so)
	}
	if stderr != "" {
		t.Errorf("stderr %q", stderr)
	}
}

func TestFlagsWinOverEnvironmentOverFile(t *testing.T) {
	env := map[string]string{"CVMTAIL_PRISM": "env-prism", "CVMTAIL_USERNAME": "env-user", "CVMTAIL_PASSWORD": "x"}
	to, so, _, err := contextCmd(t, env, 0o600, "--username", "flag-user", "--ssh-user", "flag-ssh", "-i", "k")
	if err != nil {
		t.Fatal(err)
	}
	if to.Prism != "" { // the environment's CVMTAIL_PRISM is read later, by targets.Resolve
		t.Errorf("prism %q: the file must not beat the environment", to.Prism)
	}
	if to.Username != "flag-user" || to.PasswordFile != "" || so.User != "flag-ssh" || so.Identities[0] != "k" {
		t.Errorf("targets %+v ssh %+v", to, so)
	}
	// Another Prism on the command line: the context's clusters do not follow it there.
	to, _, _, _ = contextCmd(t, nil, 0o600, "--prism", "other")
	if to.Prism != "other" || len(to.Clusters) != 0 {
		t.Errorf("with --prism: %+v", to)
	}
	// --cvm alone narrows within the context's cluster.
	to, _, _, _ = contextCmd(t, nil, 0o600, "--cvm", "NTNX-A-CVM")
	if to.Prism != "pc.example.com" || strings.Join(to.Clusters, ",") != "prod-01" || strings.Join(to.CVMs, ",") != "NTNX-A-CVM" {
		t.Errorf("with --cvm: %+v", to)
	}
}

func TestChoosingContexts(t *testing.T) {
	to, _, _, err := contextCmd(t, nil, 0o600, "--context", "lab")
	if err != nil || strings.Join(to.CVMs, ",") != "127.0.0.11,127.0.0.12" || to.Prism != "" {
		t.Errorf("--context lab: %+v %v", to, err)
	}
	to, _, _, err = contextCmd(t, map[string]string{"CVMTAIL_CONTEXT": "lab"}, 0o600)
	if err != nil || len(to.CVMs) != 2 {
		t.Errorf("CVMTAIL_CONTEXT=lab: %+v %v", to, err)
	}
	_, _, _, err = contextCmd(t, nil, 0o600, "--context", "stage")
	if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "lab, prod") {
		t.Errorf("unknown context: %v", err)
	}
}

func TestPasswordInAReadableConfigWarns(t *testing.T) {
	// testConfig holds no password; add one.
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte("contexts:\n  a:\n    prism: x\n    password: hunter2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	f := &Factory{IOStreams: ios, Getenv: func(k string) string {
		if k == "CVMTAIL_CONFIG" {
			return p
		}
		return ""
	}}
	if _, err := LoadConfig(f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "holds a password and others may read it") || strings.Contains(errOut.String(), "hunter2") {
		t.Errorf("stderr %q", errOut.String())
	}
	_, _, stderr, _ := contextCmd(t, nil, 0o644) // no password in it: no warning
	if stderr != "" {
		t.Errorf("warned without a password: %q", stderr)
	}
}

func TestConfigFileNamedByTheEnvironmentMustExist(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	for _, tt := range []struct {
		path     string
		wantExit int
	}{
		{path: filepath.Join(t.TempDir(), "missing.yaml"), wantExit: ExitUsage},
		{path: os.DevNull, wantExit: ExitOK},
	} {
		f := &Factory{IOStreams: ios, Getenv: func(k string) string {
			if k == "CVMTAIL_CONFIG" {
				return tt.path
			}
			return ""
		}}
		_, err := LoadConfig(f)
		if ExitCode(err) != tt.wantExit {
			t.Errorf("CVMTAIL_CONFIG=%s: err %v, want exit %d", tt.path, err, tt.wantExit)
		}
	}
}
