package prism

import (
	"context"
	"net/http"
)

// v3 (Prism Central, API.md §3).

const v3Base = "/api/nutanix/v3"

type v3ListRequest struct {
	Kind   string `json:"kind"`
	Length int    `json:"length"`
	Offset int    `json:"offset"`
}

type v3ListMetadata struct {
	TotalMatches *int `json:"total_matches"`
}

type v3Cluster struct {
	Metadata struct {
		UUID string `json:"uuid"`
	} `json:"metadata"`
	Status struct {
		Name      string `json:"name"`
		Resources struct {
			Network struct {
				ExternalIP string `json:"external_ip"`
			} `json:"network"`
			Config struct {
				ServiceList []string `json:"service_list"`
			} `json:"config"`
		} `json:"resources"`
	} `json:"status"`
}

type v3Host struct {
	Metadata struct {
		UUID string `json:"uuid"`
	} `json:"metadata"`
	Status struct {
		Name             string `json:"name"`
		ClusterReference *struct {
			UUID string `json:"uuid"`
		} `json:"cluster_reference"`
		Resources struct {
			HostType     string `json:"host_type"`
			ControllerVM *struct {
				IP string `json:"ip"`
			} `json:"controller_vm"`
			Hypervisor *struct {
				IP string `json:"ip"`
			} `json:"hypervisor"`
		} `json:"resources"`
	} `json:"status"`
}

func (c *Client) v3Clusters(ctx context.Context) ([]Cluster, error) {
	var out []Cluster
	err := v3Pages(ctx, c, "/clusters/list", "cluster", func(cl v3Cluster) string { return cl.Metadata.UUID },
		func(cl v3Cluster) {
			if !isAOSCluster(cl.Status.Resources.Config.ServiceList) {
				return
			}
			out = append(out, Cluster{Name: cl.Status.Name, UUID: cl.Metadata.UUID,
				Address: cl.Status.Resources.Network.ExternalIP})
		})
	return out, err
}

func (c *Client) v3Hosts(ctx context.Context) ([]hostInfo, error) {
	var out []hostInfo
	err := v3Pages(ctx, c, "/hosts/list", "host", func(h v3Host) string { return h.Metadata.UUID },
		func(h v3Host) {
			// The PC's own pseudo-host has neither a name nor a cluster: not a host of ours.
			if h.Status.Name == "" || h.Status.ClusterReference == nil {
				return
			}
			// v3 has no maintenance or node-removal field (status.state is the intent state).
			cvm := CVM{Host: h.Status.Name, State: "normal"}
			if vm := h.Status.Resources.ControllerVM; vm != nil {
				cvm.Address = vm.IP
			}
			if hv := h.Status.Resources.Hypervisor; hv != nil {
				cvm.HypervisorAddress = hv.IP
			}
			cvm.Name = cvmName(cvm.Host, cvm.Address)
			out = append(out, hostInfo{clusterUUID: h.Status.ClusterReference.UUID, cvm: cvm})
		})
	return out, err
}

// v3Pages walks length/offset. hosts/list on real PCs ignores both and returns every host
// each time, so entities are deduplicated by UUID and the walk stops on an empty or
// all-duplicate page, or once total_matches entities are in.
func v3Pages[T any](ctx context.Context, c *Client, path, kind string, key func(T) string, each func(T)) error {
	length := c.cfg.PageSize
	if length <= 0 || length > 500 {
		length = 500
	}
	seen := map[string]bool{}
	offset := 0
	for range 100000 {
		var resp struct {
			Metadata v3ListMetadata `json:"metadata"`
			Entities []T            `json:"entities"`
		}
		req := v3ListRequest{Kind: kind, Length: length, Offset: offset}
		if err := c.request(ctx, http.MethodPost, v3Base+path, nil, req, &resp); err != nil {
			return err
		}
		added := 0
		for _, e := range resp.Entities {
			k := key(e)
			if k != "" && seen[k] {
				continue
			}
			seen[k] = true
			added++
			each(e)
		}
		if added == 0 {
			return nil
		}
		offset += len(resp.Entities)
		if total := resp.Metadata.TotalMatches; total != nil {
			if len(seen) >= *total {
				return nil
			}
		} else if len(resp.Entities) < length {
			return nil
		}
	}
	return nil
}
