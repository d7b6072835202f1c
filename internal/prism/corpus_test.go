package prism

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora in testdata/fuzz/ from the fixtures")

// fuzzSeeds are the seed corpora of the fuzz targets, built from the shared fixtures (and
// the simulator's v4.3 cvms answer, which has no fixture): file name -> body.
func fuzzSeeds(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	fixture := func(name string) []byte {
		b, err := prismsim.Fixture(name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seeds := map[string]map[string][]byte{"FuzzV2": {}, "FuzzV3": {}, "FuzzV4": {}, "FuzzErrorMessage": {}}
	for family, names := range map[string][]string{
		"FuzzV2": {"v2-cluster.json", "v2-hosts.json"},
		"FuzzV3": {"v3-clusters-list.json", "v3-hosts-list-all.json", "v3-hosts-list-page1.json", "v3-hosts-list-page3.json"},
		"FuzzV4": {"v4-clusters-list.json", "v4-hosts-alpha-pe01.json", "v4-hosts-bravo-pe02.json"},
	} {
		for _, n := range names {
			seeds[family]["fixture-"+strings.TrimSuffix(n, ".json")] = fixture(n)
		}
	}
	sim := prismsim.New(prismsim.Options{CVMsEndpoint: true})
	req := httptest.NewRequest(http.MethodGet, "/api/clustermgmt/v4.3/config/clusters/"+fuzzCluster.UUID+"/cvms", nil)
	req.SetBasicAuth(prismsim.DefaultUsername, prismsim.DefaultPassword)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	seeds["FuzzV4"]["sim-v4.3-cvms"] = rec.Body.Bytes()

	for _, n := range []string{"v2-error-401.json", "v3-error-401.json", "v3-error-403.json", "v3-error-404.json",
		"v4-error-401.json", "v4-error-404.json", "v4-error-404-unknown-path.json", "v4-error-pc-cluster-hosts.json"} {
		var ex struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(fixture(n), &ex); err != nil {
			t.Fatal(err)
		}
		seeds["FuzzErrorMessage"]["fixture-"+strings.TrimSuffix(n, ".json")] = ex.Body
	}
	// Small answers with every field read, so the fuzzer starts near the interesting cases.
	seeds["FuzzV2"]["small-host"] = []byte(`{"metadata":{"total_entities":1,"end_index":1},"entities":[{"uuid":"h1","name":"NTNX-A",` +
		`"service_vmexternal_ip":"10.0.0.31","service_vmnat_ip":"203.0.113.5","service_vmnat_port":2201,"hypervisor_address":"10.0.0.21",` +
		`"hypervisor_state":"kEnteredMaintenanceMode","acropolis_connection_state":"kConnected","state":"NORMAL",` +
		`"host_type":"HYPER_CONVERGED","host_in_maintenance_mode":true,"cluster_uuid":"c1"}]}`)
	seeds["FuzzV3"]["small-host"] = []byte(`{"metadata":{"total_matches":1},"entities":[{"metadata":{"uuid":"h1"},"status":{"name":"NTNX-A",` +
		`"cluster_reference":{"uuid":"c1"},"resources":{"host_type":"STORAGE_ONLY","controller_vm":{"ip":"10.0.0.31","nat_ip":"203.0.113.5",` +
		`"nat_port":"2201"},"hypervisor":{"ip":"10.0.0.21"},"config":{"is_available":false}}}}]}`)
	seeds["FuzzV4"]["small-host"] = []byte(`{"data":[{"extId":"h1","hostName":"NTNX-A","hostType":"HYPER_CONVERGED","cluster":{"uuid":"c1"},` +
		`"controllerVm":{"externalAddress":{"ipv4":{"value":"10.0.0.31"}},"natIp":"203.0.113.5","natPort":2201,"isInMaintenanceMode":false},` +
		`"hypervisor":{"externalAddress":{"ipv6":{"value":"fd00::21"}},"state":"HA_FAILOVER_TARGET","acropolisConnectionState":"CONNECTED"},` +
		`"nodeStatus":"TO_BE_PREPROTECTED","maintenanceState":"normal","name":"NTNX-A-CVM","nodeExtId":"h1","ipAddress":{"ipv4":{"value":"10.0.0.31"}},` +
		`"config":{"isAvailable":false}}],"metadata":{"totalAvailableResults":1,"links":[{"rel":"next","href":"x"}]}}`)

	// The two shapes API.md §5 records without a fixture.
	seeds["FuzzErrorMessage"]["api-gateway-500"] = []byte(`{"error":"Internal Server Error","message":"The request was rejected because the URL contained a potentially malicious String","path":"/api/vmm/v4.2/ahv/config/vms"}`)
	seeds["FuzzErrorMessage"]["api-schema-validation"] = []byte(`{"data":{"error":{"$objectType":"clustermgmt.v4.error.SchemaValidationError","error":"Bad Request","path":"/api/clustermgmt/v4.0/config/clusters","statusCode":400,"timestamp":"2024-05-01T10:00:00Z","validationErrorMessages":[{"message":"$limit must be at most 100"}]}}}`)
	return seeds
}

// corpusFile is a seed in the format of go test's fuzz corpus.
func corpusFile(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// The checked-in seed corpora are the fixtures as they are now; -update rewrites them.
func TestFuzzSeedCorpora(t *testing.T) {
	for target, files := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, data := range files {
			path := filepath.Join(dir, name)
			want := corpusFile(data)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is missing or stale (%v): run go test ./internal/prism/ -run TestFuzzSeedCorpora -update", path, err)
			}
		}
	}
}
