package prism_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

const (
	alphaUUID = "00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01"
	bravoUUID = "00061b3c-4d5e-6f70-1b2c-3d4e5f6a7b02"
	pcUUID    = "7c1e2a40-5b3d-4f6e-9a8b-0c1d2e3f4a50"

	v4Clusters    = "/api/clustermgmt/v4.0/config/clusters"
	v4PCHosts     = "/api/clustermgmt/v4.0/config/clusters/" + pcUUID + "/hosts"
	v4AlphaHosts  = "/api/clustermgmt/v4.0/config/clusters/" + alphaUUID + "/hosts"
	v3ClusterList = "/api/nutanix/v3/clusters/list"
	v3HostList    = "/api/nutanix/v3/hosts/list"
	v2Cluster     = "/PrismGateway/services/rest/v2.0/cluster"
	v2Hosts       = "/PrismGateway/services/rest/v2.0/hosts"
)

// row is what a user sees of a CVM; NodeStatus differs by API family and is checked apart.
type row struct{ Name, Address, Cluster, ClusterUUID, Host, HypervisorAddress, State string }

func rows(cvms []prism.CVM) []row {
	out := []row{}
	for _, c := range cvms {
		out = append(out, row{c.Name, c.Address, c.Cluster, c.ClusterUUID, c.Host, c.HypervisorAddress, c.State})
	}
	return out
}

var (
	alphaRows = []row{
		{"NTNX-21AB0001-A-CVM", "10.20.1.31", "alpha-pe01", alphaUUID, "NTNX-21AB0001-A", "10.20.1.21", "normal"},
		{"NTNX-21AB0001-B-CVM", "10.20.1.32", "alpha-pe01", alphaUUID, "NTNX-21AB0001-B", "10.20.1.22", "normal"},
		{"NTNX-21AB0001-C-CVM", "10.20.1.33", "alpha-pe01", alphaUUID, "NTNX-21AB0001-C", "10.20.1.23", "normal"},
	}
	bravoRows = []row{
		{"NTNX-21AB0003-A-CVM", "10.20.2.31", "bravo-pe02", bravoUUID, "NTNX-21AB0003-A", "10.20.2.21", "normal"},
	}
	pcRows = append(append([]row{}, alphaRows...), bravoRows...)
	// v3 hosts carry no state: every CVM's is unknown.
	v3Rows = withState(pcRows, prism.StateUnknown)
)

func withState(rows []row, state string) []row {
	out := append([]row{}, rows...)
	for i := range out {
		out[i].State = state
	}
	return out
}

// start serves a simulator over HTTPS on loopback and returns a client that trusts it.
func start(t *testing.T, opts prismsim.Options, mod func(*prism.Config)) (*prismsim.Sim, *prism.Client) {
	t.Helper()
	sim := prismsim.New(opts)
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")
	cfg := prism.Config{
		Address:    srv.Addr,
		Username:   prismsim.DefaultUsername,
		Password:   prismsim.DefaultPassword,
		CACertFile: writeCA(t, srv.CAPEM),
		Timeout:    5 * time.Second,
		RetryWait:  time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := prism.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func writeCA(t *testing.T, pem []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func pageSize(n int) func(*prism.Config) { return func(c *prism.Config) { c.PageSize = n } }

func TestInventoryPerAPIFamily(t *testing.T) {
	tests := []struct {
		name       string
		opts       prismsim.Options
		pageSize   int
		wantAPI    string
		want       []row
		wantNode   string
		wantCalls  map[string]int // exact counts; 0 = must not be called
		computeOne bool
	}{
		{
			name:    "pc v4 only",
			opts:    prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4},
			wantAPI: "v4.0", want: pcRows, wantNode: "NORMAL",
			wantCalls: map[string]int{v4Clusters: 1, v4AlphaHosts: 1, v4PCHosts: 0, v3ClusterList: 0, v3HostList: 0},
		},
		{
			name:     "pc v4 one host per page",
			opts:     prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4},
			pageSize: 1,
			wantAPI:  "v4.0", want: pcRows, wantNode: "NORMAL",
			wantCalls: map[string]int{v4Clusters: 3, v4AlphaHosts: 4, v4PCHosts: 0},
		},
		{
			name:    "pc serving only the v4.0.b2 release candidate",
			opts:    prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V4 | prismsim.V3, V4Version: "v4.0.b2"},
			wantAPI: "v4.0.b2", want: pcRows, wantNode: "NORMAL",
			wantCalls: map[string]int{v4Clusters: 1, "/api/clustermgmt/v4.0.b2/config/clusters": 1, v3ClusterList: 0},
		},
		{
			name:     "pc v3 only, hosts paged",
			opts:     prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V3},
			pageSize: 2,
			wantAPI:  "v3", want: v3Rows,
			wantCalls: map[string]int{v4Clusters: 1, "/api/clustermgmt/v4.0.b1/config/clusters": 1,
				v3ClusterList: 2, v3HostList: 3, v2Cluster: 0},
		},
		{
			name:     "pc v3 only, hosts/list ignoring length",
			opts:     prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V3, V3HostsIgnoreLength: true},
			pageSize: 2,
			wantAPI:  "v3", want: v3Rows,
			wantCalls: map[string]int{v3HostList: 1},
		},
		{
			name:    "pc v3 with its own pseudo-host in hosts/list",
			opts:    prismsim.Options{Mode: prismsim.PC, APIs: prismsim.V3, V3PCPseudoHost: true},
			wantAPI: "v3", want: v3Rows,
			wantCalls: map[string]int{v3HostList: 1},
		},
		{
			name:    "pc whose v4 service fails falls back to v3",
			opts:    prismsim.Options{Mode: prismsim.PC, Fail: map[string][]int{v4Clusters: {500}}},
			wantAPI: "v3", want: v3Rows,
			wantCalls: map[string]int{v4Clusters: 1, v3HostList: 1},
		},
		{
			name:     "pe v2 paged by count/page",
			opts:     prismsim.Options{Mode: prismsim.PE},
			pageSize: 1,
			wantAPI:  "v2", want: alphaRows, wantNode: "NORMAL",
			wantCalls: map[string]int{v4Clusters: 1, v3ClusterList: 1, v2Cluster: 1, v2Hosts: 4},
		},
		{
			name:    "pe v2 one page",
			opts:    prismsim.Options{Mode: prismsim.PE},
			wantAPI: "v2", want: alphaRows, wantNode: "NORMAL",
			wantCalls: map[string]int{v2Hosts: 1},
		},
		{
			name:    "modern pe with v4",
			opts:    prismsim.Options{Mode: prismsim.PE, APIs: prismsim.V4 | prismsim.V2},
			wantAPI: "v4.0", want: alphaRows, wantNode: "NORMAL",
			wantCalls: map[string]int{v4Clusters: 1, v4AlphaHosts: 1, v2Hosts: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c := start(t, tt.opts, pageSize(tt.pageSize))
			inv, err := c.Inventory(context.Background(), nil)
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			if inv.API != tt.wantAPI {
				t.Errorf("API = %q, want %q", inv.API, tt.wantAPI)
			}
			if got := rows(inv.CVMs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CVMs =\n%v\nwant\n%v", got, tt.want)
			}
			for _, cvm := range inv.CVMs {
				if cvm.NodeStatus != tt.wantNode {
					t.Errorf("%s: NodeStatus = %q, want %q", cvm.Name, cvm.NodeStatus, tt.wantNode)
				}
			}
			if !reflect.DeepEqual(inv.ComputeOnly, []string{"NTNX-21AB0002-A"}) {
				t.Errorf("ComputeOnly = %v, want the one compute-only host", inv.ComputeOnly)
			}
			calls := sim.Calls()
			for path, want := range tt.wantCalls {
				if calls[path] != want {
					t.Errorf("%s called %d times, want %d (all calls: %v)", path, calls[path], want, calls)
				}
			}
		})
	}
}

func TestClusterSelection(t *testing.T) {
	ctx := context.Background()
	_, c := start(t, prismsim.Options{}, nil)

	clusters, err := c.ListClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []prism.Cluster{
		{Name: "alpha-pe01", UUID: alphaUUID, Address: "10.20.1.10"},
		{Name: "bravo-pe02", UUID: bravoUUID, Address: "10.20.2.10"},
	}
	if !reflect.DeepEqual(clusters, want) {
		t.Errorf("ListClusters = %+v, want %+v (never the PC itself)", clusters, want)
	}

	for _, sel := range [][]string{{"bravo-pe02"}, {bravoUUID}, {"BRAVO-PE02"}, {"bravo-pe02", bravoUUID}} {
		cvms, err := c.ListCVMs(ctx, sel)
		if err != nil {
			t.Fatalf("ListCVMs(%v): %v", sel, err)
		}
		if got := rows(cvms); !reflect.DeepEqual(got, bravoRows) {
			t.Errorf("ListCVMs(%v) = %v, want %v", sel, got, bravoRows)
		}
	}

	_, err = c.ListCVMs(ctx, []string{"charlie"})
	var nf *prism.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("unknown cluster: err = %v, want *NotFoundError", err)
	}
	if known := strings.Join(nf.KnownNames(), ", "); known != "alpha-pe01, bravo-pe02" {
		t.Errorf("known clusters %q, want the AOS clusters and not the PC", known)
	}
	// The PC is not a cluster one can ask for.
	if _, err := c.ListCVMs(ctx, []string{"pc-lab01"}); !errors.As(err, &nf) {
		t.Errorf("asking for the PC: err = %v, want *NotFoundError", err)
	}
}

func TestPrismElementClusterSelection(t *testing.T) {
	ctx := context.Background()
	_, c := start(t, prismsim.Options{Mode: prismsim.PE}, nil)
	if cvms, err := c.ListCVMs(ctx, []string{"alpha-pe01"}); err != nil || len(cvms) != 3 {
		t.Fatalf("ListCVMs(alpha-pe01) = %d CVMs, %v; want 3", len(cvms), err)
	}
	var nf *prism.NotFoundError
	if _, err := c.ListCVMs(ctx, []string{"bravo-pe02"}); !errors.As(err, &nf) {
		t.Errorf("a PE asked for another cluster: err = %v, want *NotFoundError", err)
	}
}

func TestErrors(t *testing.T) {
	wrongPassword := func(c *prism.Config) { c.Password = "s3cret-wrong" }
	tests := []struct {
		name     string
		opts     prismsim.Options
		mod      func(*prism.Config)
		check    func(t *testing.T, err error)
		contains []string
	}{
		{
			name: "401 from v4", opts: prismsim.Options{APIs: prismsim.V4}, mod: wrongPassword,
			check:    as[*prism.AuthError],
			contains: []string{"wrong user name or password (401)"},
		},
		{
			name: "401 from v3", opts: prismsim.Options{APIs: prismsim.V3}, mod: wrongPassword,
			check:    as[*prism.AuthError],
			contains: []string{"wrong user name or password (401)"},
		},
		{
			name: "401 with an empty body from v2", opts: prismsim.Options{Mode: prismsim.PE}, mod: wrongPassword,
			check:    as[*prism.AuthError],
			contains: []string{"wrong user name or password (401)"},
		},
		{
			name: "403 from v3 keeps the server's message", opts: prismsim.Options{APIs: prismsim.V3, Forbidden: true},
			check:    as[*prism.PermissionError],
			contains: []string{"403", "No permission to access the resource"},
		},
		{
			name: "403 from v4 keeps the server's message", opts: prismsim.Options{APIs: prismsim.V4, Forbidden: true},
			check:    as[*prism.PermissionError],
			contains: []string{"403", "not authorized"},
		},
		{
			name: "html instead of json", opts: prismsim.Options{Garbage: []byte("<html><body>Login</body></html>")},
			check:    as[*prism.ProtocolError],
			contains: []string{"GET /api/clustermgmt/v4.0/config/clusters", "not JSON"},
		},
		{
			name: "truncated json", opts: prismsim.Options{Garbage: []byte(`{"data": [{"extId": "x"`)},
			check:    as[*prism.ProtocolError],
			contains: []string{"GET /api/clustermgmt/v4.0/config/clusters", "truncated"},
		},
		{
			name: "slow server", opts: prismsim.Options{Delay: 3 * time.Second},
			mod: func(c *prism.Config) { c.Timeout = 200 * time.Millisecond },
			check: func(t *testing.T, err error) {
				var ue *prism.UnreachableError
				if !errors.As(err, &ue) || ue.Timeout != 200*time.Millisecond {
					t.Fatalf("err = %#v, want *UnreachableError with the timeout", err)
				}
			},
			contains: []string{"no answer within 200ms"},
		},
		{
			name: "503 three times", opts: prismsim.Options{APIs: prismsim.V4, Fail: map[string][]int{v4Clusters: {503, 503, 503}}},
			check: func(t *testing.T, err error) {
				var se *prism.ServerError
				if !errors.As(err, &se) || se.Status != 503 {
					t.Fatalf("err = %#v, want *ServerError 503", err)
				}
			},
			contains: []string{"503"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := start(t, tt.opts, tt.mod)
			_, err := c.ListCVMs(context.Background(), nil)
			if err == nil {
				t.Fatal("ListCVMs succeeded, want an error")
			}
			tt.check(t, err)
			msg := err.Error()
			for _, s := range tt.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
			checkMessage(t, err)
		})
	}
}

// checkMessage holds every error to the house style and to secrecy.
func checkMessage(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "prism 127.0.0.1:") {
		t.Errorf("error %q does not name the Prism address", msg)
	}
	if strings.HasSuffix(msg, ".") {
		t.Errorf("error %q ends with a period", msg)
	}
	for _, secret := range []string{prismsim.DefaultPassword, "s3cret-wrong"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error shows the password: %q", msg)
		}
	}
}

func as[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("err = %T %v, want %T", err, err, target)
	}
}

func TestNoAPIAnswers(t *testing.T) {
	// A PE that serves nothing we know: every probe is a 404.
	sim, c := start(t, prismsim.Options{Mode: prismsim.PE, APIs: prismsim.V4, V4Version: "v4.9"}, nil)
	_, err := c.ListCVMs(context.Background(), nil)
	var pe *prism.ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "no Prism API answered") {
		t.Fatalf("err = %v, want *ProtocolError saying no API answered", err)
	}
	if sim.Count(v2Cluster) != 1 || sim.Count(v3ClusterList) != 1 {
		t.Errorf("every family should be probed once: %v", sim.Calls())
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c, err := prism.New(prism.Config{Address: addr, Username: "admin", Password: "x", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListCVMs(context.Background(), nil)
	var ue *prism.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %T %v, want *UnreachableError", err, err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "cannot connect") {
		t.Errorf("error %q should name %s and say it cannot connect", err, addr)
	}
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	sim := prismsim.New(prismsim.Options{})
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")
	base := prism.Config{Address: srv.Addr, Username: prismsim.DefaultUsername, Password: prismsim.DefaultPassword, Timeout: 5 * time.Second}

	t.Run("self-signed without --insecure", func(t *testing.T) {
		c, _ := prism.New(base)
		_, err := c.ListCVMs(ctx, nil)
		var te *prism.TLSError
		if !errors.As(err, &te) {
			t.Fatalf("err = %T %v, want *TLSError", err, err)
		}
		checkMessage(t, err)
	})
	t.Run("insecure", func(t *testing.T) {
		cfg := base
		cfg.Insecure = true
		c, _ := prism.New(cfg)
		if cvms, err := c.ListCVMs(ctx, nil); err != nil || len(cvms) != 4 {
			t.Fatalf("ListCVMs = %d, %v; want 4 CVMs", len(cvms), err)
		}
	})
	t.Run("with the CA", func(t *testing.T) {
		cfg := base
		cfg.CACertFile = writeCA(t, srv.CAPEM)
		c, _ := prism.New(cfg)
		if cvms, err := c.ListCVMs(ctx, nil); err != nil || len(cvms) != 4 {
			t.Fatalf("ListCVMs = %d, %v; want 4 CVMs", len(cvms), err)
		}
	})
	t.Run("certificate for another host name", func(t *testing.T) {
		other, _ := prismsim.StartTLSFor(t, sim, "127.0.0.1:0", []string{"prism.invalid"})
		cfg := base
		cfg.Address = other.Addr
		cfg.CACertFile = writeCA(t, other.CAPEM)
		c, _ := prism.New(cfg)
		_, err := c.ListCVMs(ctx, nil)
		var te *prism.TLSError
		var he *x509.HostnameError
		if !errors.As(err, &te) || !errors.As(err, &he) {
			t.Fatalf("err = %T %v, want *TLSError wrapping a host name error", err, err)
		}
	})
	t.Run("unreadable CA file", func(t *testing.T) {
		cfg := base
		cfg.CACertFile = filepath.Join(t.TempDir(), "missing.pem")
		if _, err := prism.New(cfg); err == nil {
			t.Fatal("New with a missing CA file succeeded")
		}
	})
}

func TestRetriesBusyServer(t *testing.T) {
	sim, c := start(t, prismsim.Options{Fail: map[string][]int{v4Clusters: {503, 429}, v4AlphaHosts: {504, 408}}}, nil)
	cvms, err := c.ListCVMs(context.Background(), nil)
	if err != nil {
		t.Fatalf("ListCVMs: %v", err)
	}
	if len(cvms) != 4 {
		t.Errorf("got %d CVMs, want 4", len(cvms))
	}
	if n := sim.Count(v4Clusters); n != 3 {
		t.Errorf("clusters called %d times, want 3 (two retries)", n)
	}
	if n := sim.Count(v4AlphaHosts); n != 3 {
		t.Errorf("alpha's hosts called %d times, want 3 (a 504 and a 408 retried)", n)
	}
}

// A PC whose own cluster entry slips through the function filter answers CLU-10008 for its
// hosts; the code names the case, whatever HTTP status comes with it.
func TestPCHostListRefusalWhateverTheStatus(t *testing.T) {
	for _, status := range []int{400, 404, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			sim, c := start(t, prismsim.Options{APIs: prismsim.V4, PCWithoutFunction: true, PCHostsStatus: status}, nil)
			inv, err := c.Inventory(context.Background(), nil)
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			if got := rows(inv.CVMs); !reflect.DeepEqual(got, pcRows) {
				t.Errorf("CVMs =\n%v\nwant\n%v", got, pcRows)
			}
			if sim.Count(v4PCHosts) != 1 {
				t.Errorf("the PC's hosts were asked %d times, want 1 (the test needs the refusal)", sim.Count(v4PCHosts))
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	ctx := context.Background()
	sim, c := start(t, prismsim.Options{}, nil)
	if _, err := c.ListCVMs(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// clusters, two host lists, and v4.3's cvms once (a 404: not asked again).
	if sim.Total() != 4 || sim.BasicLogins() != 1 {
		t.Fatalf("%d requests with %d Basic logins, want 4 with 1 (then the session cookie): %v", sim.Total(), sim.BasicLogins(), sim.Calls())
	}
	sim.ExpireSessions()
	if _, err := c.ListCVMs(ctx, []string{"alpha-pe01"}); err != nil {
		t.Fatalf("after the session expired: %v", err)
	}
	if sim.BasicLogins() != 2 {
		t.Errorf("Basic logins = %d, want 2 (one fallback after the expired cookie's 401)", sim.BasicLogins())
	}
}

func TestGeneratedWorldAndRewrite(t *testing.T) {
	gen := &prismsim.Generate{Clusters: 3, CVMs: 5, ComputeOnly: 2,
		Address: func(c, n int) string { return fmt.Sprintf("10.9.%d.%d", c, n) }}
	rewrite := func(ip string) string { return strings.Replace(ip, "10.9.", "127.9.", 1) }
	for _, api := range []prismsim.API{prismsim.V4, prismsim.V3} {
		t.Run(fmt.Sprint(api), func(t *testing.T) {
			_, c := start(t, prismsim.Options{APIs: api, Generate: gen, RewriteAddress: rewrite}, pageSize(2))
			inv, err := c.Inventory(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.CVMs) != 15 || len(inv.ComputeOnly) != 2 || len(inv.Clusters) != 3 {
				t.Fatalf("got %d CVMs, %d compute-only, %d clusters; want 15, 2, 3", len(inv.CVMs), len(inv.ComputeOnly), len(inv.Clusters))
			}
			first := inv.CVMs[0]
			if first.Address != "127.9.0.0" || first.Cluster != prismsim.ClusterName(0) ||
				first.Host != prismsim.HostName(0, 0) || first.Name != prismsim.HostName(0, 0)+"-CVM" {
				t.Errorf("first CVM = %+v", first)
			}
			if strings.HasPrefix(first.HypervisorAddress, "127.") {
				t.Errorf("hypervisor address %s was rewritten too", first.HypervisorAddress)
			}
		})
	}
}

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1:9440"},
		{"pc.example.com", "pc.example.com:9440"},
		{"pc.example.com:9441", "pc.example.com:9441"},
		{"https://10.0.0.1:9440/", "10.0.0.1:9440"},
		{"fd00::1", "[fd00::1]:9440"},
		{"[fd00::1]:9440", "[fd00::1]:9440"},
		{"http://10.0.0.1", ""},
		{"10.0.0.1:0", ""},
		{"10.0.0.1:http", ""},
		{"", ""},
		{"admin@10.0.0.1", ""},
	}
	for _, tt := range tests {
		got, err := prism.NormalizeAddress(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeAddress(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestV4ManyClusters(t *testing.T) {
	gen := &prismsim.Generate{Clusters: 9, CVMs: 2}
	_, c := start(t, prismsim.Options{APIs: prismsim.V4, Generate: gen}, nil)
	cvms, err := c.ListCVMs(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, cvm := range cvms {
		got = append(got, cvm.Cluster+"/"+cvm.Host)
	}
	for cl := range 9 {
		for n := range 2 {
			want = append(want, prismsim.ClusterName(cl)+"/"+prismsim.HostName(cl, n))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CVMs out of cluster order:\n%v\nwant\n%v", got, want)
	}

	// One cluster failing hides none of the others.
	failing := "/api/clustermgmt/v4.0/config/clusters/" + prismsim.ClusterUUID(4) + "/hosts"
	_, c = start(t, prismsim.Options{APIs: prismsim.V4, Generate: gen, Fail: map[string][]int{failing: {500}}}, nil)
	inv, err := c.Inventory(context.Background(), nil)
	if err != nil {
		t.Fatalf("Inventory with one failing cluster: %v", err)
	}
	if len(inv.CVMs) != 16 || !reflect.DeepEqual(inv.Failed, []string{prismsim.ClusterName(4)}) {
		t.Errorf("got %d CVMs, failed %v; want 16 and %s", len(inv.CVMs), inv.Failed, prismsim.ClusterName(4))
	}
	if !noticed(inv, prismsim.ClusterName(4), "its CVMs are left out", "status 500", failing) {
		t.Errorf("notices %v should say the cluster's CVMs are left out, and why", inv.Notices)
	}
}

// noticed tells whether one notice holds every part.
func noticed(inv *prism.Inventory, parts ...string) bool {
	for _, n := range inv.Notices {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(n.Message, p)
		}
		if all {
			return true
		}
	}
	return false
}
