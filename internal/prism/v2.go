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
	UUID                  string `json:"uuid"`
	Name                  string `json:"name"`
	ServiceVMExternalIP   string `json:"service_vmexternal_ip"`
	HypervisorAddress     string `json:"hypervisor_address"`
	State                 string `json:"state"`
	HostType              string `json:"host_type"`
	HostInMaintenanceMode *bool  `json:"host_in_maintenance_mode"`
	ClusterUUID           string `json:"cluster_uuid"`
}

func (c *Client) v2Cluster(ctx context.Context) ([]Cluster, error) {
	var cl v2Cluster
	if err := c.request(ctx, http.MethodGet, v2Base+"/cluster", nil, nil, &cl); err != nil {
		return nil, err
	}
	uuid := cl.UUID
	if uuid == "" {
		uuid = cl.ClusterUUID
	}
	if uuid == "" && cl.Name == "" {
		return nil, &ProtocolError{Address: c.address, Endpoint: "GET " + v2Base + "/cluster",
			Detail: "no cluster name or uuid in the answer"}
	}
	return []Cluster{{Name: cl.Name, UUID: uuid, Address: cl.ExternalIP}}, nil
}

func (c *Client) v2Hosts(ctx context.Context) ([]hostInfo, error) {
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
	var out []hostInfo
	seen := map[string]bool{}
	for page := 1; page < 100000; page++ {
		var resp struct {
			Metadata struct {
				TotalEntities int `json:"total_entities"`
				EndIndex      int `json:"end_index"`
			} `json:"metadata"`
			Entities []v2Host `json:"entities"`
		}
		q := url.Values{"count": {strconv.Itoa(count)}, "page": {strconv.Itoa(page)}}
		if err := c.request(ctx, http.MethodGet, v2Base+"/hosts", q, nil, &resp); err != nil {
			return nil, err
		}
		added := 0
		for _, h := range resp.Entities {
			if h.UUID != "" && seen[h.UUID] {
				continue
			}
			seen[h.UUID] = true
			added++
			out = append(out, v2HostInfo(h, clusterUUID))
		}
		if added == 0 {
			break
		}
		m := resp.Metadata
		if m.TotalEntities > 0 && (m.EndIndex >= m.TotalEntities || len(seen) >= m.TotalEntities) {
			break
		}
		if m.TotalEntities == 0 && len(resp.Entities) < count {
			break
		}
	}
	return out, nil
}

func v2HostInfo(h v2Host, clusterUUID string) hostInfo {
	cvm := CVM{Host: h.Name, Address: h.ServiceVMExternalIP, HypervisorAddress: h.HypervisorAddress,
		NodeStatus: h.State, InMaintenance: isTrue(h.HostInMaintenanceMode), State: "normal"}
	switch h.State {
	case "MARKED_FOR_REMOVAL_BUT_NOT_DETACHABLE", "DETACHABLE":
		cvm.State = "being-removed"
	case "NEW":
		cvm.State = "new"
	}
	if cvm.State == "normal" && cvm.InMaintenance {
		cvm.State = "maintenance"
	}
	cvm.Name = cvmName(h.Name, cvm.Address)
	if h.ClusterUUID != "" {
		clusterUUID = h.ClusterUUID
	}
	return hostInfo{clusterUUID: clusterUUID, cvm: cvm}
}
