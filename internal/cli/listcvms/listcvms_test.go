package listcvms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
	"github.com/cvmtail/cvmtail/internal/targets"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestFlags(t *testing.T) {
	tests := []struct {
		args     string
		want     Options
		wantExit int
	}{
		{args: "", want: Options{Output: "table"}},
		{args: "-o wide --prism pc --cluster a --cluster b", want: Options{Output: "wide",
			Targets: targets.Options{TargetOptions: cmdutil.TargetOptions{Prism: "pc", Clusters: []string{"a", "b"}}}}},
		{args: "--output json --cvm 10.0.0.1,10.0.0.2 --cvm x", want: Options{Output: "json",
			Targets: targets.Options{TargetOptions: cmdutil.TargetOptions{CVMs: []string{"10.0.0.1", "10.0.0.2", "x"}}}}},
		{args: "-o address --username ops --password-file pw --insecure --ca-cert ca.pem --refresh", want: Options{Output: "address",
			Targets: targets.Options{TargetOptions: cmdutil.TargetOptions{Username: "ops", PasswordFile: "pw", Insecure: true, CACert: "ca.pem", Refresh: true}}}},
		{args: "-o yaml", wantExit: cmdutil.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *Options
			cmd := NewCmdListCVMs(f, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantExit != 0 {
				if err == nil || got != nil {
					t.Fatalf("err = %v, runF called = %v; want an error before runF", err, got != nil)
				}
				if cmdutil.ExitCode(err) != tt.wantExit {
					t.Errorf("exit %d, want %d", cmdutil.ExitCode(err), tt.wantExit)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.IO != ios || got.ListCVMs == nil {
				t.Error("options lack their IO or resolver")
			}
			got.IO, got.ListCVMs = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options = %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

var sample = []targets.Target{
	{Name: "NTNX-21AB0001-A-CVM", RawName: "NTNX-21AB0001-A-CVM", NameSource: "host", Address: "10.20.1.31",
		Cluster: "alpha-pe01", ClusterUUID: "00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01", Host: "NTNX-21AB0001-A",
		HostType: "HYPER_CONVERGED", HypervisorAddress: "10.20.1.21", State: "normal", NodeStatus: "NORMAL",
		HypervisorState: "ACROPOLIS_NORMAL", ConnectionState: "CONNECTED", MaintenanceState: "normal"},
	{Name: "NTNX-21AB0001-B-CVM", RawName: "NTNX-21AB0001-B-CVM", NameSource: "prism", Address: "10.20.1.32",
		Cluster: "alpha-pe01", ClusterUUID: "00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01", Host: "esx02.corp",
		HostType: "STORAGE_ONLY", HypervisorAddress: "10.20.1.22", NATAddress: "203.0.113.5", NATPort: 2202,
		State: "maintenance", InMaintenance: true, HostInMaintenance: true, NodeStatus: "NORMAL",
		HypervisorState: "ENTERED_MAINTENANCE_MODE", ConnectionState: "CONNECTED", MaintenanceState: "normal"},
	{Name: "NTNX-21AB0003-A-CVM@bravo-pe02", RawName: "NTNX-21AB0003-A-CVM", NameSource: "host", Address: "10.20.2.31",
		Cluster: "bravo-pe02", ClusterUUID: "00061b3c-4d5e-6f70-1b2c-3d4e5f6a7b02", Host: "NTNX-21AB0003-A",
		HostType: "HYPER_CONVERGED", State: "being-removed", NodeStatus: "TO_BE_REMOVED"},
}

func runWith(t *testing.T, output string, tty bool, cvms []targets.Target) (string, string) {
	t.Helper()
	ios, _, stdout, stderr := iostreams.Test()
	ios.SetStdoutTTY(tty)
	opts := &Options{IO: ios, Output: output,
		ListCVMs: func(context.Context) ([]targets.Target, error) { return cvms, nil }}
	if err := listRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestOutputFormats(t *testing.T) {
	tests := []struct {
		output string
		tty    bool
		golden string
	}{
		{"table", true, "table-tty.golden"},
		{"table", false, "table-pipe.golden"},
		{"wide", true, "wide-tty.golden"},
		{"wide", false, "wide-pipe.golden"},
		{"json", false, "json.golden"},
		{"json", true, "json.golden"}, // JSON never depends on the terminal
		{"address", false, "address.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, _ := runWith(t, tt.output, tt.tty, sample)
			golden(t, tt.golden, out)
		})
	}
}

func TestTableShape(t *testing.T) {
	out, _ := runWith(t, "table", false, sample)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := len(strings.Split(line, "\t")); n != 5 {
			t.Errorf("pipe line %q has %d tab-separated fields, want 5", line, n)
		}
		if strings.HasPrefix(line, "NAME") {
			t.Error("header line in a pipe")
		}
	}
	out, _ = runWith(t, "table", true, sample)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "NAME") || strings.Contains(out, "\t") {
		t.Errorf("terminal table should start with a header and be aligned with spaces:\n%s", out)
	}
	if strings.Index(lines[0], "ADDRESS") != strings.Index(lines[1], "10.20.1.31") {
		t.Errorf("ADDRESS column not aligned:\n%s", out)
	}
}

func TestJSONShapeAndEmpty(t *testing.T) {
	out, _ := runWith(t, "json", false, sample)
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "address", "cluster", "cluster_uuid", "host", "hypervisor_address", "state"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("JSON object lacks %q", k)
		}
	}
	if out, _ := runWith(t, "json", false, nil); strings.TrimSpace(out) != "[]" {
		t.Errorf("no CVMs as JSON = %q, want []", out)
	}
	if out, errOut := runWith(t, "table", true, nil); out != "" || !strings.Contains(errOut, "no CVM") {
		t.Errorf("no CVMs as a table: stdout %q, stderr %q", out, errOut)
	}
}

func TestControlCharactersStayInTheirField(t *testing.T) {
	evil := []targets.Target{{Name: "a\tb\nc\x1b[31m", Address: "10.0.0.1", State: "normal"}}
	out, _ := runWith(t, "table", false, evil)
	if strings.Count(out, "\n") != 1 || strings.Count(out, "\t") != 4 || strings.Contains(out, "\x1b") {
		t.Errorf("hostile name broke the table: %q", out)
	}
}

// Through the command, against the simulator.
func TestListCVMsAgainstPrism(t *testing.T) {
	srv, _ := prismsim.StartTLS(t, prismsim.New(prismsim.Options{}), "127.0.0.1:0")
	run := func(args ...string) (string, string, error) { return listAgainst(t, srv, args...) }

	out, errOut, err := run("--cluster", "alpha-pe01", "--cluster", "bravo-pe02", "-o", "address")
	if err != nil {
		t.Fatal(err)
	}
	if out != "10.20.1.31\n10.20.1.32\n10.20.1.33\n10.20.2.31\n" {
		t.Errorf("addresses = %q", out)
	}
	if errOut != "cvmtail: skipped 1 compute-only host(s) without a CVM\n" {
		t.Errorf("stderr = %q", errOut)
	}

	out, _, err = run("--cluster", "bravo-pe02", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["name"] != "NTNX-21AB0003-A-CVM" ||
		list[0]["cluster_uuid"] != "00061b3c-4d5e-6f70-1b2c-3d4e5f6a7b02" || list[0]["hypervisor_address"] != "10.20.2.21" {
		t.Errorf("json = %s (%v)", out, err)
	}

	_, _, err = run()
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(cmdutil.HintOf(err), "alpha-pe01, bravo-pe02") {
		t.Errorf("several clusters without --cluster: err = %v, hint %q", err, cmdutil.HintOf(err))
	}
}

func TestListWithoutPrism(t *testing.T) {
	ios, _, stdout, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
	cmd := NewCmdListCVMs(f, nil)
	cmd.SetArgs([]string{"--cvm", "10.1.1.11,10.1.1.12", "-o", "address"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "10.1.1.11\n10.1.1.12\n" {
		t.Errorf("stdout = %q", stdout.String())
	}

	cmd = NewCmdListCVMs(f, nil)
	cmd.SetArgs([]string{})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("neither --prism nor --cvm: err = %v, want a usage error", err)
	}
}

// listAgainst runs list-cvms against a running simulator with args, returning stdout,
// stderr and the error.
func listAgainst(t *testing.T, srv *prismsim.Server, args ...string) (string, string, error) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, stdout, stderr := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Now: func() time.Time { return time.Unix(1790000000, 0) },
		Getenv:   func(k string) string { return map[string]string{"CVMTAIL_PASSWORD": prismsim.DefaultPassword}[k] },
		CacheDir: func() (string, error) { return "", errors.New("no cache in tests") }}
	cmd := NewCmdListCVMs(f, nil)
	cmd.SetArgs(append([]string{"--prism", srv.Addr, "--ca-cert", ca}, args...))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

// Every host state the simulator serves shows the STATE of docs/prism-states.md, in all
// three API families, one host per case in one cluster.
func TestStatesThroughListCVMs(t *testing.T) {
	const u = prism.StateUnknown
	cases := []struct {
		st         prismsim.HostState
		v4, v2, v3 string
	}{
		{prismsim.HostState{}, "normal", "normal", u},
		{prismsim.HostState{CVMMaintenance: true}, "maintenance", "normal", u},
		{prismsim.HostState{HostMaintenance: true}, "host-maintenance", "host-maintenance", u},
		{prismsim.HostState{HypervisorState: "ENTERING_MAINTENANCE_MODE"}, "host-maintenance", "host-maintenance", u},
		{prismsim.HostState{HypervisorState: "ENTERING_MAINTENANCE_MODE_FROM_HA_FAILOVER"}, "host-maintenance", "host-maintenance", u},
		{prismsim.HostState{HypervisorState: "HA_FAILOVER_SOURCE"}, "ha-failover", "ha-failover", u},
		{prismsim.HostState{HypervisorState: "HA_HEALING_TARGET"}, "ha-healing", "ha-healing", u},
		{prismsim.HostState{HypervisorState: "RESERVED_FOR_HA_FAILOVER"}, "ha-reserved", "ha-reserved", u},
		{prismsim.HostState{Disconnected: true}, "host-disconnected", "host-disconnected", u},
		{prismsim.HostState{BeingRemoved: true, CVMMaintenance: true}, "being-removed", "being-removed", u},
		{prismsim.HostState{NodeStatus: "NEW_NODE"}, "new", "new", u},
		{prismsim.HostState{NodeStatus: "PREPROTECTED"}, "preprotected", "preprotected", u},
		{prismsim.HostState{NodeStatus: "$UNKNOWN"}, u, u, u},
		{prismsim.HostState{HypervisorState: "HA_SOMETHING_NEW"}, u, u, u},
		{prismsim.HostState{HostType: "STORAGE_ONLY"}, "normal", "normal", u},
		{prismsim.HostState{NATAddress: "203.0.113.5", NATPort: 2201}, "normal", "normal", u},
	}
	// Two hosts more: a compute-only one (left out, counted) and a hyperconverged one
	// without a CVM address (left out, named).
	computeOnly, noAddress := len(cases), len(cases)+1
	for _, fam := range []struct {
		name string
		opts prismsim.Options
	}{
		{"v4", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4}},
		{"v3", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V3}},
		{"v2", prismsim.Options{Mode: prismsim.PE}},
	} {
		t.Run(fam.name, func(t *testing.T) {
			fam.opts.Generate = &prismsim.Generate{Clusters: 1, CVMs: len(cases) + 2}
			sim := prismsim.New(fam.opts)
			for i, c := range cases {
				sim.SetHostState(prismsim.HostName(0, i), c.st)
			}
			sim.SetHostState(prismsim.HostName(0, computeOnly), prismsim.HostState{HostType: "COMPUTE_ONLY"})
			sim.SetHostState(prismsim.HostName(0, noAddress), prismsim.HostState{NoCVMAddress: true})
			srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")

			out, errOut, err := listAgainst(t, srv, "-o", "json")
			if err != nil {
				t.Fatalf("list-cvms: %v\n%s", err, errOut)
			}
			var list []map[string]any
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, c := range list {
				got[c["host"].(string)] = c
			}
			if len(list) != len(cases) {
				t.Errorf("%d CVMs listed, want %d", len(list), len(cases))
			}
			for i, c := range cases {
				want := map[string]string{"v4": c.v4, "v2": c.v2, "v3": c.v3}[fam.name]
				cvm := got[prismsim.HostName(0, i)]
				if cvm == nil {
					t.Errorf("case %d (%+v): not listed", i, c.st)
					continue
				}
				if cvm["state"] != want {
					t.Errorf("case %d (%+v): state %v, want %s", i, c.st, cvm["state"], want)
				}
				if c.st.HostType != "" && cvm["host_type"] != c.st.HostType {
					t.Errorf("case %d: host_type %v", i, cvm["host_type"])
				}
				if c.st.NATAddress != "" && (cvm["nat_address"] != c.st.NATAddress || cvm["nat_port"] != float64(c.st.NATPort)) {
					t.Errorf("case %d: nat %v:%v", i, cvm["nat_address"], cvm["nat_port"])
				}
			}
			if got[prismsim.HostName(0, computeOnly)] != nil || got[prismsim.HostName(0, noAddress)] != nil {
				t.Error("a host without a CVM was listed")
			}
			for _, line := range []string{
				"cvmtail: skipped 1 compute-only host(s) without a CVM\n",
				"cvmtail: cluster cluster-01: host " + prismsim.HostName(0, noAddress) + ": HYPER_CONVERGED host without a CVM address in Prism: skipped\n",
			} {
				if !strings.Contains(errOut, line) {
					t.Errorf("stderr lacks %q:\n%s", line, errOut)
				}
			}

			// The table shows the same STATE.
			out, _, err = listAgainst(t, srv)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != 5 || got[f[3]] == nil || got[f[3]]["state"] != f[4] {
					t.Errorf("table line %q disagrees with the JSON", line)
				}
			}
		})
	}
}

func TestUnavailableAndFailingClusters(t *testing.T) {
	sim := prismsim.New(prismsim.Options{Fail: map[string][]int{
		"/api/clustermgmt/v4.0/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01/hosts": {500, 500}}})
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")

	// alpha's hosts fail: bravo is still listed, the failure is said, and the exit is 1.
	out, errOut, err := listAgainst(t, srv, "--cluster", "alpha-pe01", "--cluster", "bravo-pe02", "-o", "address")
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial || out != "10.20.2.31\n" {
		t.Errorf("one failing cluster: exit %d, stdout %q; want 1 and bravo's CVM", cmdutil.ExitCode(err), out)
	}
	if !strings.Contains(errOut, "cvmtail: cluster alpha-pe01: its CVMs are left out: prism ") || !strings.Contains(errOut, "status 500") {
		t.Errorf("stderr = %q, want alpha's failure", errOut)
	}
	// Only the failing cluster: nothing could be done.
	_, _, err = listAgainst(t, srv, "--cluster", "alpha-pe01")
	if cmdutil.ExitCode(err) != cmdutil.ExitNothingDone {
		t.Errorf("only a failing cluster: exit %d, want 3", cmdutil.ExitCode(err))
	}

	sim.SetClusterAvailable("bravo-pe02", false)
	out, errOut, err = listAgainst(t, srv, "--cluster", "alpha-pe01", "--cluster", "bravo-pe02", "-o", "address")
	if err != nil || out != "10.20.1.31\n10.20.1.32\n10.20.1.33\n" {
		t.Errorf("unavailable bravo: err %v, stdout %q; want alpha's CVMs", err, out)
	}
	if !strings.Contains(errOut, "cvmtail: cluster bravo-pe02 is not available in Prism Central: its CVMs are left out\n"+
		"cvmtail: hint: ask the cluster's own Prism Element: --prism 10.20.2.10\n") {
		t.Errorf("stderr = %q, want bravo reported with a hint", errOut)
	}
	_, _, err = listAgainst(t, srv, "--cluster", "bravo-pe02")
	if cmdutil.ExitCode(err) != cmdutil.ExitNothingDone || !strings.Contains(cmdutil.HintOf(err), "--prism 10.20.2.10") {
		t.Errorf("only an unavailable cluster: exit %d, hint %q; want 3 and the VIP", cmdutil.ExitCode(err), cmdutil.HintOf(err))
	}
}

// `for ip in $(cvmtail list-cvms -o address); do ssh $ip ...` never gets a hostile address.
func TestAddressOutputNeverCarriesAHostileAddress(t *testing.T) {
	sim := prismsim.New(prismsim.Options{})
	sim.SetHostState("NTNX-21AB0001-B", prismsim.HostState{CVMAddress: "-oProxyCommand=sh -c reboot"})
	sim.SetHostState("NTNX-21AB0001-C", prismsim.HostState{CVMAddress: "10.0.0.1\x1b]52;c;SGk=\x07"})
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")
	out, errOut, err := listAgainst(t, srv, "--cluster", "alpha-pe01", "-o", "address")
	if err != nil || out != "10.20.1.31\n" {
		t.Errorf("stdout %q (%v), want only the good address", out, err)
	}
	for _, want := range []string{
		`cvmtail: cluster alpha-pe01: host NTNX-21AB0001-B: CVM address "-oProxyCommand=sh -c reboot" is not an IP address or host name: skipped`,
		`cvmtail: cluster alpha-pe01: host NTNX-21AB0001-C: CVM address "10.0.0.1\x1b]52;c;SGk=\a" is not an IP address or host name: skipped`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %s:\n%s", want, errOut)
		}
	}
	if strings.ContainsAny(errOut, "\x1b\x07") {
		t.Errorf("stderr carries raw control bytes: %q", errOut)
	}
}
