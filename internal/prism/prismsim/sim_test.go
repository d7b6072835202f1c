package prismsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func do(t *testing.T, s *Sim, method, target, body string, auth bool) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth {
		req.SetBasicAuth(DefaultUsername, DefaultPassword)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var doc map[string]any
	if rec.Body.Len() > 0 {
		_ = json.Unmarshal(rec.Body.Bytes(), &doc)
	}
	return rec, doc
}

func fixtureDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := Fixture(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// The paged v3 answers must be the recorded page fixtures, entity for entity.
func TestV3HostPagesMatchFixtures(t *testing.T) {
	s := New(Options{APIs: V3})
	for i, off := range []int{0, 2, 4} {
		body := `{"kind":"host","length":2,"offset":` + string(rune('0'+off)) + `}`
		rec, doc := do(t, s, http.MethodPost, "/api/nutanix/v3/hosts/list", body, true)
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		want := fixtureDoc(t, []string{"v3-hosts-list-page1.json", "v3-hosts-list-page2.json", "v3-hosts-list-page3.json"}[i])
		if !reflect.DeepEqual(doc["entities"], want["entities"]) || !reflect.DeepEqual(doc["metadata"], want["metadata"]) {
			t.Errorf("offset %d: answer differs from the page fixture", off)
		}
	}
	s = New(Options{APIs: V3, V3HostsIgnoreLength: true})
	_, doc := do(t, s, http.MethodPost, "/api/nutanix/v3/hosts/list", `{"kind":"host","length":2,"offset":2}`, true)
	if !reflect.DeepEqual(doc["entities"], fixtureDoc(t, "v3-hosts-list-all.json")["entities"]) {
		t.Error("ignore-length mode should answer every host")
	}
}

func TestErrorExchanges(t *testing.T) {
	tests := []struct {
		name, method, path string
		opts               Options
		auth               bool
		status             int
		bodyHas            string
	}{
		{"v4 401", "GET", "/api/clustermgmt/v4.0/config/clusters", Options{}, false, 401, "IAM-10401"},
		{"v3 401", "POST", "/api/nutanix/v3/clusters/list", Options{}, false, 401, "AUTHENTICATION_REQUIRED"},
		{"v2 401 empty", "GET", "/PrismGateway/services/rest/v2.0/hosts", Options{Mode: PE}, false, 401, ""},
		{"v3 403", "POST", "/api/nutanix/v3/hosts/list", Options{Forbidden: true}, true, 403, "ACCESS_DENIED"},
		{"pc cluster hosts", "GET", "/api/clustermgmt/v4.0/config/clusters/7c1e2a40-5b3d-4f6e-9a8b-0c1d2e3f4a50/hosts", Options{}, true, 400, "CLU-10008"},
		{"unknown cluster", "GET", "/api/clustermgmt/v4.0/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6aff/hosts", Options{}, true, 404, "CLU-10404"},
		{"unknown version", "GET", "/api/clustermgmt/v4.1/config/clusters", Options{}, true, 404, "The requested URL was not found"},
		{"v3 on a PE", "POST", "/api/nutanix/v3/clusters/list", Options{Mode: PE}, true, 404, "The requested URL was not found"},
		{"v2 on a v4-only PC", "GET", "/PrismGateway/services/rest/v2.0/cluster", Options{APIs: V4}, true, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := do(t, New(tt.opts), tt.method, tt.path, `{}`, tt.auth)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.bodyHas == "" && rec.Body.Len() != 0 {
				t.Errorf("body %q, want empty", rec.Body.String())
			}
			if !bytes.Contains(rec.Body.Bytes(), []byte(tt.bodyHas)) {
				t.Errorf("body %q does not contain %q", rec.Body.String(), tt.bodyHas)
			}
		})
	}
}

func TestV4PagingLinks(t *testing.T) {
	s := New(Options{})
	_, doc := do(t, s, "GET", "/api/clustermgmt/v4.0/config/clusters?$limit=2&$page=0", "", true)
	meta := doc["metadata"].(map[string]any)
	if meta["totalAvailableResults"] != float64(3) || len(doc["data"].([]any)) != 2 {
		t.Fatalf("page 0 = %v", doc)
	}
	if !strings.Contains(rec2str(meta["links"]), `"rel":"next"`) {
		t.Errorf("page 0 of 2 has no next link: %v", meta["links"])
	}
	_, doc = do(t, s, "GET", "/api/clustermgmt/v4.0/config/clusters?$limit=2&$page=1", "", true)
	if strings.Contains(rec2str(doc["metadata"].(map[string]any)["links"]), `"rel":"next"`) {
		t.Errorf("last page has a next link")
	}
	// The SDK dereferences data[0].$objectType: every element carries it.
	for _, d := range doc["data"].([]any) {
		if d.(map[string]any)["$objectType"] == nil {
			t.Errorf("data element without $objectType")
		}
	}
}

func rec2str(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestRewriteOnlyCVMAddresses(t *testing.T) {
	s := New(Options{RewriteAddress: func(ip string) string { return "127.0.0.99" }})
	rec, _ := do(t, s, "GET", "/api/clustermgmt/v4.0/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01/hosts", "", true)
	body := rec.Body.String()
	if !strings.Contains(body, "127.0.0.99") || strings.Contains(body, "10.20.1.31") {
		t.Error("CVM address not rewritten")
	}
	if !strings.Contains(body, "10.20.1.21") || !strings.Contains(body, "10.20.9.21") {
		t.Error("hypervisor or IPMI address rewritten too")
	}
}

func TestCallsCounted(t *testing.T) {
	s := New(Options{})
	do(t, s, "GET", "/api/clustermgmt/v4.0/config/clusters?$page=0", "", true)
	do(t, s, "GET", "/api/clustermgmt/v4.0/config/clusters?$page=1", "", false)
	if n := s.Count("/api/clustermgmt/v4.0/config/clusters"); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	if s.BasicLogins() != 1 {
		t.Errorf("BasicLogins = %d, want 1", s.BasicLogins())
	}
}

func TestCVMsEndpoint(t *testing.T) {
	const path = "/api/clustermgmt/v4.3/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01/cvms"
	if rec, _ := do(t, New(Options{}), "GET", path, "", true); rec.Code != 404 {
		t.Errorf("cvms served without CVMsEndpoint: status %d", rec.Code)
	}
	s := New(Options{CVMsEndpoint: true})
	s.SetHostState("NTNX-21AB0001-B", HostState{Rename: "esx02.corp"})
	rec, doc := do(t, s, "GET", path+"?$page=0&$limit=50", "", true)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	data := doc["data"].([]any)
	if len(data) != 3 {
		t.Fatalf("%d CVMs, want the 3 of alpha's hyperconverged hosts", len(data))
	}
	cvm := data[1].(map[string]any)
	if cvm["$objectType"] != "clustermgmt.v4.config.Cvm" || cvm["name"] != "NTNX-21AB0001-B-CVM" ||
		cvm["nodeExtId"] == nil || !strings.Contains(rec2str(cvm["ipAddress"]), `"value":"10.20.1.32"`) {
		t.Errorf("CVM = %v: want its own name after the host's rename, its node and address", cvm)
	}
}

func TestV2EnumSpelling(t *testing.T) {
	for v4, v2 := range map[string]string{
		"ACROPOLIS_NORMAL": "kAcropolisNormal", // as in v2-hosts.json
		"CONNECTED":        "kConnected",       // likewise
		"ENTERING_MAINTENANCE_MODE_FROM_HA_FAILOVER": "kEnteringMaintenanceModeFromHAFailover",
		"HA_HEALING_TARGET":                          "kHAHealingTarget",
	} {
		if got := v2Enum(v4); got != v2 {
			t.Errorf("v2Enum(%s) = %s, want %s", v4, got, v2)
		}
	}
}

// A host taken out of the lists is gone from every family, and comes back when put back.
func TestSetHostListed(t *testing.T) {
	pc := New(Options{Mode: PC, APIs: V4 | V3})
	pe := New(Options{Mode: PE, APIs: V2})
	count := func() (v2, v3, v4 int) {
		rec, _ := do(t, pe, http.MethodGet, "/PrismGateway/services/rest/v2.0/hosts", "", true)
		v2 = strings.Count(rec.Body.String(), `"NTNX-21AB0001-B"`)
		rec, _ = do(t, pc, http.MethodPost, "/api/nutanix/v3/hosts/list", `{"kind":"host"}`, true)
		v3 = strings.Count(rec.Body.String(), `"NTNX-21AB0001-B"`)
		rec, _ = do(t, pc, http.MethodGet, "/api/clustermgmt/v4.0/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01/hosts", "", true)
		v4 = strings.Count(rec.Body.String(), `"NTNX-21AB0001-B"`)
		return
	}
	v2, v3, v4 := count()
	if v2 == 0 || v3 == 0 || v4 == 0 {
		t.Fatalf("the fixture host is not listed: v2 %d, v3 %d, v4 %d", v2, v3, v4)
	}
	for _, s := range []*Sim{pc, pe} {
		s.SetHostListed("NTNX-21AB0001-B", false)
		s.SetHostListed("NTNX-21AB0001-B", false) // twice: still one host to put back
	}
	if a, b, c := count(); a+b+c != 0 {
		t.Errorf("unlisted host still listed: v2 %d, v3 %d, v4 %d", a, b, c)
	}
	for _, s := range []*Sim{pc, pe} {
		s.SetHostListed("NTNX-21AB0001-B", true)
	}
	if a, b, c := count(); a != v2 || b != v3 || c != v4 {
		t.Errorf("listed again: v2 %d, v3 %d, v4 %d, want %d, %d, %d", a, b, c, v2, v3, v4)
	}
}
