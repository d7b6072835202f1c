package prism

import (
	"fmt"
	"strings"
	"time"
)

// Every error below names the Prism address it came from and carries a way forward in Hint.
// None of them ever holds the password: requests carry it in a header only, never in a URL.

// AuthError is a 401: the user name or password is wrong.
type AuthError struct {
	Address string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("prism %s: wrong user name or password (401)", e.Address)
}

// Hint says where the credentials come from.
func (e *AuthError) Hint() string {
	return "check --username (or CVMTAIL_USERNAME) and the password in CVMTAIL_PASSWORD or --password-file"
}

// PermissionError is a 403: the user is known but may not read clusters or hosts.
type PermissionError struct {
	Address  string
	Endpoint string
	Message  string // the server's own words, when it gave any
}

func (e *PermissionError) Error() string {
	msg := fmt.Sprintf("prism %s: permission denied on %s (403)", e.Address, e.Endpoint)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Hint names the role that is enough.
func (e *PermissionError) Hint() string {
	return "use a Prism user allowed to view clusters and hosts (e.g. the Viewer or Cluster Viewer role)"
}

// TLSError means Prism's certificate could not be verified.
type TLSError struct {
	Address string
	Err     error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("prism %s: TLS certificate not trusted: %v", e.Address, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

// Hint gives both ways forward.
func (e *TLSError) Hint() string {
	return "pass the cluster's CA with --ca-cert FILE, or --insecure to skip verification"
}

// UnreachableError is a failure to connect, or no answer in time.
type UnreachableError struct {
	Address string
	Timeout time.Duration // set when the cause was a timeout
	Err     error
}

func (e *UnreachableError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("prism %s: no answer within %s", e.Address, e.Timeout)
	}
	return fmt.Sprintf("prism %s: cannot connect: %v", e.Address, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Hint points at the usual causes.
func (e *UnreachableError) Hint() string {
	return "check the address and port (9440 by default) and that this machine can reach Prism"
}

// ProtocolError is an answer that is not what the API promises (HTML, truncated JSON, an
// unexpected status).
type ProtocolError struct {
	Address  string
	Endpoint string // e.g. "GET /api/clustermgmt/v4.0/config/clusters"
	Detail   string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("prism %s: unexpected answer from %s: %s", e.Address, e.Endpoint, e.Detail)
}

// Hint says what the address must be.
func (e *ProtocolError) Hint() string {
	return "check that --prism names a Prism Element or Prism Central (port 9440), not a proxy or another service"
}

// NotFoundError is a cluster asked for by name or UUID that Prism does not know.
type NotFoundError struct {
	Address string
	Cluster string   // as asked for
	Known   []string // the names of the clusters Prism does know
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("prism %s: no cluster named %q", e.Address, e.Cluster)
}

// Hint lists the clusters that exist.
func (e *NotFoundError) Hint() string {
	if len(e.Known) == 0 {
		return "this Prism manages no AOS cluster"
	}
	names := make([]string, len(e.Known))
	for i, n := range e.Known {
		names[i] = show(n)
	}
	return "known clusters: " + strings.Join(names, ", ")
}

// ServerError is any other failure status (5xx, 429 after retries, an unexpected 4xx).
type ServerError struct {
	Address  string
	Endpoint string
	Status   int
	Message  string
}

func (e *ServerError) Error() string {
	msg := fmt.Sprintf("prism %s: %s failed with status %d", e.Address, e.Endpoint, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Hint suggests waiting for a busy server.
func (e *ServerError) Hint() string {
	if e.Status >= 500 || retryable(e.Status) {
		return "Prism is busy or failing; try again in a minute"
	}
	return ""
}

// TooLargeError is an answer or a list beyond what any real Prism sends: a body over
// maxBody, or a paged list past its bounds (pages.go). cvmtail stops there rather than
// read without end, e.g. from a server whose every page says there is more.
type TooLargeError struct {
	Address  string
	Endpoint string
	Limit    string // what was passed, e.g. "200 pages"
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("prism %s: %s: more than %s: stopped", e.Address, e.Endpoint, e.Limit)
}

// Hint says what is normal and what to do.
func (e *TooLargeError) Hint() string {
	return "no real Prism sends that much; check that --prism names a Prism, or choose fewer clusters with --cluster"
}

// UnavailableError is a selection whose every cluster Prism Central reports as not
// available: there is nothing to list.
type UnavailableError struct {
	Address  string
	Clusters []Cluster
}

func (e *UnavailableError) Error() string {
	names := make([]string, len(e.Clusters))
	for i, c := range e.Clusters {
		names[i] = show(c.Name)
	}
	return fmt.Sprintf("prism %s: cluster %s not available in Prism Central", e.Address, strings.Join(names, ", "))
}

// Hint names the way around Prism Central.
func (e *UnavailableError) Hint() string {
	if len(e.Clusters) == 1 && e.Clusters[0].Address != "" {
		return "ask the cluster's own Prism Element: --prism " + e.Clusters[0].Address
	}
	return "ask each cluster's own Prism Element with --prism, or retry once Prism Central reaches it again"
}
