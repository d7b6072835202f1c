package prism

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
)

// v4Versions are the clustermgmt path versions tried in order: GA first, then the release
// candidates of pc.2024.1 / pc.2023.3 (API.md §4). Newer PCs still serve v4.0.
var v4Versions = []string{"v4.0", "v4.0.b2", "v4.0.b1"}

// API families as reported in Inventory.API.
const (
	APIv3 = "v3"
	APIv2 = "v2"
)

// ListClusters returns the AOS clusters this Prism knows: every cluster a Prism Central
// manages (never the PC itself), or the one cluster of a Prism Element.
func (c *Client) ListClusters(ctx context.Context) ([]Cluster, error) {
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.clusters), nil
}

// ListCVMs returns the CVMs of the named clusters (names or UUIDs; empty: all AOS clusters).
// Hosts without a CVM are left out; Inventory says how many.
func (c *Client) ListCVMs(ctx context.Context, clusters []string) ([]CVM, error) {
	inv, err := c.Inventory(ctx, clusters)
	if err != nil {
		return nil, err
	}
	return inv.CVMs, nil
}

// Inventory is ListCVMs with the API used, the selected clusters and the compute-only
// hosts that were skipped.
func (c *Client) Inventory(ctx context.Context, clusters []string) (*Inventory, error) {
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	api, known := c.api, slices.Clone(c.clusters)
	c.mu.Unlock()

	selected, err := c.selectClusters(known, clusters)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{API: api, Clusters: selected}
	var hosts []hostInfo
	switch api {
	case APIv2:
		hosts, err = c.v2Hosts(ctx)
	case APIv3:
		hosts, err = c.v3Hosts(ctx)
	default:
		hosts, err = c.v4AllHosts(ctx, api, selected)
	}
	if err != nil {
		return nil, c.finalize(err)
	}

	order := map[string]int{}
	for i, cl := range selected {
		order[cl.UUID] = i
	}
	for _, h := range hosts {
		i, ok := order[h.clusterUUID]
		if !ok {
			continue // another cluster, or the PC's own pseudo-host
		}
		if h.cvm.Address == "" {
			inv.ComputeOnly = append(inv.ComputeOnly, h.cvm.Host)
			continue
		}
		h.cvm.Cluster = selected[i].Name
		h.cvm.ClusterUUID = selected[i].UUID
		inv.CVMs = append(inv.CVMs, h.cvm)
	}
	sort.SliceStable(inv.CVMs, func(a, b int) bool {
		oa, ob := order[inv.CVMs[a].ClusterUUID], order[inv.CVMs[b].ClusterUUID]
		if oa != ob {
			return oa < ob
		}
		return inv.CVMs[a].Host < inv.CVMs[b].Host
	})
	return inv, nil
}

// hostInfo is a host of any API family, already turned into a CVM (Address empty: no CVM).
type hostInfo struct {
	clusterUUID string
	cvm         CVM
}

// discover finds the API family and lists the clusters, once per client.
func (c *Client) discover(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.api != "" {
		return nil
	}
	// v4FailedErr is a failing (5xx) v4 service: the older APIs are tried before giving up,
	// since they are served by other services that may well be up.
	var v4FailedErr error
	for _, v := range v4Versions {
		clusters, err := c.v4Clusters(ctx, v)
		if err == nil {
			c.api, c.clusters = v, clusters
			return nil
		}
		var se *ServerError
		if errors.As(err, &se) && se.Status >= 500 {
			v4FailedErr = err
			break
		}
		if !isStatus(err, http.StatusNotFound) {
			return c.finalize(err)
		}
	}
	// No v4 clustermgmt: a Prism Central before pc.2023.3 serves v3; a Prism Element
	// answers 404 to v3 list calls and serves v2.0.
	clusters, err := c.v3Clusters(ctx)
	if err == nil {
		c.api, c.clusters = APIv3, clusters
		return nil
	}
	if !isStatus(err, http.StatusNotFound) {
		return c.finalize(firstError(v4FailedErr, err))
	}
	clusters, err = c.v2Cluster(ctx)
	if err == nil {
		c.api, c.clusters = APIv2, clusters
		return nil
	}
	if v4FailedErr != nil {
		return v4FailedErr
	}
	if isStatus(err, http.StatusNotFound) {
		return &ProtocolError{Address: c.address, Endpoint: "GET " + v2Base + "/cluster",
			Detail: "no Prism API answered (v4 clustermgmt, v3 and v2.0 all 404)"}
	}
	return c.finalize(err)
}

func firstError(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// finalize gives a user-facing type to the 400/404 answers that discovery had kept open.
func (c *Client) finalize(err error) error {
	var se *statusError
	if !errors.As(err, &se) {
		return err
	}
	if se.status == http.StatusNotFound && se.message == "" {
		return &ProtocolError{Address: c.address, Endpoint: se.endpoint, Detail: "not found (404)"}
	}
	return &ServerError{Address: c.address, Endpoint: se.endpoint, Status: se.status, Message: se.message}
}

func isStatus(err error, status int) bool {
	var se *statusError
	return errors.As(err, &se) && se.status == status
}

// selectClusters maps names or UUIDs to clusters: UUIDs and exact names first, then a
// case-insensitive name when it is unique.
func (c *Client) selectClusters(known []Cluster, want []string) ([]Cluster, error) {
	if len(want) == 0 {
		return known, nil
	}
	var out []Cluster
	seen := map[string]bool{}
	for _, w := range want {
		w = strings.TrimSpace(w)
		idx := -1
		for i, cl := range known {
			if cl.Name == w || strings.EqualFold(cl.UUID, w) {
				idx = i
				break
			}
		}
		if idx < 0 {
			n := 0
			for i, cl := range known {
				if strings.EqualFold(cl.Name, w) {
					idx, n = i, n+1
				}
			}
			if n > 1 {
				idx = -1
			}
		}
		if idx < 0 {
			names := make([]string, len(known))
			for i, cl := range known {
				names[i] = cl.Name
			}
			return nil, &NotFoundError{Address: c.address, Cluster: w, Known: names}
		}
		if !seen[known[idx].UUID] {
			seen[known[idx].UUID] = true
			out = append(out, known[idx])
		}
	}
	return out, nil
}

// isAOSCluster keeps the clusters that run CVMs: never Prism Central (found by function,
// not by its position in the list, which varies).
func isAOSCluster(functions []string) bool {
	for _, f := range functions {
		if strings.EqualFold(f, "PRISM_CENTRAL") {
			return false
		}
	}
	if len(functions) == 0 {
		return true
	}
	for _, f := range functions {
		if strings.EqualFold(f, "AOS") {
			return true
		}
	}
	return false
}

// cvmName derives the CVM's name from its host's by the NTNX-<block>-<pos>-CVM convention.
func cvmName(host, address string) string {
	if host == "" {
		return address
	}
	return host + "-CVM"
}

// v4Parallel bounds the host lists asked for at once: a PC may manage dozens of clusters,
// and one list per cluster in turn adds up.
const v4Parallel = 4

// v4AllHosts lists the hosts of every selected cluster, a few clusters at a time, keeping
// the clusters' order.
func (c *Client) v4AllHosts(ctx context.Context, version string, selected []Cluster) ([]hostInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([][]hostInfo, len(selected))
	errs := make([]error, len(selected))
	sem := make(chan struct{}, v4Parallel)
	var wg sync.WaitGroup
	for i, cl := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i], errs[i] = c.v4Hosts(ctx, version, cl)
			if errs[i] != nil && !isPCHostList(errs[i]) {
				cancel()
			}
		}()
	}
	wg.Wait()
	var out []hostInfo
	var firstErr error
	for i := range selected {
		switch err := errs[i]; {
		case err == nil:
			out = append(out, results[i]...)
		case isPCHostList(err):
			// A PC entry that slipped through the function filter: it has no hosts.
		case firstErr == nil || errors.Is(firstErr, context.Canceled):
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// isPCHostList is the answer a PC gives when asked for the hosts of its own cluster entry:
// error code CLU-10008, recorded with status 400 but recognised by the code whatever the
// status, since the code is what names the case.
func isPCHostList(err error) bool {
	var se *statusError
	var srv *ServerError
	switch {
	case errors.As(err, &se):
		return strings.Contains(se.message, pcHostListCode)
	case errors.As(err, &srv):
		return strings.Contains(srv.Message, pcHostListCode)
	}
	return false
}

// pcHostListCode is v4's "Host list api is not supported on PC cluster uuid".
const pcHostListCode = "CLU-10008"
