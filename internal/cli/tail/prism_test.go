package tail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/targets"
)

// prismOptions are tail's options for one local file, svc.out holding "one", on the CVMs
// of the clusters that sim's Prism lists, reached with its CA and password.
func prismOptions(t *testing.T, sim *prismsim.Sim, clusters ...string) (o *Options, out, errOut *bytes.Buffer) {
	t.Helper()
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	p := filepath.Join(dir, "svc.out")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, errOut := testFactory()
	f.Getenv = func(k string) string { return map[string]string{"CVMTAIL_PASSWORD": prismsim.DefaultPassword}[k] }
	o = newOptions(f, []string{p})
	o.Targets = targets.Options{TargetOptions: cmdutil.TargetOptions{Prism: srv.Addr, CACert: ca, Clusters: clusters}}
	return o, out, errOut
}

// A cluster whose CVMs Prism could not list was never followed: the others' lines come,
// and the run ends with exit status 1, as when a CVM fails for good.
func TestRunClusterPrismCouldNotListIsStatus1(t *testing.T) {
	sim := prismsim.New(prismsim.Options{Fail: map[string][]int{
		"/api/clustermgmt/v4.0/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01/hosts": {500, 500}}})
	o, out, errOut := prismOptions(t, sim, "alpha-pe01", "bravo-pe02")
	o.Dial = (&tailertest.Local{}).Dialer()
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	err := tailRun(context.Background(), o)
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Errorf("exit %d (%v), want 1\n%s", cmdutil.ExitCode(err), err, errOut)
	}
	if out.String() != "NTNX-21AB0003-A-CVM svc.out one\n" {
		t.Errorf("stdout %q, want bravo's CVM's line", out.String())
	}
	if !strings.Contains(errOut.String(), "cvmtail: cluster alpha-pe01: its CVMs are left out") {
		t.Errorf("stderr %q, want alpha's failure said", errOut.String())
	}
}
