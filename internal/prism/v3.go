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

// v3Page is one answer of a v3 list call.
type v3Page[T any] struct {
	Metadata v3ListMetadata `json:"metadata"`
	Entities []T            `json:"entities"`
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
				IsAvailable *bool    `json:"is_available"`
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
				IP      string  `json:"ip"`
				NATIP   string  `json:"nat_ip"`
				NATPort flexInt `json:"nat_port"`
			} `json:"controller_vm"`
			Hypervisor *struct {
				IP string `json:"ip"`
			} `json:"hypervisor"`
		} `json:"resources"`
	} `json:"status"`
}

// parseV3Page decodes one answer of clusters/list or hosts/list.
func parseV3Page[T any](data []byte) (v3Page[T], error) {
	var p v3Page[T]
	err := decodeJSON(data, &p)
	return p, err
}

// cluster is the entity as a Cluster, and whether it runs CVMs (never the PC itself).
func (cl v3Cluster) cluster() (Cluster, bool) {
	r := cl.Status.Resources
	avail := r.Config.IsAvailable
	return Cluster{Name: cl.Status.Name, UUID: cl.Metadata.UUID, Address: checkedAddress(r.Network.ExternalIP),
		Unavailable: avail != nil && !*avail}, isAOSCluster(r.Config.ServiceList)
}

// raw is the host as the other families see it; false for the PC's own pseudo-host, which
// has neither a name nor a cluster. v3 hosts carry no state: no maintenance of host or
// CVM, no node status (status.state is the intent state).
func (h v3Host) raw() (rawHost, bool) {
	st := h.Status
	if st.Name == "" || st.ClusterReference == nil {
		return rawHost{}, false
	}
	out := rawHost{key: h.Metadata.UUID, clusterUUID: st.ClusterReference.UUID, name: st.Name, hostType: st.Resources.HostType}
	if vm := st.Resources.ControllerVM; vm != nil {
		out.cvmAddress, out.natAddress, out.natPort = vm.IP, vm.NATIP, int(vm.NATPort)
	}
	if hv := st.Resources.Hypervisor; hv != nil {
		out.hypervisorAddress = hv.IP
	}
	return out, true
}

func (c *Client) v3Clusters(ctx context.Context, b *budget) ([]Cluster, error) {
	var out []Cluster
	err := v3Pages(ctx, c, b, "/clusters/list", "cluster", false, func(cl v3Cluster) string { return cl.Metadata.UUID },
		func(e v3Cluster) {
			if cl, aos := e.cluster(); aos {
				out = append(out, cl)
			}
		})
	return out, err
}

func (c *Client) v3Hosts(ctx context.Context, b *budget) ([]rawHost, error) {
	var out []rawHost
	err := v3Pages(ctx, c, b, "/hosts/list", "host", true, func(h v3Host) string { return h.Metadata.UUID },
		func(h v3Host) {
			if r, ok := h.raw(); ok {
				out = append(out, r)
			}
		})
	return out, err
}

// v3Pages walks length/offset. hosts/list on real PCs ignores both and returns every host
// each time, so entities are deduplicated by UUID and the walk stops on an empty or
// all-duplicate page, or once total_matches entities are in.
func v3Pages[T any](ctx context.Context, c *Client, b *budget, path, kind string, hosts bool, key func(T) string, each func(T)) error {
	length := c.cfg.PageSize
	if length <= 0 || length > 500 {
		length = 500
	}
	offset := 0
	return pageReader[T]{
		get: func(int) ([]byte, http.Header, error) {
			return c.fetch(ctx, http.MethodPost, v3Base+path, nil, v3ListRequest{Kind: kind, Length: length, Offset: offset})
		},
		decode: func(data []byte) ([]T, func(int, int) bool, error) {
			p, err := parseV3Page[T](data)
			offset += len(p.Entities)
			return p.Entities, func(_, entities int) bool {
				if total := p.Metadata.TotalMatches; total != nil {
					return entities < *total
				}
				return len(p.Entities) >= length
			}, err
		},
		key:   key,
		hosts: hosts,
	}.read(c.newWalk(b, "POST "+v3Base+path), each)
}
