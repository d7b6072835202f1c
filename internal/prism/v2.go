package prism

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// v2.0 (Prism Element, API.md §2).

const v2Base = "/PrismGateway/services/rest/v2.0"

type v2Cluster struct {
	UUID        string `json:"uuid"`
	ClusterUUID string `json:"cluster_uuid"`
	Name        string `json:"name"`
	ExternalIP  string `json:"cluster_external_ipaddress"`
}

type v2Host struct {
	UUID                  string  `json:"uuid"`
	Name                  string  `json:"name"`
	ServiceVMExternalIP   string  `json:"service_vmexternal_ip"`
	ServiceVMNATIP        string  `json:"service_vmnat_ip"`
	ServiceVMNATPort      flexInt `json:"service_vmnat_port"`
	HypervisorAddress     string  `json:"hypervisor_address"`
	HypervisorState       string  `json:"hypervisor_state"`           // kAcropolisNormal, kEnteredMaintenanceMode, ...
	ConnectionState       string  `json:"acropolis_connection_state"` // kConnected, kDisconnected
	State                 string  `json:"state"`                      // NORMAL, NEW, MARKED_FOR_REMOVAL_BUT_NOT_DETACHABLE, DETACHABLE
	HostType              string  `json:"host_type"`
	HostInMaintenanceMode *bool   `json:"host_in_maintenance_mode"` // the host's, not the CVM's
	ClusterUUID           string  `json:"cluster_uuid"`
}

// v2HostsPage is one answer of GET v2.0/hosts.
type v2HostsPage struct {
	Metadata struct {
		TotalEntities int `json:"total_entities"`
		EndIndex      int `json:"end_index"`
	} `json:"metadata"`
	Entities []v2Host `json:"entities"`
}

// parseV2Cluster decodes GET v2.0/cluster.
func parseV2Cluster(data []byte) (Cluster, error) {
	var cl v2Cluster
	if err := decodeJSON(data, &cl); err != nil {
		return Cluster{}, err
	}
	uuid := cl.UUID
	if uuid == "" {
		uuid = cl.ClusterUUID
	}
	return Cluster{Name: cl.Name, UUID: uuid, Address: checkedAddress(cl.ExternalIP)}, nil
}

// parseV2Hosts decodes one page of GET v2.0/hosts.
func parseV2Hosts(data []byte) (v2HostsPage, error) {
	var p v2HostsPage
	err := decodeJSON(data, &p)
	return p, err
}

func (c *Client) v2Cluster(ctx context.Context) ([]Cluster, error) {
	endpoint := "GET " + v2Base + "/cluster"
	data, hdr, err := c.fetch(ctx, http.MethodGet, v2Base+"/cluster", nil, nil)
	if err != nil {
		return nil, err
	}
	cl, err := parseV2Cluster(data)
	if err != nil {
		return nil, &ProtocolError{Address: c.address, Endpoint: endpoint, Detail: contentDetail(err, hdr)}
	}
	if cl.UUID == "" && cl.Name == "" {
		return nil, &ProtocolError{Address: c.address, Endpoint: endpoint, Detail: "no cluster name or uuid in the answer"}
	}
	return []Cluster{cl}, nil
}

func (c *Client) v2Hosts(ctx context.Context, b *budget) ([]rawHost, error) {
	c.mu.Lock()
	var clusterUUID string
	if len(c.clusters) > 0 {
		clusterUUID = c.clusters[0].UUID
	}
	c.mu.Unlock()

	count := c.cfg.PageSize
	if count <= 0 {
		count = 100
	}
	var out []rawHost
	err := pageReader[v2Host]{
		get: func(page int) ([]byte, http.Header, error) {
			q := url.Values{"count": {strconv.Itoa(count)}, "page": {strconv.Itoa(page + 1)}} // v2 counts from 1
			return c.fetch(ctx, http.MethodGet, v2Base+"/hosts", q, nil)
		},
		decode: func(data []byte) ([]v2Host, func(int, int) bool, error) {
			p, err := parseV2Hosts(data)
			m := p.Metadata
			return p.Entities, func(_, entities int) bool {
				if m.TotalEntities > 0 {
					return m.EndIndex < m.TotalEntities && entities < m.TotalEntities
				}
				return len(p.Entities) >= count
			}, err
		},
		key:   func(h v2Host) string { return h.UUID },
		hosts: true,
	}.read(c.newWalk(b, "GET "+v2Base+"/hosts"), func(h v2Host) { out = append(out, h.raw(clusterUUID)) })
	return out, err
}

// raw is the host as the other families see it. v2 has no CVM maintenance field:
// host_in_maintenance_mode is the host's (with host_maintenance_mode_reason beside it).
func (h v2Host) raw(clusterUUID string) rawHost {
	if h.ClusterUUID != "" {
		clusterUUID = h.ClusterUUID
	}
	return rawHost{
		key: h.UUID, clusterUUID: clusterUUID, name: h.Name, hostType: h.HostType,
		cvmAddress: h.ServiceVMExternalIP, natAddress: h.ServiceVMNATIP, natPort: int(h.ServiceVMNATPort),
		hypervisorAddress: h.HypervisorAddress,
		reportsState:      true, nodeStatus: h.State, hypervisorState: h.HypervisorState,
		connectionState: h.ConnectionState, hostMaintenance: isTrue(h.HostInMaintenanceMode),
	}
}
