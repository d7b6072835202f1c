// Package prismsim simulates enough of Nutanix Prism (Element and Central; v4 clustermgmt,
// v3 and v2.0) for the client's tests and for a local lab: the shared fixtures or a
// generated world, credentials, session cookies, paging quirks, and failure modes.
package prismsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is the kind of Prism simulated.
type Mode int

const (
	// PC is a Prism Central managing several clusters.
	PC Mode = iota
	// PE is a Prism Element: one cluster.
	PE
)

// API is a set of API families served.
type API int

const (
	V4 API = 1 << iota // clustermgmt v4 (at Options.V4Version)
	V3                 // /api/nutanix/v3
	V2                 // /PrismGateway/services/rest/v2.0
)

// Default credentials.
const (
	DefaultUsername = "admin"
	DefaultPassword = "nutanix/4u"
)

// Options configure a simulator.
type Options struct {
	Mode Mode
	// APIs served; zero means V4|V3 for a PC and V2 for a PE (an older PE; add V4 for a
	// modern one). Paths of other families answer 404 as a real Prism does.
	APIs API
	// V4Version is the one clustermgmt version served (default "v4.0"); others answer the
	// unknown-path 404.
	V4Version string
	// V3HostsIgnoreLength makes hosts/list return every host whatever length/offset say, as
	// real PCs do.
	V3HostsIgnoreLength bool
	// V3PCPseudoHost adds to hosts/list the entity real PCs are said to return for
	// themselves: no name, no cluster reference, the PC's IP as controller_vm.ip.
	V3PCPseudoHost bool

	// PCWithoutFunction leaves clusterFunction out of the PC's own v4 cluster entry, so a
	// client can no longer tell it from an AOS cluster by function and asks it for hosts.
	PCWithoutFunction bool
	// CVMsEndpoint serves v4.3's clusters/{extId}/cvms, with each CVM's own name (the
	// host's first name + "-CVM": renaming a host with SetHostState leaves it).
	CVMsEndpoint bool
	// PCHostsStatus is the HTTP status of the CLU-10008 answer to the PC's own host list
	// (default 400, the recorded fixture's; the real status was not recorded).
	PCHostsStatus int

	Username, Password string // default DefaultUsername / DefaultPassword

	// Forbidden answers 403 to every authenticated call.
	Forbidden bool
	// Delay holds every answer this long (or until the client gives up).
	Delay time.Duration
	// Garbage, when set, replaces every 200 body (served as text/html).
	Garbage []byte
	// Fail answers the first requests to a path with these statuses, in order (e.g.
	// {"/api/nutanix/v3/hosts/list": {503, 429}}), then normally.
	Fail map[string][]int

	// Generate replaces the shared fixtures by a generated world.
	Generate *Generate
	// RewriteAddress maps every CVM address served (e.g. 10.20.1.31 -> 127.0.0.11) so
	// that a lab or a test can point at loopback CVMs.
	RewriteAddress func(string) string
}

// Sim is the simulator, an http.Handler.
type Sim struct {
	opts Options

	mu         sync.Mutex
	w          *world
	calls      map[string]int
	basicLogin int
	sessions   map[string]bool
	down       bool // SetDown: every connection is dropped unanswered
}

// New builds a simulator.
func New(opts Options) *Sim {
	if opts.APIs == 0 {
		opts.APIs = V4 | V3
		if opts.Mode == PE {
			opts.APIs = V2
		}
	}
	if opts.V4Version == "" {
		opts.V4Version = "v4.0"
	}
	if opts.Username == "" && opts.Password == "" {
		opts.Username, opts.Password = DefaultUsername, DefaultPassword
	}
	var w *world
	if opts.Generate != nil {
		w = generatedWorld(*opts.Generate)
	} else {
		w = fixtureWorld()
	}
	if opts.V3PCPseudoHost {
		w.v3Hosts = append(w.v3Hosts, obj{
			"metadata": obj{"kind": "host", "uuid": "5a1f0c3e-0000-4000-8000-0000000000c1"},
			"status":   obj{"state": "COMPLETE", "resources": obj{"serial_number": "ZMPC0001", "controller_vm": obj{"ip": "10.20.0.10"}}},
			"spec":     obj{"resources": obj{}},
		})
	}
	// A CVM's own name is its host's first name + "-CVM"; renaming the host keeps it.
	w.cvmNames = map[string]string{}
	for _, hosts := range w.v4Hosts {
		for _, h := range hosts {
			id, _ := h["extId"].(string)
			name, _ := h["hostName"].(string)
			w.cvmNames[id] = name + "-CVM"
		}
	}
	if opts.PCWithoutFunction {
		for _, c := range w.v4Clusters {
			if c["extId"] == w.pcUUID {
				delete(c["config"].(obj), "clusterFunction")
			}
		}
	}
	if opts.RewriteAddress != nil {
		w.rewriteCVMAddresses(opts.RewriteAddress)
	}
	fail := map[string][]int{}
	for k, v := range opts.Fail {
		fail[k] = append([]int(nil), v...)
	}
	opts.Fail = fail
	return &Sim{opts: opts, w: w, calls: map[string]int{}, sessions: map[string]bool{}}
}

// Calls is how many requests each path received (query strings left out).
func (s *Sim) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Count is how many requests path received.
func (s *Sim) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// Total is how many requests the simulator received.
func (s *Sim) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.calls {
		n += v
	}
	return n
}

// BasicLogins is how many requests authenticated with Basic rather than a session cookie.
func (s *Sim) BasicLogins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.basicLogin
}

// ExpireSessions forgets every session cookie, as a Prism does after 15 minutes.
func (s *Sim) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]bool{}
}

// SetDown makes the simulator drop every request unanswered, as a Prism that went away
// (an upgrade restarting it) does, until SetDown(false).
func (s *Sim) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// ServeHTTP answers one API call.
func (s *Sim) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	s.mu.Lock()
	s.calls[path]++
	down := s.down
	s.mu.Unlock()
	if down {
		panic(http.ErrAbortHandler) // the connection closes without an answer
	}

	if d := s.opts.Delay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-r.Context().Done():
			t.Stop()
			// Abort rather than return: returning would send an empty 200.
			panic(http.ErrAbortHandler)
		case <-t.C:
		}
	}

	family := familyOf(path)
	if family == 0 {
		s.writeExchange(rw, "v4-error-404-unknown-path.json")
		return
	}
	if !s.authenticate(rw, r) {
		s.writeExchange(rw, map[API]string{V4: "v4-error-401.json", V3: "v3-error-401.json", V2: "v2-error-401.json"}[family])
		return
	}
	if status, ok := s.nextFailure(path); ok {
		writeJSON(rw, status, obj{"error": http.StatusText(status), "message": "simulated failure", "path": path})
		return
	}
	if s.opts.APIs&family == 0 {
		s.writeExchange(rw, "v4-error-404-unknown-path.json")
		return
	}
	if s.opts.Forbidden {
		switch family {
		case V3:
			s.writeExchange(rw, "v3-error-403.json")
		case V4:
			writeJSON(rw, http.StatusForbidden, v4Error("RBA-10001", "RBAC_AUTHORIZATION_ERROR",
				"Failed to perform the operation as the user is not authorized."))
		default:
			rw.WriteHeader(http.StatusForbidden)
		}
		return
	}
	// Read the request before taking the lock: a slow client must not stall the others.
	reqBody, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var (
		status = http.StatusOK
		body   any
	)
	s.mu.Lock()
	switch family {
	case V4:
		status, body = s.serveV4(r)
	case V3:
		status, body = s.serveV3(r, reqBody)
	case V2:
		status, body = s.serveV2(r)
	}
	var data []byte
	if ex, ok := body.(exchange); ok {
		s.mu.Unlock()
		writeRaw(rw, ex.Status, ex.Headers, ex.Body)
		return
	}
	data, _ = json.Marshal(body)
	s.mu.Unlock()
	if status == http.StatusOK && s.opts.Garbage != nil {
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write(s.opts.Garbage)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(data)
}

func familyOf(path string) API {
	switch {
	case strings.HasPrefix(path, "/api/clustermgmt/"):
		return V4
	case strings.HasPrefix(path, "/api/nutanix/v3/"):
		return V3
	case strings.HasPrefix(path, "/PrismGateway/services/rest/"):
		return V2
	}
	return 0
}

// authenticate accepts a live session cookie or the right Basic credentials; the latter
// opens a session, as real Prisms do.
func (s *Sim) authenticate(rw http.ResponseWriter, r *http.Request) bool {
	cookieName := "NTNX_IGW_SESSION"
	if s.opts.Mode == PE {
		cookieName = "JSESSIONID"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := r.Cookie(cookieName); err == nil && s.sessions[c.Value] {
		return true
	}
	u, p, ok := r.BasicAuth()
	if !ok || u != s.opts.Username || p != s.opts.Password {
		return false
	}
	s.basicLogin++
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	s.sessions[token] = true
	http.SetCookie(rw, &http.Cookie{Name: cookieName, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
	return true
}

func (s *Sim) nextFailure(path string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.opts.Fail[path]
	if len(q) == 0 {
		return 0, false
	}
	s.opts.Fail[path] = q[1:]
	return q[0], true
}

func (s *Sim) writeExchange(rw http.ResponseWriter, name string) {
	ex := s.w.errors[name]
	writeRaw(rw, ex.Status, ex.Headers, ex.Body)
}

func writeRaw(rw http.ResponseWriter, status int, headers map[string]string, body json.RawMessage) {
	for k, v := range headers {
		rw.Header().Set(k, v)
	}
	rw.WriteHeader(status)
	if len(body) > 0 && string(body) != "null" {
		_, _ = rw.Write(body)
	}
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(data)
}

func v4Error(code, group, msg string) obj {
	return obj{
		"$dataItemDiscriminator": "clustermgmt.v4.error.ErrorResponse",
		"data": obj{
			"$errorItemDiscriminator": "List<clustermgmt.v4.error.AppMessage>",
			"$objectType":             "clustermgmt.v4.error.ErrorResponse",
			"error": []any{obj{
				"$objectType": "clustermgmt.v4.error.AppMessage",
				"code":        code, "errorGroup": group, "locale": "en_US", "message": msg, "severity": "ERROR",
			}},
		},
	}
}

// exchangeWith is a recorded exchange with a UUID in its body replaced.
func (s *Sim) exchangeWith(name, from, to string) exchange {
	ex := s.w.errors[name]
	ex.Body = json.RawMessage(strings.ReplaceAll(string(ex.Body), from, to))
	return ex
}

func atoiDefault(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}
