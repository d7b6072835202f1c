package prismsim

import (
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// The fixtures are the shared contract of /work/shared/prism/fixtures, copied here so the
// repository stands alone. See fixtures/manifest.json.
//
//go:embed fixtures/*.json
var fixtureFS embed.FS

// Fixture returns the raw bytes of a fixture file, e.g. "v4-clusters-list.json".
func Fixture(name string) ([]byte, error) { return fixtureFS.ReadFile("fixtures/" + name) }

type obj = map[string]any

// exchange is a recorded error answer: {status, headers, body, notes}.
type exchange struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// world is every document the simulator serves, already in API shape.
type world struct {
	peUUID string // the cluster a PE serves (v2 and a PE's v4)
	pcUUID string // Prism Central's own cluster entry

	v2Cluster obj
	v2Hosts   []obj

	v3Envelope obj // api_version etc. of list answers
	v3Clusters []obj
	v3Hosts    []obj

	v4ClustersEnvelope obj
	v4HostsEnvelope    obj
	v4Clusters         []obj
	v4Hosts            map[string][]obj  // cluster extId -> hosts
	cvmNames           map[string]string // host extId -> its CVM's own name (v4.3 /cvms)

	errors map[string]exchange // fixture name -> exchange

	unlisted map[string]*unlistedHost // host name -> what SetHostListed took out
}

// unlistedHost is a host taken out of every family's list, kept to be put back.
type unlistedHost struct {
	v2, v3 []obj
	v4     map[string][]obj // cluster extId -> the host
}

func mustJSON(name string) any {
	b, err := Fixture(name)
	if err != nil {
		panic(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(fmt.Sprintf("prismsim: fixture %s: %v", name, err))
	}
	return v
}

func objs(v any) []obj {
	list, _ := v.([]any)
	out := make([]obj, 0, len(list))
	for _, e := range list {
		if m, ok := e.(obj); ok {
			out = append(out, m)
		}
	}
	return out
}

func loadErrors() map[string]exchange {
	out := map[string]exchange{}
	entries, _ := fixtureFS.ReadDir("fixtures")
	for _, e := range entries {
		if !strings.Contains(e.Name(), "-error-") {
			continue
		}
		b, _ := Fixture(e.Name())
		var ex exchange
		if err := json.Unmarshal(b, &ex); err != nil {
			panic(fmt.Sprintf("prismsim: fixture %s: %v", e.Name(), err))
		}
		out[e.Name()] = ex
	}
	return out
}

// fixtureWorld is the world of the shared fixtures: PC pc-lab01 managing alpha-pe01 (three
// CVMs and a compute-only host) and bravo-pe02 (one CVM).
func fixtureWorld() *world {
	w := &world{errors: loadErrors(), v4Hosts: map[string][]obj{}}
	w.v2Cluster = mustJSON("v2-cluster.json").(obj)
	w.v2Hosts = objs(mustJSON("v2-hosts.json").(obj)["entities"])
	w.peUUID, _ = w.v2Cluster["uuid"].(string)

	cl := mustJSON("v3-clusters-list.json").(obj)
	w.v3Clusters = objs(cl["entities"])
	w.v3Envelope = obj{"api_version": cl["api_version"]}
	w.v3Hosts = objs(mustJSON("v3-hosts-list-all.json").(obj)["entities"])

	v4c := mustJSON("v4-clusters-list.json").(obj)
	w.v4Clusters = objs(v4c["data"])
	w.v4ClustersEnvelope = envelopeOf(v4c)
	for _, name := range []string{"v4-hosts-alpha-pe01.json", "v4-hosts-bravo-pe02.json"} {
		doc := mustJSON(name).(obj)
		w.v4HostsEnvelope = envelopeOf(doc)
		for _, h := range objs(doc["data"]) {
			id := str(h, "cluster", "uuid")
			w.v4Hosts[id] = append(w.v4Hosts[id], h)
		}
	}
	for _, c := range w.v4Clusters {
		if hasFunction(c, "PRISM_CENTRAL") {
			w.pcUUID, _ = c["extId"].(string)
		}
	}
	return w
}

func envelopeOf(doc obj) obj {
	return obj{"$objectType": doc["$objectType"], "$reserved": doc["$reserved"]}
}

func hasFunction(c obj, fn string) bool {
	for _, f := range list(get(c, "config", "clusterFunction")) {
		if f == fn {
			return true
		}
	}
	return false
}

// Generate describes a generated world: Clusters AOS clusters of CVMs CVMs each, managed by
// one Prism Central. In PE mode the first cluster is the one served.
type Generate struct {
	Clusters int
	CVMs     int
	// Address gives the CVM IP of CVM n (0-based) of cluster c (0-based); default
	// 10.100.<c+1>.<n+31>.
	Address func(c, n int) string
	// ComputeOnly adds this many compute-only hosts (no CVM) to the first cluster.
	ComputeOnly int
}

// ClusterName and HostName are the names a generated world uses, for tests to expect.
func ClusterName(c int) string { return fmt.Sprintf("cluster-%02d", c+1) }

// HostName is the host name of CVM n of cluster c in a generated world (the CVM's name adds "-CVM").
func HostName(c, n int) string { return fmt.Sprintf("NTNX-GEN%02d%03d-A", c+1, n+1) }

// ClusterUUID is the UUID of cluster c in a generated world.
func ClusterUUID(c int) string { return fmt.Sprintf("0006aaaa-0000-4000-8000-%012x", c+1) }

func generatedWorld(g Generate) *world {
	base := fixtureWorld()
	addr := g.Address
	if addr == nil {
		addr = func(c, n int) string { return fmt.Sprintf("10.100.%d.%d", c+1, n+31) }
	}
	w := &world{errors: base.errors, v4Hosts: map[string][]obj{},
		v3Envelope: base.v3Envelope, v4ClustersEnvelope: base.v4ClustersEnvelope, v4HostsEnvelope: base.v4HostsEnvelope}

	// Templates: the first AOS cluster and host of each family, and the PC entries as they are.
	var v4PC, v3PC obj
	for _, c := range base.v4Clusters {
		if hasFunction(c, "PRISM_CENTRAL") {
			v4PC = c
		}
	}
	for _, c := range base.v3Clusters {
		for _, s := range list(get(c, "status", "resources", "config", "service_list")) {
			if s == "PRISM_CENTRAL" {
				v3PC = c
			}
		}
	}
	w.pcUUID = base.pcUUID
	v4ClusterT, v3ClusterT := base.v4Clusters[0], base.v3Clusters[0]
	v2HostT, v3HostT := base.v2Hosts[0], base.v3Hosts[0]
	v4HostT := base.v4Hosts[base.peUUID][0]
	var v2ComputeT, v3ComputeT, v4ComputeT obj
	for _, h := range base.v2Hosts {
		if h["host_type"] == "COMPUTE_ONLY" {
			v2ComputeT = h
		}
	}
	for _, h := range base.v3Hosts {
		if get(h, "status", "resources", "controller_vm") == nil {
			v3ComputeT = h
		}
	}
	for _, h := range base.v4Hosts[base.peUUID] {
		if h["controllerVm"] == nil {
			v4ComputeT = h
		}
	}

	for c := range g.Clusters {
		name, uuid := ClusterName(c), ClusterUUID(c)
		vip := fmt.Sprintf("10.100.%d.10", c+1)
		if c == 0 {
			w.peUUID = uuid
			w.v2Cluster = clone(base.v2Cluster)
			for _, k := range []string{"uuid", "cluster_uuid"} {
				w.v2Cluster[k] = uuid
			}
			w.v2Cluster["id"] = uuid + "::1"
			w.v2Cluster["name"] = name
			w.v2Cluster["cluster_external_ipaddress"] = vip
			w.v2Cluster["num_nodes"] = float64(g.CVMs + g.ComputeOnly)
		}
		v4c := clone(v4ClusterT)
		v4c["extId"], v4c["name"] = uuid, name
		set(v4c, vip, "network", "externalAddress", "ipv4", "value")
		delete(v4c, "nodes")
		w.v4Clusters = append(w.v4Clusters, v4c)
		v3c := clone(v3ClusterT)
		set(v3c, uuid, "metadata", "uuid")
		set(v3c, name, "status", "name")
		set(v3c, vip, "status", "resources", "network", "external_ip")
		w.v3Clusters = append(w.v3Clusters, v3c)

		for n := range g.CVMs + g.ComputeOnly {
			compute := n >= g.CVMs
			if compute && c > 0 {
				break
			}
			host := HostName(c, n)
			hostUUID := fmt.Sprintf("5a1f0000-%04x-4000-8000-%012x", c+1, n+1)
			hv := fmt.Sprintf("10.100.%d.%d", c+1, n+131)
			ip := ""
			if !compute {
				ip = addr(c, n)
			}
			t2, t3, t4 := v2HostT, v3HostT, v4HostT
			if compute {
				t2, t3, t4 = v2ComputeT, v3ComputeT, v4ComputeT
			}
			if c == 0 {
				h := clone(t2)
				h["uuid"], h["name"], h["cluster_uuid"] = hostUUID, host, uuid
				h["hypervisor_address"], h["hypervisor_key"], h["management_server_name"] = hv, hv, hv
				if !compute {
					h["service_vmexternal_ip"], h["controller_vm_backplane_ip"] = ip, ip
					h["service_vmid"] = fmt.Sprintf("%s::%d", uuid, n+4)
				}
				w.v2Hosts = append(w.v2Hosts, h)
			}
			h3 := clone(t3)
			set(h3, hostUUID, "metadata", "uuid")
			set(h3, host, "status", "name")
			set(h3, host, "spec", "name")
			set(h3, uuid, "status", "cluster_reference", "uuid")
			set(h3, hv, "status", "resources", "hypervisor", "ip")
			if !compute {
				set(h3, ip, "status", "resources", "controller_vm", "ip")
				set(h3, ip, "spec", "resources", "controller_vm", "ip")
			}
			w.v3Hosts = append(w.v3Hosts, h3)
			h4 := clone(t4)
			h4["extId"], h4["hostName"] = hostUUID, host
			set(h4, uuid, "cluster", "uuid")
			set(h4, name, "cluster", "name")
			set(h4, hv, "hypervisor", "externalAddress", "ipv4", "value")
			if !compute {
				set(h4, ip, "controllerVm", "externalAddress", "ipv4", "value")
				set(h4, ip, "controllerVm", "backplaneAddress", "ipv4", "value")
			}
			w.v4Hosts[uuid] = append(w.v4Hosts[uuid], h4)
		}
	}
	// The PC entry goes second: clients must exclude it by function, not position.
	if v4PC != nil && len(w.v4Clusters) > 0 {
		w.v4Clusters = append(w.v4Clusters[:1], append([]obj{clone(v4PC)}, w.v4Clusters[1:]...)...)
	}
	if v3PC != nil && len(w.v3Clusters) > 0 {
		w.v3Clusters = append(w.v3Clusters[:1], append([]obj{clone(v3PC)}, w.v3Clusters[1:]...)...)
	}
	return w
}

// rewriteCVMAddresses applies f to every CVM address in the world, and only to those: the
// v2 service VM IPs, and every IP under a v3 controller_vm or a v4 controllerVm /
// controllerVmIp. Hypervisor, IPMI and cluster addresses are left alone.
func (w *world) rewriteCVMAddresses(f func(string) string) {
	for _, h := range w.v2Hosts {
		for _, k := range []string{"service_vmexternal_ip", "controller_vm_backplane_ip"} {
			if s, ok := h[k].(string); ok && s != "" {
				h[k] = f(s)
			}
		}
	}
	var walk func(v any, inCVM bool)
	walk = func(v any, inCVM bool) {
		switch t := v.(type) {
		case obj:
			for k, child := range t {
				cvm := inCVM || k == "controller_vm" || k == "controllerVm" || k == "controllerVmIp"
				if s, ok := child.(string); ok && cvm && (k == "ip" || k == "value") && net.ParseIP(s) != nil {
					t[k] = f(s)
					continue
				}
				walk(child, cvm)
			}
		case []any:
			for _, e := range t {
				walk(e, inCVM)
			}
		}
	}
	for _, list := range [][]obj{w.v3Hosts, w.v4Clusters} {
		for _, e := range list {
			walk(e, false)
		}
	}
	for _, hosts := range w.v4Hosts {
		for _, e := range hosts {
			walk(e, false)
		}
	}
}

// JSON helpers over decoded documents.

func clone(m obj) obj {
	b, _ := json.Marshal(m)
	var out obj
	_ = json.Unmarshal(b, &out)
	return out
}

func get(m obj, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(obj)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func str(m obj, path ...string) string {
	s, _ := get(m, path...).(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func set(m obj, value any, path ...string) {
	cur := m
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p].(obj)
		if !ok {
			next = obj{}
			cur[p] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = value
}
