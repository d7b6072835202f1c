// Package prism is a thin client for the parts of the Nutanix Prism REST API that tell where
// the CVMs of a cluster are: v4 clustermgmt, v3 (Prism Central) and v2.0 (Prism Element).
// The API family is found automatically; callers only see clusters and CVMs.
package prism

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPort is Prism's HTTPS port, for PE and PC alike.
const DefaultPort = 9440

// DefaultTimeout bounds each request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config is how to reach and log in to Prism.
type Config struct {
	Address    string // "host[:port]"; port 9440 when omitted; "https://" is tolerated
	Username   string
	Password   string
	Insecure   bool   // skip TLS verification
	CACertFile string // PEM bundle trusted in addition to the system roots
	Timeout    time.Duration

	// PageSize overrides the page size of every list call (0: 100 for v4 and v2, 500 for v3).
	PageSize int
	// RetryWait is the first backoff after a 429/503/504 (0: 250ms); it doubles per retry.
	RetryWait time.Duration

	// HTTPClient, when set, is used as is (TLS settings above are then ignored).
	HTTPClient *http.Client
	// Transport, when set, replaces the default transport (TLS settings above are then ignored).
	Transport http.RoundTripper
}

// Cluster is an AOS cluster (never the Prism Central itself).
type Cluster struct {
	Name    string
	UUID    string
	Address string // the cluster's virtual IP, when known
	// Unavailable is a cluster Prism Central says it cannot reach now (v4
	// config.isAvailable, v3 is_available false): its hosts are not listed.
	Unavailable bool
}

// CVM is one Controller VM. Its JSON form is what the CVM cache holds.
type CVM struct {
	// Name is the CVM's name, made safe and unique (see uniqueNames): no '/', "..",
	// control or space characters, and no two CVMs of one inventory with the same name,
	// so that a name is one prefix and one capture directory. It is v4.3's own CVM name
	// when Prism serves clusters/{id}/cvms, else derived from the host name by the
	// Nutanix convention: host NTNX-<block>-<pos> runs CVM NTNX-<block>-<pos>-CVM.
	Name string `json:"name"`
	// RawName is the name before it was made safe and unique.
	RawName string `json:"raw_name"`
	// NameSource says where RawName came from: "prism" (the CVM's own name), "host" (the
	// host name + "-CVM") or "address" (neither was known).
	NameSource        string `json:"name_source"`
	Address           string `json:"address"` // the CVM's external IP or host name: where to SSH
	Cluster           string `json:"cluster"`
	ClusterUUID       string `json:"cluster_uuid"`
	Host              string `json:"host"`
	HostType          string `json:"host_type"` // as Prism gave it: HYPER_CONVERGED, STORAGE_ONLY, ...
	HypervisorAddress string `json:"hypervisor_address"`
	// NATAddress and NATPort are where the CVM is reached through NAT, when Prism gives
	// them (v2 service_vmnat_ip/port, v3 controller_vm.nat_ip/nat_port, v4
	// controllerVm.natIp/natPort); NATPort 0 is none given.
	NATAddress string `json:"nat_address"`
	NATPort    int    `json:"nat_port"`
	// State is one of the State* constants: a closed set (docs/prism-states.md).
	State string `json:"state"`
	// InMaintenance is the CVM's own maintenance mode; HostInMaintenance the host's.
	InMaintenance     bool `json:"in_maintenance"`
	HostInMaintenance bool `json:"host_in_maintenance"`
	// The raw values State is made of, as the API gave them ("" when it gave none).
	NodeStatus       string `json:"node_status"`       // v4 nodeStatus, v2 state
	HypervisorState  string `json:"hypervisor_state"`  // v4 hypervisor.state, v2 hypervisor_state
	ConnectionState  string `json:"connection_state"`  // acropolisConnectionState / acropolis_connection_state
	MaintenanceState string `json:"maintenance_state"` // v4 maintenanceState (the host's)
}

// Inventory is what ListCVMs found, with what it left out.
type Inventory struct {
	API         string    // "v4.0", "v4.0.b2", "v4.0.b1", "v3" or "v2"
	Clusters    []Cluster // the selected clusters, unavailable ones included
	CVMs        []CVM
	ComputeOnly []string // host names skipped because they run no CVM
	// Notices are what a user should be told: hosts skipped for a missing or unusable
	// CVM address, addresses not used, clusters left out. Each is one line.
	Notices []Notice
	// Failed are the clusters whose hosts could not be listed (each also has a Notice);
	// the other clusters' CVMs are still in CVMs.
	Failed []string
}

// Notice is one line about the inventory. Message is lower case and every value from
// Prism in it is escaped, so it cannot drive a terminal.
type Notice struct {
	Message string `json:"message"`
	// Err is what went wrong, for the caller to find a way forward (not kept in a cache);
	// Hint is where the caller keeps that way forward.
	Err  error  `json:"-"`
	Hint string `json:"hint,omitempty"`
}

// Client talks to one Prism. It is safe for concurrent use.
type Client struct {
	cfg     Config
	address string // host:port, for messages
	baseURL string
	http    *http.Client
	timeout time.Duration
	limits  limits

	basicAlways atomic.Bool // a cookie-only request was refused once
	// Whether v4.3's clusters/{extId}/cvms is served, once known (see nameCVMs).
	cvmsProbe  sync.Mutex
	cvmsKnown  atomic.Bool
	cvmsServed atomic.Bool

	mu       sync.Mutex
	api      string // detected family, "" until the first call
	clusters []Cluster
}

// New checks the configuration and returns a client. It makes no request.
func New(cfg Config) (*Client, error) {
	addr, err := NormalizeAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, address: addr, baseURL: "https://" + addr, timeout: cfg.Timeout, limits: defaultLimits}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case cfg.HTTPClient != nil:
		c.http = cfg.HTTPClient
	default:
		rt := cfg.Transport
		if rt == nil {
			tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.Insecure} //nolint:gosec // the user asked for it with --insecure
			if cfg.CACertFile != "" && !cfg.Insecure {
				pool, err := loadCAs(cfg.CACertFile)
				if err != nil {
					return nil, err
				}
				tlsCfg.RootCAs = pool
			}
			rt = &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}).DialContext,
				TLSClientConfig:     tlsCfg,
				TLSHandshakeTimeout: c.timeout,
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     90 * time.Second,
			}
		}
		jar, _ := cookiejar.New(nil)
		c.http = &http.Client{Transport: rt, Timeout: c.timeout, Jar: jar, CheckRedirect: checkRedirect}
	}
	return c, nil
}

// redirectError is a redirect refused: away from HTTPS, or one too many.
type redirectError struct{ detail string }

func (e *redirectError) Error() string { return e.detail }

// checkRedirect follows a redirect only to HTTPS, and never carries the credentials to
// another scheme, host or port. net/http itself keeps the Authorization header on a
// redirect to the same host name, even from https to http or to another port, which would
// send Basic credentials in clear or to another service.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return &redirectError{"stopped after 10 redirects"}
	}
	if req.URL.Scheme != "https" {
		return &redirectError{fmt.Sprintf("refused a redirect to %s: Prism speaks HTTPS only", req.URL.Redacted())}
	}
	if !sameOrigin(via[0].URL, req.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// sameOrigin tells whether a and b have one scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// Address is the normalized host:port of this Prism.
func (c *Client) Address() string { return c.address }

func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := ReadCABundle(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return pool, nil
}

// ReadCABundle reads a PEM CA bundle and checks that it holds at least one certificate.
func ReadCABundle(file string) ([]byte, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read CA bundle %s: no PEM certificate in it", file)
	}
	return pem, nil
}

// NormalizeAddress turns "host", "host:port", "[v6]:port" or "https://host:port/" into
// "host:port" with port 9440 by default.
func NormalizeAddress(a string) (string, error) {
	a = strings.TrimSpace(a)
	if rest, ok := strings.CutPrefix(a, "https://"); ok {
		a = rest
	} else if strings.HasPrefix(a, "http://") {
		return "", fmt.Errorf("invalid Prism address %q: Prism speaks HTTPS only; give HOST[:PORT]", a)
	}
	a = strings.TrimSuffix(a, "/")
	if a == "" {
		return "", errors.New("no Prism address given")
	}
	if strings.ContainsAny(a, "/?#@ ") {
		return "", fmt.Errorf("invalid Prism address %q: give HOST[:PORT]", a)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		// No port: a bare host name, IPv4 or IPv6 address.
		h := strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
		return net.JoinHostPort(h, strconv.Itoa(DefaultPort)), nil
	}
	if host == "" {
		return "", fmt.Errorf("invalid Prism address %q: no host", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid Prism address %q: bad port %q", a, port)
	}
	return net.JoinHostPort(host, port), nil
}
