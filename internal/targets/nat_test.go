package targets

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/sshx"
	"github.com/cvmtail/cvmtail/internal/sshx/sshxtest"
)

const natContext = `
default: dmz
contexts:
  dmz:
    prism: pc.example.com
    use-nat: true
`

func TestUseNATFromContext(t *testing.T) {
	if r := applyContextFile(t, natContext, nil); !r.ssh.UseNAT {
		t.Error("use-nat: true in the context did not set --use-nat")
	}
	if r := applyContextFile(t, natContext, nil, "--use-nat=false"); r.ssh.UseNAT {
		t.Error("--use-nat=false lost to the context")
	}
	r := applyContextFile(t, natContext, nil, "--prism", "other.example.com")
	if r.ssh.UseNAT || !strings.Contains(r.stderr, "not using the context's use-nat") {
		t.Errorf("another Prism's CVMs got the context's use-nat: %v, stderr %q", r.ssh.UseNAT, r.stderr)
	}
}

func TestUseNATPointsTargetsAtNAT(t *testing.T) {
	ios, _, _, stderr := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	in := []Target{
		{Name: "a", Address: "10.0.0.1", NATAddress: "203.0.113.5", NATPort: 2201},
		{Name: "b", Address: "10.0.0.2", NATAddress: "fd00::5", NATPort: 2202},
		{Name: "c", Address: "10.0.0.3", NATAddress: "203.0.113.6"},
		{Name: "d", Address: "10.0.0.4"},
	}
	got := UseNAT(f, in)
	var addrs []string
	for _, t := range got {
		addrs = append(addrs, t.Address)
	}
	if want := []string{"203.0.113.5:2201", "[fd00::5]:2202", "203.0.113.6", "10.0.0.4"}; !reflect.DeepEqual(addrs, want) {
		t.Errorf("addresses = %q, want %q", addrs, want)
	}
	if got[0].Name != "a" || in[0].Address != "10.0.0.1" {
		t.Error("UseNAT changed a name, or its input")
	}
	if stderr.String() != "cvmtail: warning: d: --use-nat: no NAT address in Prism: connecting to its own address\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
	stderr.Reset()
	UseNAT(f, in[3:])
	if !strings.Contains(stderr.String(), "no CVM has a NAT address in Prism") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("no NAT anywhere: stderr = %q, want one line", stderr.String())
	}
}

// --use-nat from Prism to the SSH dialer: the CVM's NAT port, not --ssh-port, is dialled.
func TestUseNATReachesTheDialer(t *testing.T) {
	home := t.TempDir()
	key := sshxtest.WriteKey(t, filepath.Join(home, "id"), "")
	srv := sshxtest.Start(t, sshxtest.Config{User: "nutanix", AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
	config := filepath.Join(home, "ssh_config")
	if err := os.WriteFile(config, []byte("Host *\n  Port 2\n"), 0o600); err != nil { // nothing listens there
		t.Fatal(err)
	}
	known := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(known, []byte(srv.KnownHostsLine(srv.HostKeys[0].PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	e := newPrismEnv(t, prismsim.Options{})
	e.sim.SetHostState("NTNX-21AB0003-A", prismsim.HostState{NATAddress: "127.0.0.1", NATPort: srv.Port})
	targets, err := Resolve(context.Background(), e.f, e.opts(clusters("bravo-pe02")))
	if err != nil {
		t.Fatal(err)
	}
	targets = UseNAT(e.f, targets)
	if len(targets) != 1 || targets[0].Name != "NTNX-21AB0003-A-CVM" {
		t.Fatalf("targets = %+v", targets)
	}

	d, err := sshx.NewDialer(sshx.Options{User: "nutanix", Port: 1, IdentityFiles: []string{filepath.Join(home, "id")},
		KnownHostsFile: known, HomeDir: home, ConfigFile: config, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cmdutil.DialSSH(d)(context.Background(), targets[0].Address)
	if err != nil {
		t.Fatalf("dial %s: %v", targets[0].Address, err)
	}
	_ = c.Close()
	// The server records the login in its own goroutine, a moment after the client is in.
	for deadline := time.Now().Add(5 * time.Second); len(srv.Logins()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if len(srv.Logins()) != 1 {
		t.Errorf("%d logins on the NAT port, want 1", len(srv.Logins()))
	}
}
