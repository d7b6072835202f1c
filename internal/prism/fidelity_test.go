package prism_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

// The three API families, each as the simulator serves it.
var families = []struct {
	name string
	opts prismsim.Options
}{
	{"v4", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4}},
	{"v3", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V3}},
	{"v2", prismsim.Options{Mode: prismsim.PE}},
}

// alphaCVM lists alpha-pe01 with host B in state st and returns B's CVM (nil: not listed).
func alphaCVM(t *testing.T, opts prismsim.Options, st prismsim.HostState) (*prism.CVM, *prism.Inventory) {
	t.Helper()
	sim, c := start(t, opts, nil)
	sim.SetHostState("NTNX-21AB0001-B", st)
	inv, err := c.Inventory(context.Background(), []string{"alpha-pe01"})
	if err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	for i, cvm := range inv.CVMs {
		if cvm.Host == "NTNX-21AB0001-B" || (st.Rename != "" && cvm.Host == st.Rename) {
			return &inv.CVMs[i], inv
		}
	}
	return nil, inv
}

// Each state the simulator can put a host in shows as the STATE of docs/prism-states.md,
// in all three families; v2 has no CVM maintenance and no maintenanceState, v3 no state.
func TestStatesPerAPIFamily(t *testing.T) {
	const u = prism.StateUnknown
	tests := []struct {
		name       string
		st         prismsim.HostState
		v4, v2, v3 string
	}{
		{"normal", prismsim.HostState{}, "normal", "normal", u},
		{"cvm in maintenance", prismsim.HostState{CVMMaintenance: true}, "maintenance", "normal", u},
		{"host in maintenance", prismsim.HostState{HostMaintenance: true}, "host-maintenance", "host-maintenance", u},
		{"host entering maintenance", prismsim.HostState{HypervisorState: "ENTERING_MAINTENANCE_MODE"}, "host-maintenance", "host-maintenance", u},
		{"host entering maintenance from ha failover", prismsim.HostState{HypervisorState: "ENTERING_MAINTENANCE_MODE_FROM_HA_FAILOVER"},
			"host-maintenance", "host-maintenance", u},
		{"host maintenance state", prismsim.HostState{MaintenanceState: "entered_maintenance_mode"}, "host-maintenance", "normal", u},
		{"cvm and host in maintenance", prismsim.HostState{CVMMaintenance: true, HostMaintenance: true}, "maintenance", "host-maintenance", u},
		{"ha failover source", prismsim.HostState{HypervisorState: "HA_FAILOVER_SOURCE"}, "ha-failover", "ha-failover", u},
		{"ha failover target", prismsim.HostState{HypervisorState: "HA_FAILOVER_TARGET"}, "ha-failover", "ha-failover", u},
		{"ha healing source", prismsim.HostState{HypervisorState: "HA_HEALING_SOURCE"}, "ha-healing", "ha-healing", u},
		{"ha healing target", prismsim.HostState{HypervisorState: "HA_HEALING_TARGET"}, "ha-healing", "ha-healing", u},
		{"reserved for ha failover", prismsim.HostState{HypervisorState: "RESERVED_FOR_HA_FAILOVER"}, "ha-reserved", "ha-reserved", u},
		{"reserving for ha failover", prismsim.HostState{HypervisorState: "RESERVING_FOR_HA_FAILOVER"}, "ha-reserved", "ha-reserved", u},
		{"hypervisor disconnected", prismsim.HostState{Disconnected: true}, "host-disconnected", "host-disconnected", u},
		{"hypervisor state unknown", prismsim.HostState{HypervisorState: "$UNKNOWN"}, u, u, u},
		{"hypervisor state redacted", prismsim.HostState{HypervisorState: "$REDACTED"}, u, u, u},
		{"hypervisor state newer than this version", prismsim.HostState{HypervisorState: "HA_SOMETHING_NEW"}, u, u, u},
		{"being removed", prismsim.HostState{BeingRemoved: true}, "being-removed", "being-removed", u},
		{"ok to be removed", prismsim.HostState{NodeStatus: "OK_TO_BE_REMOVED"}, "being-removed", "being-removed", u},
		{"being removed while in maintenance", prismsim.HostState{BeingRemoved: true, CVMMaintenance: true, HostMaintenance: true},
			"being-removed", "being-removed", u},
		{"new node", prismsim.HostState{NodeStatus: "NEW_NODE"}, "new", "new", u},
		{"to be preprotected", prismsim.HostState{NodeStatus: "TO_BE_PREPROTECTED"}, "preprotected", "preprotected", u},
		{"preprotected", prismsim.HostState{NodeStatus: "PREPROTECTED"}, "preprotected", "preprotected", u},
		{"node status unknown", prismsim.HostState{NodeStatus: "$UNKNOWN"}, u, u, u},
		{"node status redacted", prismsim.HostState{NodeStatus: "$REDACTED"}, u, u, u},
	}
	for _, tt := range tests {
		for _, fam := range families {
			t.Run(tt.name+"/"+fam.name, func(t *testing.T) {
				want := map[string]string{"v4": tt.v4, "v2": tt.v2, "v3": tt.v3}[fam.name]
				cvm, _ := alphaCVM(t, fam.opts, tt.st)
				if cvm == nil {
					t.Fatal("host B's CVM is not listed: a CVM in any state is")
				}
				if cvm.State != want {
					t.Errorf("State = %q, want %q (node %q, hypervisor %q, connection %q, maintenance %q)",
						cvm.State, want, cvm.NodeStatus, cvm.HypervisorState, cvm.ConnectionState, cvm.MaintenanceState)
				}
				if !slices.Contains(prism.States, cvm.State) {
					t.Errorf("State %q is not one of the documented states %v", cvm.State, prism.States)
				}
				if fam.name == "v4" {
					if cvm.InMaintenance != tt.st.CVMMaintenance {
						t.Errorf("InMaintenance = %v, want the CVM's own mode %v", cvm.InMaintenance, tt.st.CVMMaintenance)
					}
					if tt.st.NodeStatus != "" && cvm.NodeStatus != tt.st.NodeStatus {
						t.Errorf("NodeStatus = %q, want the raw %q", cvm.NodeStatus, tt.st.NodeStatus)
					}
					if tt.st.HypervisorState != "" && cvm.HypervisorState != tt.st.HypervisorState {
						t.Errorf("HypervisorState = %q, want the raw %q", cvm.HypervisorState, tt.st.HypervisorState)
					}
				}
				if fam.name != "v3" && tt.st.HostMaintenance && !cvm.HostInMaintenance {
					t.Error("HostInMaintenance = false for a host in maintenance")
				}
			})
		}
	}
}

// Compute-only is told by the host type, never by a missing address.
func TestHostTypes(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			t.Run("storage-only host is listed", func(t *testing.T) {
				cvm, inv := alphaCVM(t, fam.opts, prismsim.HostState{HostType: "STORAGE_ONLY"})
				if cvm == nil || cvm.HostType != "STORAGE_ONLY" || cvm.Address != "10.20.1.32" {
					t.Fatalf("storage-only host's CVM = %+v, want it listed with its type", cvm)
				}
				if !reflect.DeepEqual(inv.ComputeOnly, []string{"NTNX-21AB0002-A"}) {
					t.Errorf("ComputeOnly = %v", inv.ComputeOnly)
				}
			})
			t.Run("compute-only host with an address is still compute-only", func(t *testing.T) {
				cvm, inv := alphaCVM(t, fam.opts, prismsim.HostState{HostType: "COMPUTE_ONLY"})
				if cvm != nil {
					t.Errorf("a COMPUTE_ONLY host was listed: %+v", cvm)
				}
				if !reflect.DeepEqual(inv.ComputeOnly, []string{"NTNX-21AB0001-B", "NTNX-21AB0002-A"}) &&
					!reflect.DeepEqual(inv.ComputeOnly, []string{"NTNX-21AB0002-A", "NTNX-21AB0001-B"}) {
					t.Errorf("ComputeOnly = %v, want both compute-only hosts", inv.ComputeOnly)
				}
			})
			t.Run("hyperconverged host without a CVM address is reported", func(t *testing.T) {
				cvm, inv := alphaCVM(t, fam.opts, prismsim.HostState{NoCVMAddress: true})
				if cvm != nil {
					t.Errorf("listed without an address: %+v", cvm)
				}
				if !reflect.DeepEqual(inv.ComputeOnly, []string{"NTNX-21AB0002-A"}) {
					t.Errorf("ComputeOnly = %v: a hyperconverged host is not compute-only", inv.ComputeOnly)
				}
				if !noticed(inv, "cluster alpha-pe01: host NTNX-21AB0001-B", "HYPER_CONVERGED", "without a CVM address", "skipped") {
					t.Errorf("notices %v should name the host skipped", inv.Notices)
				}
			})
		})
	}
}

func TestNATAddresses(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			cvm, inv := alphaCVM(t, fam.opts, prismsim.HostState{NATAddress: "203.0.113.7", NATPort: 2202})
			if cvm == nil || cvm.NATAddress != "203.0.113.7" || cvm.NATPort != 2202 || cvm.Address != "10.20.1.32" {
				t.Fatalf("CVM = %+v, want NAT 203.0.113.7:2202 beside its own address", cvm)
			}
			for _, other := range inv.CVMs {
				if other.Host != "NTNX-21AB0001-B" && (other.NATAddress != "" || other.NATPort != 0) {
					t.Errorf("%s has a NAT address it was not given: %+v", other.Host, other)
				}
			}
			cvm, inv = alphaCVM(t, fam.opts, prismsim.HostState{NATAddress: "203.0.113.7;reboot", NATPort: 2202})
			if cvm == nil || cvm.NATAddress != "" {
				t.Fatalf("CVM = %+v: a bad NAT address must not be used (and the CVM still listed)", cvm)
			}
			if !noticed(inv, "host NTNX-21AB0001-B", `NAT address "203.0.113.7;reboot"`, "not used") {
				t.Errorf("notices %v should report the bad NAT address", inv.Notices)
			}
		})
	}
}

// A renamed host keeps its CVM's own name where v4.3's /cvms is served; elsewhere the name
// is derived from the host name.
func TestCVMNames(t *testing.T) {
	tests := []struct {
		name       string
		opts       prismsim.Options
		want, from string
	}{
		{"v4.3 cvms served", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4, CVMsEndpoint: true}, "NTNX-21AB0001-B-CVM", "prism"},
		{"v4 without cvms", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4}, "esx01.corp-CVM", "host"},
		{"v3", prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V3}, "esx01.corp-CVM", "host"},
		{"v2", prismsim.Options{Mode: prismsim.PE}, "esx01.corp-CVM", "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cvm, inv := alphaCVM(t, tt.opts, prismsim.HostState{Rename: "esx01.corp"})
			if cvm == nil {
				t.Fatal("renamed host's CVM not listed")
			}
			if cvm.Name != tt.want || cvm.NameSource != tt.from || cvm.Host != "esx01.corp" {
				t.Errorf("CVM = %q from %q on host %q; want %q from %q", cvm.Name, cvm.NameSource, cvm.Host, tt.want, tt.from)
			}
			for _, other := range inv.CVMs {
				if other.Host != "esx01.corp" && other.Name != other.Host+"-CVM" {
					t.Errorf("CVM of %s is named %q", other.Host, other.Name)
				}
			}
		})
	}
}

func TestCVMNamesAskedOnceWhenNotServed(t *testing.T) {
	sim, c := start(t, prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4, Generate: &prismsim.Generate{Clusters: 9, CVMs: 1}}, nil)
	if _, err := c.Inventory(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	asked := 0
	for path, n := range sim.Calls() {
		if strings.HasSuffix(path, "/cvms") {
			asked += n
		}
	}
	if asked != 1 {
		t.Errorf("v4.3 cvms asked %d times, want once (not again after its 404)", asked)
	}
}

func TestUnavailableClusterSkipped(t *testing.T) {
	for _, fam := range families[:2] { // v2 is one cluster's own Prism
		t.Run(fam.name, func(t *testing.T) {
			sim, c := start(t, fam.opts, nil)
			sim.SetClusterAvailable("bravo-pe02", false)
			inv, err := c.Inventory(context.Background(), nil)
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			want := v3Rows[:3]
			if fam.name == "v4" {
				want = alphaRows
			}
			if got := rows(inv.CVMs); !reflect.DeepEqual(got, want) {
				t.Errorf("CVMs =\n%v\nwant alpha's only\n%v", got, want)
			}
			if !noticed(inv, "cluster bravo-pe02 is not available in Prism Central", "left out") {
				t.Errorf("notices %v should report bravo", inv.Notices)
			}
			if n := sim.Count("/api/clustermgmt/v4.0/config/clusters/" + bravoUUID + "/hosts"); n != 0 {
				t.Errorf("an unavailable cluster was asked for its hosts %d times", n)
			}

			_, err = c.Inventory(context.Background(), []string{"bravo-pe02"})
			var ue *prism.UnavailableError
			if !errors.As(err, &ue) || len(ue.Clusters) != 1 || ue.Clusters[0].Address != "10.20.2.10" {
				t.Fatalf("only an unavailable cluster: err = %v, want *UnavailableError pointing at its VIP", err)
			}
			checkMessage(t, err)
		})
	}
}

func TestEveryClusterFailingFails(t *testing.T) {
	fail := map[string][]int{v4AlphaHosts: {500}, "/api/clustermgmt/v4.0/config/clusters/" + bravoUUID + "/hosts": {500}}
	_, c := start(t, prismsim.Options{APIs: prismsim.V4, Fail: fail}, nil)
	_, err := c.Inventory(context.Background(), nil)
	var se *prism.ServerError
	if !errors.As(err, &se) || se.Status != 500 || !strings.Contains(err.Error(), v4AlphaHosts) {
		t.Fatalf("err = %v, want the first cluster's 500", err)
	}
}

// Addresses from Prism go to ssh and to users' shell loops: anything but an IP address or a
// plain host name skips the CVM, with one escaped line naming it.
func TestHostileCVMAddresses(t *testing.T) {
	bad := []string{"-oProxyCommand=touch /tmp/x", "10.0.0.1; reboot", "$(reboot)", "a b", "cvm\x1b]52;c;SGk=\x07",
		"0x7f.1", "127.1", "0.0.0.0", "fe80::1%eth0", strings.Repeat("a", 64) + ".example", "x..y", "-cvm", "cvm-"}
	good := []string{"10.20.1.99", "fd00::1", "cvm-b.corp.example.com", "CVM02"}
	for _, fam := range families {
		for _, addr := range bad {
			t.Run(fam.name+"/"+fmt.Sprintf("%q", addr), func(t *testing.T) {
				cvm, inv := alphaCVM(t, fam.opts, prismsim.HostState{CVMAddress: addr})
				if cvm != nil {
					t.Fatalf("listed with address %q", cvm.Address)
				}
				if !noticed(inv, "host NTNX-21AB0001-B", "is not an IP address or host name: skipped") {
					t.Errorf("notices %v should name the host", inv.Notices)
				}
				for _, n := range inv.Notices {
					if strings.ContainsAny(n.Message, "\x1b\x07") {
						t.Errorf("notice carries raw control bytes: %q", n.Message)
					}
				}
				if len(inv.CVMs) != 2 {
					t.Errorf("%d CVMs listed, want the other 2", len(inv.CVMs))
				}
			})
		}
		for _, addr := range good {
			t.Run(fam.name+"/"+addr, func(t *testing.T) {
				if cvm, _ := alphaCVM(t, fam.opts, prismsim.HostState{CVMAddress: addr}); cvm == nil || cvm.Address != addr {
					t.Errorf("CVM = %+v, want it listed at %s", cvm, addr)
				}
			})
		}
	}
}

// Names from Prism become output prefixes and capture directories: made safe and unique.
func TestHostileAndRepeatedNames(t *testing.T) {
	for _, fam := range families[:2] {
		t.Run(fam.name, func(t *testing.T) {
			sim, c := start(t, fam.opts, nil)
			sim.SetHostState("NTNX-21AB0003-A", prismsim.HostState{Rename: "NTNX-21AB0001-A"}) // bravo: alpha's host name
			sim.SetHostState("NTNX-21AB0001-C", prismsim.HostState{Rename: "ntnx-21ab0001-a"}) // alpha: again, in other case
			sim.SetHostState("NTNX-21AB0001-B", prismsim.HostState{Rename: "../../etc/cron.d/x\x1b[2J\u0085"})
			inv, err := c.Inventory(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, cvm := range inv.CVMs {
				low := strings.ToLower(cvm.Name)
				if names[low] {
					t.Errorf("two CVMs named %q", cvm.Name)
				}
				names[low] = true
				if strings.ContainsAny(cvm.Name, "/\\ \x1b\u0085") || strings.Contains(cvm.Name, "..") || strings.HasPrefix(cvm.Name, ".") {
					t.Errorf("unsafe name %q (raw %q)", cvm.Name, cvm.RawName)
				}
			}
			// In cluster order, then by host name: "../" sorts first.
			want := []string{"_._.__etc_cron.d_x_[2J_-CVM", "NTNX-21AB0001-A-CVM@alpha-pe01@10.20.1.31",
				"ntnx-21ab0001-a-CVM@alpha-pe01@10.20.1.33", "NTNX-21AB0001-A-CVM@bravo-pe02"}
			var got []string
			for _, cvm := range inv.CVMs {
				got = append(got, cvm.Name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("names = %q\nwant    %q", got, want)
			}
			if inv.CVMs[0].RawName != "../../etc/cron.d/x\x1b[2J\u0085-CVM" {
				t.Errorf("RawName = %q, want the name as it was", inv.CVMs[1].RawName)
			}
		})
	}
}
