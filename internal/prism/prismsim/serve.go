package prismsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The serve* methods run with s.mu held and return a status and a document (or an exchange).

func (s *Sim) unknownPath() (int, any) {
	return 0, s.w.errors["v4-error-404-unknown-path.json"]
}

func (s *Sim) serveV4(r *http.Request) (int, any) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/clustermgmt/"), "/"), "/")
	cvms := s.opts.CVMsEndpoint && len(parts) == 5 && parts[0] == "v4.3" && parts[1] == "config" &&
		parts[2] == "clusters" && parts[4] == "cvms"
	if !cvms && (len(parts) < 3 || parts[0] != s.opts.V4Version || parts[1] != "config" || parts[2] != "clusters" ||
		(len(parts) != 3 && (len(parts) != 5 || parts[4] != "hosts"))) {
		return s.unknownPath()
	}
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, v4Error("CLU-10405", "METHOD_NOT_ALLOWED", "method not allowed")
	}
	q := r.URL.Query()
	limit := atoiDefault(q.Get("$limit"), 50)
	page := atoiDefault(q.Get("$page"), 0)
	if limit < 1 || limit > 100 || page < 0 {
		return http.StatusBadRequest, v4Error("CLU-10400", "SCHEMA_VALIDATION_ERROR",
			fmt.Sprintf("invalid $limit %s or $page %s", q.Get("$limit"), q.Get("$page")))
	}
	var items []obj
	envelope := s.w.v4ClustersEnvelope
	if len(parts) == 3 {
		for _, c := range s.w.v4Clusters {
			if s.opts.Mode == PE && c["extId"] != s.w.peUUID {
				continue
			}
			items = append(items, c)
		}
	} else {
		id := parts[3]
		if id == s.w.pcUUID && s.opts.Mode == PC {
			ex := s.exchangeWith("v4-error-pc-cluster-hosts.json", "7c1e2a40-5b3d-4f6e-9a8b-0c1d2e3f4a50", id)
			if s.opts.PCHostsStatus != 0 {
				ex.Status = s.opts.PCHostsStatus
			}
			return 0, ex
		}
		hosts, ok := s.w.v4Hosts[id]
		if !ok || (s.opts.Mode == PE && id != s.w.peUUID) {
			return 0, s.exchangeWith("v4-error-404.json", "00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6aff", id)
		}
		items = hosts
		envelope = s.w.v4HostsEnvelope
		if cvms {
			items, envelope = s.v4CVMs(id, hosts), obj{"$objectType": "clustermgmt.v4.config.ListCvmsByClusterIdApiResponse",
				"$reserved": obj{"$fv": "v4.r3"}}
		}
	}
	total := len(items)
	lo, hi := min(page*limit, total), min((page+1)*limit, total)
	data := make([]any, 0, hi-lo)
	for _, it := range items[lo:hi] {
		data = append(data, it)
	}
	link := func(p int, rel string) obj {
		return obj{"href": fmt.Sprintf("https://%s%s?$limit=%d&$page=%d", r.Host, r.URL.Path, limit, p), "rel": rel}
	}
	lastPage := max((total+limit-1)/limit-1, 0)
	links := []any{link(0, "first"), link(page, "self"), link(lastPage, "last")}
	if page > 0 {
		links = append(links, link(page-1, "prev"))
	}
	if hi < total {
		links = append(links, link(page+1, "next"))
	}
	return http.StatusOK, obj{
		"$objectType": envelope["$objectType"],
		"$reserved":   envelope["$reserved"],
		"data":        data,
		"metadata": obj{
			"$objectType": "common.v1.response.ApiResponseMetadata",
			"$reserved":   obj{"$fv": "v1.r0"},
			"flags": []any{
				obj{"name": "hasError", "value": false},
				obj{"name": "isPaginated", "value": true},
				obj{"name": "isTruncated", "value": false},
			},
			"links":                 links,
			"totalAvailableResults": total,
		},
	}
}

func (s *Sim) serveV3(r *http.Request, reqBody []byte) (int, any) {
	rest := strings.TrimPrefix(r.URL.Path, "/api/nutanix/v3/")
	if uuid, ok := strings.CutPrefix(rest, "clusters/"); ok && r.Method == http.MethodGet && !strings.Contains(uuid, "/") {
		for _, c := range s.w.v3Clusters {
			if str(c, "metadata", "uuid") == uuid {
				return http.StatusOK, c
			}
		}
		return 0, s.exchangeWith("v3-error-404.json", "00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6aff", uuid)
	}
	var items []obj
	kind := ""
	switch rest {
	case "clusters/list":
		items, kind = s.w.v3Clusters, "cluster"
	case "hosts/list":
		items, kind = s.w.v3Hosts, "host"
	default:
		return s.unknownPath()
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, v3Error(405, "METHOD_NOT_ALLOWED", "method not allowed")
	}
	var req struct {
		Kind   string `json:"kind"`
		Length *int   `json:"length"`
		Offset *int   `json:"offset"`
	}
	if err := json.Unmarshal(reqBody, &req); err != nil {
		return http.StatusBadRequest, v3Error(400, "INVALID_REQUEST", "invalid request body: "+err.Error())
	}
	total := len(items)
	offset, length := 0, total
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Length != nil {
		length = *req.Length
	}
	if offset < 0 || length < 1 || length > 500 {
		return http.StatusUnprocessableEntity, v3Error(422, "INVALID_REQUEST", "length must be 1..500 and offset >= 0")
	}
	if kind == "host" && s.opts.V3HostsIgnoreLength {
		offset, length = 0, total
	}
	lo, hi := min(offset, total), min(offset+length, total)
	ents := make([]any, 0, hi-lo)
	for _, e := range items[lo:hi] {
		ents = append(ents, e)
	}
	return http.StatusOK, obj{
		"api_version": s.w.v3Envelope["api_version"],
		"metadata":    obj{"kind": kind, "total_matches": total, "length": len(ents), "offset": offset},
		"entities":    ents,
	}
}

func v3Error(code int, reason, msg string) obj {
	return obj{"api_version": "3.1", "code": code, "state": "ERROR",
		"message_list": []any{obj{"message": msg, "reason": reason}}}
}

func (s *Sim) serveV2(r *http.Request) (int, any) {
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, obj{"message": "method not allowed"}
	}
	switch r.URL.Path {
	case "/PrismGateway/services/rest/v2.0/cluster":
		return http.StatusOK, s.w.v2Cluster
	case "/PrismGateway/services/rest/v2.0/hosts":
	default:
		return s.unknownPath()
	}
	q := r.URL.Query()
	total := len(s.w.v2Hosts)
	count := atoiDefault(q.Get("count"), total)
	page := atoiDefault(q.Get("page"), 1)
	if count < 1 || page < 1 {
		return http.StatusBadRequest, obj{"message": "count and page must be positive"}
	}
	lo, hi := min((page-1)*count, total), min(page*count, total)
	ents := make([]any, 0, hi-lo)
	for _, e := range s.w.v2Hosts[lo:hi] {
		ents = append(ents, e)
	}
	start, end := 0, 0
	if len(ents) > 0 {
		start, end = lo+1, hi
	}
	return http.StatusOK, obj{
		"metadata": obj{
			"grand_total_entities": total, "total_entities": total,
			"filter_criteria": "", "sort_criteria": "",
			"page": page, "count": count, "start_index": start, "end_index": end,
		},
		"entities": ents,
	}
}

// v4CVMs is v4.3's clusters/{extId}/cvms answer for these hosts: one Cvm per host that runs
// one, named by the CVM's own name.
func (s *Sim) v4CVMs(clusterID string, hosts []obj) []obj {
	var out []obj
	for i, h := range hosts {
		vm, ok := h["controllerVm"].(obj)
		if !ok {
			continue
		}
		id, _ := h["extId"].(string)
		out = append(out, obj{
			"$objectType":  "clustermgmt.v4.config.Cvm",
			"$reserved":    obj{"$fv": "v4.r3"},
			"extId":        fmt.Sprintf("c0a1c0a1-%04x-4000-8000-%012x", i, i+1),
			"name":         s.w.cvmNames[id],
			"ipAddress":    vm["externalAddress"],
			"nodeExtId":    id,
			"clusterExtId": clusterID,
		})
	}
	return out
}
