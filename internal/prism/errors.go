package prism

import (
	"fmt"
	"strings"
	"time"
)

// Every error below names the Prism address it came from and holds the facts of what went
// wrong; the command line turns them into a way forward (internal/cmdutil/hints.go). None
// of them ever holds the password: requests carry it in a header only, never in a URL.

// AuthError is a 401: the user name or password is wrong.
type AuthError struct {
	Address string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("prism %s: wrong user name or password (401)", e.Address)
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

// TLSError means Prism's certificate could not be verified.
type TLSError struct {
	Address string
	Err     error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("prism %s: TLS certificate not trusted: %v", e.Address, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

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

// NotFoundError is a cluster asked for by name or UUID that Prism does not know.
type NotFoundError struct {
	Address string
	Cluster string   // as asked for
	Known   []string // the names of the clusters Prism does know
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("prism %s: no cluster named %q", e.Address, e.Cluster)
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

// KnownNames are the clusters Prism does know, as they may be shown.
func (e *NotFoundError) KnownNames() []string {
	names := make([]string, len(e.Known))
	for i, n := range e.Known {
		names[i] = show(n)
	}
	return names
}

// Busy tells whether the status says Prism is overloaded or failing, not refusing.
func (e *ServerError) Busy() bool { return e.Status >= 500 || retryable(e.Status) }
