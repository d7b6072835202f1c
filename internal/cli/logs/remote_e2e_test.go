//go:build linux

package logs

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

// TestRemoteAgainstSSHD lists real OpenSSH CVMs on loopback, plus one address where
// nothing listens: the listing of the others must come through, the dead one reported.
func TestRemoteAgainstSSHD(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd")
	}
	cl := sshdcvm.Start(t, sshdcvm.Options{N: 2})
	cvm0, cvm1 := cl.CVMs[0], cl.CVMs[1]
	glogFile := "stargate.ntnx-1-cvm.nutanix.log.INFO.20261122-070000.3103"
	cvm0.Write(t, "genesis.out", "started\n")
	glogLine := "I1122 07:00:00.000000 3103 main.cc:1] hello\n"
	cvm0.Write(t, glogFile, glogLine)
	cvm0.Write(t, "a name; with $(spaces).out", "x")
	cvm0.Write(t, "cassandra/system.log", "INFO  cassandra\n")
	if err := os.Symlink(glogFile, cvm0.Path("stargate.INFO")); err != nil {
		t.Fatal(err)
	}
	cvm1.Write(t, "genesis.out", "other\n")
	// Root's and unreadable by the SSH user: listed all the same, with its size (stat needs
	// only the directory); reading it is tail's business.
	if err := os.WriteFile(cvm1.Path("secret.out"), []byte("top secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	const dead = "127.0.0.9" // loopback, and no sshd of the cluster listens there
	f, out, errOut := newTestFactory()
	cmd := NewCmdLogs(f, nil)
	args := append([]string{"--remote", "-o", "json", "--connect-timeout", "5s"}, cl.Args()...)
	args = append(args, "--cvm", dead)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()

	var pe *cmdutil.PartialError
	if !errors.As(err, &pe) || pe.Failed != 1 {
		t.Fatalf("got %v, want a PartialError for the dead CVM\nstderr: %s", err, errOut)
	}
	if !strings.HasPrefix(errOut.String(), "cvmtail: "+dead+": ") || strings.Contains(errOut.String(), cvm0.Addr) {
		t.Errorf("stderr %q: want only the dead CVM reported, named first", errOut)
	}

	var got []remoteJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	byKey := map[string]remoteJSON{}
	for _, g := range got {
		byKey[g.Address+" "+g.Name] = g
	}
	for _, want := range []remoteJSON{
		{CVM: cvm0.Addr, Address: cvm0.Addr, Name: "genesis.out", Path: "/home/nutanix/data/logs/genesis.out", Size: 8},
		{CVM: cvm0.Addr, Address: cvm0.Addr, Name: "stargate.INFO", Path: "/home/nutanix/data/logs/stargate.INFO", Size: int64(len(glogLine)), Target: glogFile},
		{CVM: cvm0.Addr, Address: cvm0.Addr, Name: glogFile, Path: "/home/nutanix/data/logs/" + glogFile, Size: int64(len(glogLine))},
		{CVM: cvm0.Addr, Address: cvm0.Addr, Name: "a name; with $(spaces).out", Path: "/home/nutanix/data/logs/a name; with $(spaces).out", Size: 1},
		{CVM: cvm0.Addr, Address: cvm0.Addr, Name: "cassandra/system.log", Path: "/home/nutanix/data/logs/cassandra/system.log", Size: 16},
		{CVM: cvm1.Addr, Address: cvm1.Addr, Name: "genesis.out", Path: "/home/nutanix/data/logs/genesis.out", Size: 6},
		{CVM: cvm1.Addr, Address: cvm1.Addr, Name: "secret.out", Path: "/home/nutanix/data/logs/secret.out", Size: 11},
	} {
		g, ok := byKey[want.Address+" "+want.Name]
		if !ok {
			t.Errorf("%s %s not listed; got %+v", want.Address, want.Name, got)
			continue
		}
		if g.Modified == "" || !strings.HasSuffix(g.Modified, "Z") {
			t.Errorf("%s: modified %q, want RFC 3339 UTC", want.Name, g.Modified)
		}
		g.Modified = ""
		if g != want {
			t.Errorf("got  %+v\nwant %+v", g, want)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d files listed, want 7: %+v", len(got), got)
	}
}
