package prism

import (
	"context"
	"errors"
	"fmt"
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

// Inventory is ListCVMs with the API used, the selected clusters, and what was left out:
// compute-only hosts, hosts and addresses that failed their checks, unavailable clusters and
// clusters whose hosts could not be listed. It fails only when no selected cluster could be
// listed at all.
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
	var listable, unavailable []Cluster
	for _, cl := range selected {
		if cl.Unavailable {
			unavailable = append(unavailable, cl)
			inv.Notices = append(inv.Notices, Notice{
				Message: fmt.Sprintf("cluster %s is not available in Prism Central: its CVMs are left out", show(cl.Name)),
				Err:     &UnavailableError{Address: c.address, Clusters: []Cluster{cl}}})
			continue
		}
		listable = append(listable, cl)
	}
	if len(listable) == 0 && len(unavailable) > 0 {
		return nil, &UnavailableError{Address: c.address, Clusters: unavailable}
	}

	b := &budget{}
	var hosts []rawHost
	failed := map[string]error{}
	switch api {
	case APIv2:
		hosts, err = c.v2Hosts(ctx, b)
	case APIv3:
		hosts, err = c.v3Hosts(ctx, b)
	default:
		var notices []Notice
		hosts, failed, notices, err = c.v4AllHosts(ctx, b, api, listable)
		inv.Notices = append(inv.Notices, notices...)
	}
	if err != nil {
		return nil, c.finalize(err)
	}

	order := map[string]int{}
	for i, cl := range listable {
		order[cl.UUID] = i
		if err, ok := failed[cl.UUID]; ok {
			err = c.finalize(err)
			inv.Failed = append(inv.Failed, cl.Name)
			inv.Notices = append(inv.Notices, Notice{Message: fmt.Sprintf("cluster %s: its CVMs are left out: %v", show(cl.Name), err), Err: err})
		}
	}
	if len(listable) > 0 && len(failed) == len(listable) {
		return nil, c.finalize(failed[listable[0].UUID])
	}
	for _, h := range hosts {
		i, ok := order[h.clusterUUID]
		if !ok {
			continue // another cluster, or an unavailable one
		}
		out := h.check(listable[i])
		inv.Notices = append(inv.Notices, out.notices...)
		switch {
		case out.computeOnly:
			inv.ComputeOnly = append(inv.ComputeOnly, bounded(h.name))
		case out.ok:
			inv.CVMs = append(inv.CVMs, out.cvm)
		}
	}
	sort.SliceStable(inv.CVMs, func(a, b int) bool {
		oa, ob := order[inv.CVMs[a].ClusterUUID], order[inv.CVMs[b].ClusterUUID]
		if oa != ob {
			return oa < ob
		}
		return inv.CVMs[a].Host < inv.CVMs[b].Host
	})
	uniqueNames(inv.CVMs)
	return inv, nil
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
	b := &budget{}
	for _, v := range v4Versions {
		clusters, err := c.v4Clusters(ctx, b, v)
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
	clusters, err := c.v3Clusters(ctx, b)
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

// v4Parallel bounds the host lists asked for at once: a PC may manage dozens of clusters,
// and one list per cluster in turn adds up.
const v4Parallel = 4

// v4AllHosts lists the hosts of every selected cluster, a few clusters at a time, keeping
// the clusters' order. A cluster whose hosts cannot be listed is in failed, by UUID, and
// the others go on; err is only what ends them all: the inventory's bounds, or ctx.
// Where v4.3's clusters/{extId}/cvms is served, each host's CVM gets its own name.
func (c *Client) v4AllHosts(parent context.Context, b *budget, version string, selected []Cluster) (hosts []rawHost, failed map[string]error, notices []Notice, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	results := make([][]rawHost, len(selected))
	errs, nameErrs := make([]error, len(selected)), make([]error, len(selected))
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
			results[i], errs[i] = c.v4Hosts(ctx, b, version, cl)
			if errs[i] == nil && version == v4Versions[0] {
				if err := c.nameCVMs(ctx, b, cl, results[i]); err != nil {
					// The names are a nicety: without them the hosts are still listed.
					if errors.As(err, new(*TooLargeError)) || ctx.Err() != nil {
						errs[i] = err
					} else {
						nameErrs[i] = err
					}
				}
			}
			var tooLarge *TooLargeError
			if errors.As(errs[i], &tooLarge) {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		var tooLarge *TooLargeError
		if errors.As(e, &tooLarge) {
			return nil, nil, nil, e
		}
	}
	if err := parent.Err(); err != nil {
		return nil, nil, nil, err
	}
	failed = map[string]error{}
	for i, cl := range selected {
		switch e := errs[i]; {
		case e == nil:
			hosts = append(hosts, results[i]...)
			if ne := nameErrs[i]; ne != nil {
				notices = append(notices, Notice{Message: fmt.Sprintf("cluster %s: CVM names are derived from host names: %v",
					show(cl.Name), c.finalize(ne))})
			}
		case isPCHostList(e):
			// A PC entry that slipped through the function filter: it has no hosts.
		default:
			failed[cl.UUID] = e
		}
	}
	return hosts, failed, notices, nil
}

// nameCVMs gives the hosts of cl their CVM's own name from v4.3's clusters/{extId}/cvms,
// matched by node (the host's extId) or by address. Whether the Prism serves it at all is
// found once, by the first cluster to ask while the others wait, so a Prism that does not
// (404) costs one request per client; the names are then derived from the host names.
func (c *Client) nameCVMs(ctx context.Context, b *budget, cl Cluster, hosts []rawHost) error {
	if !c.cvmsKnown.Load() {
		c.cvmsProbe.Lock()
		defer c.cvmsProbe.Unlock()
	}
	if c.cvmsKnown.Load() && !c.cvmsServed.Load() {
		return nil
	}
	cvms, served, err := c.v4CVMs(ctx, b, cl)
	if err != nil {
		return err
	}
	c.cvmsServed.Store(served)
	c.cvmsKnown.Store(true)
	byNode, byAddress := map[string]string{}, map[string]string{}
	for _, v := range cvms {
		if v.Name == "" {
			continue
		}
		if v.NodeExtID != "" {
			byNode[v.NodeExtID] = v.Name
		}
		if v.IPAddress != "" {
			byAddress[string(v.IPAddress)] = v.Name
		}
	}
	for i, h := range hosts {
		if n, ok := byNode[h.key]; ok && h.key != "" {
			hosts[i].cvmName = n
		} else if n, ok := byAddress[h.cvmAddress]; ok && h.cvmAddress != "" {
			hosts[i].cvmName = n
		}
	}
	return nil
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
