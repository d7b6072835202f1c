package tail

import (
	"context"
	"testing"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
)

// With --use-nat the CVM found through Prism is dialled at its NAT address and port, under
// its own name.
func TestRunUseNATDialsTheNATAddress(t *testing.T) {
	sim := prismsim.New(prismsim.Options{})
	sim.SetHostState("NTNX-21AB0003-A", prismsim.HostState{NATAddress: "127.0.0.1", NATPort: 2202})
	o, out, errOut := prismOptions(t, sim, "bravo-pe02")
	o.SSH.UseNAT = true
	var dialled []string
	local := &tailertest.Local{}
	o.Dial = tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		dialled = append(dialled, addr)
		return local.Dialer().Dial(ctx, addr)
	})
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	if err := tailRun(context.Background(), o); err != nil {
		t.Fatalf("tail: %v\n%s", err, errOut)
	}
	if len(dialled) != 1 || dialled[0] != "127.0.0.1:2202" {
		t.Errorf("dialled %q, want the NAT address and port", dialled)
	}
	if out.String() != "NTNX-21AB0003-A-CVM svc.out one\n" {
		t.Errorf("stdout %q", out.String())
	}
}
