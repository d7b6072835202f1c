package prism

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

type v4Cluster struct {
	ExtID  string `json:"extId"`
	Name   string `json:"name"`
	Config struct {
		ClusterFunction []string `json:"clusterFunction"`
	} `json:"config"`
	Network struct {
		ExternalAddress *v4IP `json:"externalAddress"`
	} `json:"network"`
}

type v4Host struct {
	ExtID    string `json:"extId"`
	HostName string `json:"hostName"`
	HostType string `json:"hostType"`
	Cluster  struct {
		UUID string `json:"uuid"`
		Name string `json:"name"`
	} `json:"cluster"`
	ControllerVM *struct {
		ExternalAddress     *v4IP `json:"externalAddress"`
		IsInMaintenanceMode *bool `json:"isInMaintenanceMode"`
		MaintenanceMode     *bool `json:"maintenanceMode"` // v4.0.b2's name for it
	} `json:"controllerVm"`
	Hypervisor *struct {
		ExternalAddress *v4IP  `json:"externalAddress"`
		State           string `json:"state"`
	} `json:"hypervisor"`
	NodeStatus       string `json:"nodeStatus"`
	MaintenanceState string `json:"maintenanceState"`
}

func v4Base(version string) string { return "/api/clustermgmt/" + version + "/config" }

func (c *Client) v4Clusters(ctx context.Context, version string) ([]Cluster, error) {
	var out []Cluster
	err := v4Pages(ctx, c, v4Base(version)+"/clusters", func(cl v4Cluster) string { return cl.ExtID },
		func(cl v4Cluster) {
			if !isAOSCluster(cl.Config.ClusterFunction) {
				return
			}
			out = append(out, Cluster{Name: cl.Name, UUID: cl.ExtID, Address: cl.Network.ExternalAddress.String()})
		})
	return out, err
}

func (c *Client) v4Hosts(ctx context.Context, version string, cl Cluster) ([]hostInfo, error) {
	var out []hostInfo
	path := v4Base(version) + "/clusters/" + url.PathEscape(cl.UUID) + "/hosts"
	err := v4Pages(ctx, c, path, func(h v4Host) string { return h.ExtID }, func(h v4Host) {
		cvm := CVM{Host: h.HostName, NodeStatus: h.NodeStatus, State: "normal"}
		if h.ControllerVM != nil {
			cvm.Address = h.ControllerVM.ExternalAddress.String()
			cvm.InMaintenance = isTrue(h.ControllerVM.IsInMaintenanceMode) || isTrue(h.ControllerVM.MaintenanceMode)
		}
		hvState := ""
		if h.Hypervisor != nil {
			cvm.HypervisorAddress = h.Hypervisor.ExternalAddress.String()
			hvState = h.Hypervisor.State
		}
		ms := strings.ToLower(h.MaintenanceState)
		if ms != "" && ms != "normal" {
			cvm.InMaintenance = true
		}
		switch {
		case h.NodeStatus == "TO_BE_REMOVED" || h.NodeStatus == "OK_TO_BE_REMOVED":
			cvm.State = "being-removed"
		case cvm.InMaintenance:
			cvm.State = "maintenance"
		case hvState == "ENTERING_MAINTENANCE_MODE" || hvState == "ENTERED_MAINTENANCE_MODE":
			cvm.State = "host-maintenance"
		case h.NodeStatus == "NEW_NODE":
			cvm.State = "new"
		case h.NodeStatus != "" && h.NodeStatus != "NORMAL":
			cvm.State = strings.ReplaceAll(strings.ToLower(h.NodeStatus), "_", "-")
		}
		cvm.Name = cvmName(h.HostName, cvm.Address)
		uuid := h.Cluster.UUID
		if uuid == "" {
			uuid = cl.UUID
		}
		out = append(out, hostInfo{clusterUUID: uuid, cvm: cvm})
	})
	return out, err
}

// v4Pages walks $page/$limit: on while a "next" link is given or totalAvailableResults says
// more remain; off on an empty page or a page that adds nothing new.
func v4Pages[T any](ctx context.Context, c *Client, path string, key func(T) string, each func(T)) error {
	limit := c.cfg.PageSize
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	seen := map[string]bool{}
	for page := 0; page < 100000; page++ {
		var resp struct {
			Data     []T        `json:"data"`
			Metadata v4Metadata `json:"metadata"`
		}
		q := url.Values{"$page": {strconv.Itoa(page)}, "$limit": {strconv.Itoa(limit)}}
		if err := c.request(ctx, http.MethodGet, path, q, nil, &resp); err != nil {
			return err
		}
		added := 0
		for _, item := range resp.Data {
			k := key(item)
			if k != "" && seen[k] {
				continue
			}
			seen[k] = true
			added++
			each(item)
		}
		if added == 0 {
			return nil
		}
		total := resp.Metadata.TotalAvailableResults
		more := resp.Metadata.hasNext() || (total != nil && (page+1)*limit < *total)
		if !more {
			return nil
		}
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }
