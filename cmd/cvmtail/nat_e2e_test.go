//go:build linux

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// Behind NAT: Prism's CVM addresses lead nowhere, each CVM's NAT address and port lead to
// its sshd. --use-nat follows the NAT port even with another --ssh-port given.
func TestPrismUseNAT(t *testing.T) {
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 3})
	for _, c := range cl.CVMs {
		c.Write(t, "genesis.out", "hello from "+c.Addr+"\n")
	}
	sim := prismsim.New(prismsim.Options{Mode: prismsim.PC, RewriteAddress: func(string) string { return "127.0.0.254" }})
	for i, host := range []string{"NTNX-21AB0001-A", "NTNX-21AB0001-B", "NTNX-21AB0001-C"} {
		sim.SetHostState(host, prismsim.HostState{NATAddress: cl.CVMs[i].Addr, NATPort: cl.Port})
	}
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(ca, srv.CAPEM, 0o644))

	args := sshArgs(cl)
	for i := range args {
		if args[i] == "--ssh-port" {
			args[i+1] = "1" // nothing listens there: only the NAT port works
		}
	}
	r := startEnv(t, prismEnv, append([]string{"tail", "genesis", "--no-follow", "--use-nat", "--connect-timeout", "3s",
		"--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01"}, args...)...)
	if code := r.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr())
	}
	out := strings.Join(r.Lines(), "")
	for i, c := range cl.CVMs {
		want := "NTNX-21AB0001-" + string(rune('A'+i)) + "-CVM genesis hello from " + c.Addr + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}

	// -o wide shows where --use-nat goes.
	r = startEnv(t, prismEnv, "list-cvms", "--prism", srv.Addr, "--ca-cert", ca, "--cluster", "alpha-pe01", "-o", "wide")
	if code := r.Wait(20 * time.Second); code != 0 || !strings.Contains(strings.Join(r.Lines(), ""), cl.CVMs[0].Addr+":") {
		t.Errorf("exit %d, list-cvms -o wide without the NAT address:\n%s", code, strings.Join(r.Lines(), ""))
	}
}
