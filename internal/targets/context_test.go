package targets

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
)

// recordingPrism is an HTTPS server that answers 401 to everything and keeps the
// Authorization headers it was sent: what a host typed by mistake (or a hostile one) learns.
type recordingPrism struct {
	srv  *httptest.Server
	mu   sync.Mutex
	auth []string
}

func newRecordingPrism(t *testing.T) *recordingPrism {
	r := &recordingPrism{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recordingPrism) addr() string { return strings.TrimPrefix(r.srv.URL, "https://") }

func (r *recordingPrism) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// prodContext is a saved context for a Prism that is not the recording one, with everything
// that must not follow the user to another Prism.
const prodContext = `
default: prod
contexts:
  prod:
    prism: pc.example.com
    username: ops
    password: hunter2-prod
    insecure: true
    cluster: prod-01
    cvm: NTNX-A-CVM
    ssh-user: admin2
    identity: ~/.ssh/cvm_key
    host-key-check: "off"
`

type contextRun struct {
	targets *Options
	ssh     *cmdutil.SSHOptions
	stderr  string
	f       *cmdutil.Factory
}

// applyContextFile parses args with a config file holding content and applies its context.
func applyContextFile(t *testing.T, content string, env map[string]string, args ...string) contextRun {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := iostreams.Test()
	f := &cmdutil.Factory{
		IOStreams: ios,
		Getenv: func(k string) string {
			if k == "CVMTAIL_CONFIG" {
				return cfgPath
			}
			return env[k]
		},
		HomeDir: func() (string, error) { return "/home/u", nil },
	}
	var to Options
	var so cmdutil.SSHOptions
	var applyErr error
	cmd := &cobra.Command{Use: "x", RunE: func(cmd *cobra.Command, args []string) error {
		applyErr = cmdutil.ApplyContext(cmd, f, &to.TargetOptions, &so)
		return nil
	}}
	cmd.Flags().StringVar(&f.Context, "context", "", "")
	AddFlags(cmd, &to)
	cmdutil.AddSSHFlags(cmd, &so)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if applyErr != nil {
		t.Fatal(applyErr)
	}
	return contextRun{targets: &to, ssh: &so, stderr: errOut.String(), f: f}
}

func TestContextCredentialsStayWithTheirPrism(t *testing.T) {
	other := newRecordingPrism(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		from string // what named the other Prism, in the note
	}{
		{name: "--prism names another Prism", args: []string{"--prism", other.addr()}, from: "--prism"},
		{name: "CVMTAIL_PRISM names another Prism", env: map[string]string{"CVMTAIL_PRISM": other.addr()}, from: "CVMTAIL_PRISM"},
		{name: "another Prism with the context chosen explicitly", args: []string{"--context", "prod", "--prism", other.addr()}, from: "--prism"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := applyContextFile(t, prodContext, tt.env, tt.args...)
			to, so := r.targets, r.ssh
			if to.Password != "" || to.PasswordFile != "" || to.Username != "" || to.Insecure || to.CACert != "" {
				t.Errorf("the context's credentials or TLS settings were applied for another Prism: %+v", to)
			}
			if len(to.Clusters) != 0 || len(to.CVMs) != 0 {
				t.Errorf("the context's clusters or CVMs followed to another Prism: %+v", to)
			}
			if so.HostKeyCheck != "" {
				t.Errorf("host-key-check %q of the context applied to another Prism's CVMs", so.HostKeyCheck)
			}
			if so.User != "admin2" || len(so.Identities) != 1 {
				t.Errorf("SSH user and keys should still apply: %+v", so)
			}
			if !strings.Contains(r.stderr, "cvmtail: "+tt.from+" "+other.addr()+" is not context prod's prism pc.example.com: not using the context's username, password, TLS settings, clusters, host-key-check\n") {
				t.Errorf("stderr %q does not say what was left out", r.stderr)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", r.stderr)
			}

			// And what the other Prism gets: nothing of prod's. No password is known for it and
			// stdin is not a terminal, so nothing is sent at all.
			_, err := Resolve(context.Background(), r.f, to)
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "no Prism password") {
				t.Errorf("err = %v, want the usual no-password usage error", err)
			}
			for _, a := range other.requests() {
				if a != "" {
					t.Errorf("the other Prism received credentials %q", a)
				}
			}
		})
	}
}

func TestContextAppliesToItsOwnPrismHoweverSpelt(t *testing.T) {
	for _, args := range [][]string{nil, {"--prism", "pc.example.com:9440"}, {"--prism", "https://PC.example.com"}} {
		r := applyContextFile(t, prodContext, nil, args...)
		if r.targets.Password != "hunter2-prod" || r.targets.Username != "ops" || !r.targets.Insecure ||
			strings.Join(r.targets.Clusters, ",") != "prod-01" || r.ssh.HostKeyCheck != "off" {
			t.Errorf("%v: the context's own Prism should get all of it: %+v %+v", args, r.targets, r.ssh)
		}
		if r.stderr != "" {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
	}
}

func TestPrismlessContextHostKeyCheckStaysWithItsCVMs(t *testing.T) {
	const lab = "default: lab\ncontexts:\n  lab:\n    cvm: 127.0.0.11\n    host-key-check: accept-new\n    ssh-port: 2222\n"
	r := applyContextFile(t, lab, nil)
	if r.ssh.HostKeyCheck != "accept-new" || strings.Join(r.targets.CVMs, ",") != "127.0.0.11" {
		t.Errorf("the context's own CVMs: %+v %+v", r.targets, r.ssh)
	}
	r = applyContextFile(t, lab, nil, "--cvm", "127.0.0.99")
	if r.ssh.HostKeyCheck != "" || r.ssh.Port != 2222 || strings.Join(r.targets.CVMs, ",") != "127.0.0.99" {
		t.Errorf("other CVMs by --cvm must not get the context's host-key-check: %+v %+v", r.targets, r.ssh)
	}
}

func TestNoCVMHintsAtTheContextsNotChosen(t *testing.T) {
	r := applyContextFile(t, "contexts:\n  prod:\n    prism: pc.example.com\n  lab:\n    cvm: 127.0.0.11\n", nil)
	_, err := Resolve(context.Background(), r.f, r.targets)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(cmdutil.HintOf(err), "--context NAME (lab, prod;") {
		t.Errorf("err %v, hint %q: want the contexts named", err, cmdutil.HintOf(err))
	}
}

func TestEnvironmentOverridingAChosenContextIsSaid(t *testing.T) {
	const cfg = "contexts:\n  prod:\n    prism: pc.example.com\n    username: ops\n"
	r := applyContextFile(t, "contexts:\n  prod:\n    prism: pc.example.com\n", map[string]string{"CVMTAIL_PRISM": "127.0.0.1"}, "--context", "prod")
	if !strings.Contains(r.stderr, "cvmtail: CVMTAIL_PRISM overrides context prod's setting\n") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = applyContextFile(t, cfg, map[string]string{"CVMTAIL_USERNAME": "other"}, "--context", "prod")
	if !strings.Contains(r.stderr, "cvmtail: CVMTAIL_USERNAME overrides context prod's setting\n") {
		t.Errorf("stderr %q", r.stderr)
	}
}
