package prism

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// v4 clustermgmt (API.md §4). Only the fields used are declared; everything else, including
// $objectType and $reserved, is ignored.

type v4IP struct {
	IPv4 *struct {
		Value string `json:"value"`
	} `json:"ipv4"`
	IPv6 *struct {
		Value string `json:"value"`
	} `json:"ipv6"`
}

func (ip *v4IP) String() string {
	switch {
	case ip == nil:
		return ""
	case ip.IPv4 != nil && ip.IPv4.Value != "":
		return ip.IPv4.Value
	case ip.IPv6 != nil:
		return ip.IPv6.Value
	}
	return ""
}

// v4Addr is an address written either way the SDK versions write it: a common.v1
// IPAddress object ({"ipv4": {"value": ...}}, GA and the release candidates) or a plain
// string (v4.0.a1's natIp).
type v4Addr string

func (a *v4Addr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = v4Addr(s)
		return nil
	}
	var ip *v4IP
	if err := json.Unmarshal(b, &ip); err != nil {
		return err
	}
	*a = v4Addr(ip.String())
	return nil
}

// flexInt is a port as any API writes it: a number, a numeric string, or null (0). A
// value that is no whole number in int's range is -1, which no port check passes.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	switch {
	case err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32:
		*n = -1
	default:
		*n = flexInt(f)
	}
	return nil
}

type v4Metadata struct {
	TotalAvailableResults *int `json:"totalAvailableResults"`
	Links                 []struct {
		Href string `json:"href"`
		Rel  string `json:"rel"`
	} `json:"links"`
}

func (m v4Metadata) hasNext() bool {
	for _, l := range m.Links {
		if l.Rel == "next" && l.Href != "" {
			return true
		}
	}
	return false
}

// v4Page is one answer of a v4 list call.
type v4Page[T any] struct {
	Data     []T        `json:"data"`
	Metadata v4Metadata `json:"metadata"`
}

type v4Cluster struct {
	ExtID  string `json:"extId"`
	Name   string `json:"name"`
	Config struct {
		ClusterFunction []string `json:"clusterFunction"`
		IsAvailable     *bool    `json:"isAvailable"`
	} `json:"config"`
	Network struct {
		ExternalAddress *v4IP `json:"externalAddress"`
	} `json:"network"`
}

type v4Host struct {
	ExtID    string `json:"extId"`
	HostName string `json:"hostName"`
	HostType string `json:"hostType"` // HYPER_CONVERGED, COMPUTE_ONLY, STORAGE_ONLY
	Cluster  struct {
		UUID string `json:"uuid"`
		Name string `json:"name"`
	} `json:"cluster"`
	ControllerVM *struct {
		ExternalAddress     *v4IP   `json:"externalAddress"`
		NATIP               v4Addr  `json:"natIp"`
		NATPort             flexInt `json:"natPort"`
		IsInMaintenanceMode *bool   `json:"isInMaintenanceMode"`
		MaintenanceMode     *bool   `json:"maintenanceMode"` // v4.0.b2's name for it
	} `json:"controllerVm"`
	Hypervisor *struct {
		ExternalAddress *v4IP  `json:"externalAddress"`
		State           string `json:"state"`
		ConnectionState string `json:"acropolisConnectionState"`
	} `json:"hypervisor"`
	NodeStatus string `json:"nodeStatus"`
	// MaintenanceState is the host's maintenance state (the SDK: "Host Maintenance State"),
	// not the CVM's, which is controllerVm.isInMaintenanceMode.
	MaintenanceState string `json:"maintenanceState"`
}

// v4CVM is an entry of v4.3's clusters/{extId}/cvms: the CVM's own name.
type v4CVM struct {
	ExtID     string `json:"extId"`
	Name      string `json:"name"`
	IPAddress v4Addr `json:"ipAddress"`
	NodeExtID string `json:"nodeExtId"`
}

// parseV4Page decodes one answer of a v4 list call.
func parseV4Page[T any](data []byte) (v4Page[T], error) {
	var p v4Page[T]
	err := decodeJSON(data, &p)
	return p, err
}

// cluster is the entity as a Cluster, and whether it runs CVMs (never the PC itself).
func (cl v4Cluster) cluster() (Cluster, bool) {
	avail := cl.Config.IsAvailable
	return Cluster{Name: cl.Name, UUID: cl.ExtID, Address: checkedAddress(cl.Network.ExternalAddress.String()),
		Unavailable: avail != nil && !*avail}, isAOSCluster(cl.Config.ClusterFunction)
}

// raw is the host as the other families see it; clusterUUID is the cluster asked for,
// used when the host does not name its own.
func (h v4Host) raw(clusterUUID string) rawHost {
	out := rawHost{key: h.ExtID, clusterUUID: h.Cluster.UUID, name: h.HostName, hostType: h.HostType,
		reportsState: true, nodeStatus: h.NodeStatus, maintenanceState: h.MaintenanceState}
	if out.clusterUUID == "" {
		out.clusterUUID = clusterUUID
	}
	if vm := h.ControllerVM; vm != nil {
		out.cvmAddress = vm.ExternalAddress.String()
		out.natAddress, out.natPort = string(vm.NATIP), int(vm.NATPort)
		out.cvmMaintenance = isTrue(vm.IsInMaintenanceMode) || isTrue(vm.MaintenanceMode)
	}
	if hv := h.Hypervisor; hv != nil {
		out.hypervisorAddress = hv.ExternalAddress.String()
		out.hypervisorState, out.connectionState = hv.State, hv.ConnectionState
	}
	return out
}

func v4Base(version string) string { return "/api/clustermgmt/" + version + "/config" }

// v4CVMsVersion is the clustermgmt version that serves clusters/{extId}/cvms.
const v4CVMsVersion = "v4.3"

func (c *Client) v4Clusters(ctx context.Context, b *budget, version string) ([]Cluster, error) {
	var out []Cluster
	err := v4Pages(ctx, c, b, v4Base(version)+"/clusters", false,
		func(cl v4Cluster) string { return cl.ExtID },
		func(e v4Cluster) {
			if cl, aos := e.cluster(); aos {
				out = append(out, cl)
			}
		})
	return out, err
}

func (c *Client) v4Hosts(ctx context.Context, b *budget, version string, cl Cluster) ([]rawHost, error) {
	var out []rawHost
	path := v4Base(version) + "/clusters/" + url.PathEscape(cl.UUID) + "/hosts"
	err := v4Pages(ctx, c, b, path, true, func(h v4Host) string { return h.ExtID },
		func(h v4Host) { out = append(out, h.raw(cl.UUID)) })
	return out, err
}

// v4CVMs lists the CVMs of a cluster where v4.3's clusters/{extId}/cvms is served, for
// their own names. ok is false when it is not served (404).
func (c *Client) v4CVMs(ctx context.Context, b *budget, cl Cluster) (cvms []v4CVM, ok bool, err error) {
	path := v4Base(v4CVMsVersion) + "/clusters/" + url.PathEscape(cl.UUID) + "/cvms"
	err = v4Pages(ctx, c, b, path, false, func(v v4CVM) string { return v.ExtID },
		func(v v4CVM) { cvms = append(cvms, v) })
	if isStatus(err, http.StatusNotFound) {
		return nil, false, nil
	}
	return cvms, err == nil, err
}

// v4Pages walks $page/$limit: on while a "next" link is given or totalAvailableResults says
// more remain; off on an empty page or a page that adds nothing new.
func v4Pages[T any](ctx context.Context, c *Client, b *budget, path string, hosts bool, key func(T) string, each func(T)) error {
	limit := c.cfg.PageSize
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return pageReader[T]{
		get: func(page int) ([]byte, http.Header, error) {
			q := url.Values{"$page": {strconv.Itoa(page)}, "$limit": {strconv.Itoa(limit)}}
			return c.fetch(ctx, http.MethodGet, path, q, nil)
		},
		decode: func(data []byte) ([]T, func(int, int) bool, error) {
			p, err := parseV4Page[T](data)
			return p.Data, func(page, _ int) bool {
				total := p.Metadata.TotalAvailableResults
				return p.Metadata.hasNext() || (total != nil && (page+1)*limit < *total)
			}, err
		},
		key:   key,
		hosts: hosts,
	}.read(c.newWalk(b, "GET "+path), each)
}

func isTrue(b *bool) bool { return b != nil && *b }
