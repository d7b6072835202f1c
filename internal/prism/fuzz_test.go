package prism

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The decoders turn whatever a Prism (or something posing as one) answers into clusters,
// hosts and CVMs. Whatever the bytes, they must not panic, and what comes out must hold
// the promises the rest of cvmtail relies on: checked addresses, a state of the closed set,
// safe and unique names, notices without control characters. The seed corpora in
// testdata/fuzz/ are the shared fixtures; `go test` runs them as ordinary tests, and
// `go test -fuzz FuzzV4 ./internal/prism/` explores from there.

var fuzzCluster = Cluster{Name: "alpha-pe01", UUID: "00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01"}

func FuzzV2(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if cl, err := parseV2Cluster(data); err == nil {
			checkCluster(t, cl)
		}
		if p, err := parseV2Hosts(data); err == nil {
			var hosts []rawHost
			for _, h := range p.Entities {
				hosts = append(hosts, h.raw(fuzzCluster.UUID))
			}
			checkHosts(t, hosts)
		}
	})
}

func FuzzV3(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := parseV3Page[v3Cluster](data); err == nil {
			for _, e := range p.Entities {
				cl, _ := e.cluster()
				checkCluster(t, cl)
			}
		}
		if p, err := parseV3Page[v3Host](data); err == nil {
			var hosts []rawHost
			for _, e := range p.Entities {
				if h, ok := e.raw(); ok {
					h.clusterUUID = fuzzCluster.UUID
					hosts = append(hosts, h)
				}
			}
			checkHosts(t, hosts)
		}
	})
}

func FuzzV4(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := parseV4Page[v4Cluster](data); err == nil {
			_ = p.Metadata.hasNext()
			for _, e := range p.Data {
				cl, _ := e.cluster()
				checkCluster(t, cl)
			}
		}
		p, err := parseV4Page[v4Host](data)
		if err != nil {
			return
		}
		var hosts []rawHost
		for _, e := range p.Data {
			hosts = append(hosts, e.raw(fuzzCluster.UUID))
		}
		// The same answer read as clusters/{id}/cvms names these hosts' CVMs.
		if cvms, err := parseV4Page[v4CVM](data); err == nil {
			for i := range hosts {
				for _, v := range cvms.Data {
					if v.NodeExtID != "" && v.NodeExtID == hosts[i].key {
						hosts[i].cvmName = v.Name
					}
				}
			}
		}
		checkHosts(t, hosts)
	})
}

func FuzzErrorMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := errorMessage(data)
		if !utf8.ValidString(msg) || hasControl(msg) {
			t.Fatalf("errorMessage = %q: invalid UTF-8 or a control character", msg)
		}
		// 300 bytes are kept, each escaped to at most 10 (\U0010ffff), and "...".
		if len(msg) > 300*10+3 {
			t.Fatalf("errorMessage is %d bytes long", len(msg))
		}
	})
}

func checkCluster(t *testing.T, cl Cluster) {
	t.Helper()
	if cl.Address != "" && !validAddress(cl.Address) {
		t.Fatalf("cluster address %q kept", cl.Address)
	}
}

// checkHosts runs the hosts through what Inventory does with them and checks the result.
func checkHosts(t *testing.T, hosts []rawHost) {
	t.Helper()
	var cvms []CVM
	for _, h := range hosts {
		out := h.check(fuzzCluster)
		for _, n := range out.notices {
			if !utf8.ValidString(n.Message) || hasControl(n.Message) || len(n.Message) > 4*maxRaw*4 {
				t.Fatalf("notice %q: invalid UTF-8, a control character or too long", n.Message)
			}
		}
		if out.ok {
			cvms = append(cvms, out.cvm)
		}
	}
	uniqueNames(cvms)
	names := map[string]bool{}
	for _, c := range cvms {
		switch {
		case !validAddress(c.Address):
			t.Fatalf("CVM address %q kept", c.Address)
		case c.NATAddress != "" && !validAddress(c.NATAddress):
			t.Fatalf("NAT address %q kept", c.NATAddress)
		case c.NATPort < 0 || c.NATPort > 65535:
			t.Fatalf("NAT port %d kept", c.NATPort)
		case c.HypervisorAddress != "" && !validAddress(c.HypervisorAddress):
			t.Fatalf("hypervisor address %q kept", c.HypervisorAddress)
		case !slices.Contains(States, c.State):
			t.Fatalf("state %q is not one of %v", c.State, States)
		}
		for _, raw := range []string{c.RawName, c.Host, c.Cluster, c.NodeStatus, c.HypervisorState, c.ConnectionState,
			c.MaintenanceState, c.HostType} {
			if len(raw) > maxRaw+len("-CVM") || !utf8.ValidString(raw) {
				t.Fatalf("raw value of %d bytes kept, or invalid UTF-8: %q", len(raw), raw)
			}
		}
		checkName(t, c.Name)
		if names[strings.ToLower(c.Name)] {
			t.Fatalf("two CVMs named %q", c.Name)
		}
		names[strings.ToLower(c.Name)] = true
	}
}

// checkName holds a name to what a prefix and a directory need.
func checkName(t *testing.T, name string) {
	t.Helper()
	switch {
	case name == "":
		t.Fatal("empty name")
	case len(name) > 255:
		t.Fatalf("name of %d bytes: longer than a path component", len(name))
	case !utf8.ValidString(name):
		t.Fatalf("name %q is not UTF-8", name)
	case strings.ContainsAny(name, "/\\ ") || strings.Contains(name, "..") || strings.HasPrefix(name, "."):
		t.Fatalf("unsafe name %q", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			t.Fatalf("name %q holds %U", name, r)
		}
	}
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r != ' ' && !unicode.IsPrint(r)) {
			return true
		}
	}
	return false
}
