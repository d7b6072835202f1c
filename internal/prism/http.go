package prism

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxBody bounds what is read from one response; real host lists are large but not this
// large. A longer answer is an error, not a truncated body.
const maxBody = 64 << 20

// maxRetries is how many times a busy answer is retried.
const maxRetries = 2

// retryable are the statuses of a busy or slow server that are worth asking again, as the
// v4 SDK does (API.md §5): 408, 429, 503, 504.
func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// statusError is a non-2xx answer before it is given a type; the API-selection logic looks
// at 404s before they become errors a user sees.
type statusError struct {
	status   int
	endpoint string
	message  string // from whichever error shape parsed
	body     []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.endpoint, e.status, e.message)
}

// fetch sends one API call and returns the body of a 2xx answer, undecoded.
func (c *Client) fetch(ctx context.Context, method, path string, query url.Values, body any) ([]byte, http.Header, error) {
	endpoint := method + " " + path
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + encodeQuery(query)
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, nil, err
		}
	}

	wait := c.cfg.RetryWait
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	basic := c.basicAlways.Load() || !c.haveSession(u)
	for attempt := 0; ; attempt++ {
		status, data, hdr, err := c.roundTrip(ctx, method, u, payload, basic)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case status == http.StatusUnauthorized && !basic:
			// The session expired, or the cookie was never a session (a load balancer's):
			// log in again with Basic, and from now on always send Basic along, so a
			// cookie that does not authenticate never costs a second request again.
			basic = true
			c.basicAlways.Store(true)
			continue
		case retryable(status) && attempt < maxRetries:
			d := wait << attempt
			if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && ra >= 0 && time.Duration(ra)*time.Second < 5*time.Second {
				d = max(d, time.Duration(ra)*time.Second)
			}
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(d):
			}
			continue
		}
		if err := c.answerError(endpoint, status, data); err != nil {
			return nil, nil, err
		}
		return data, hdr, nil
	}
}

// encodeQuery keeps "$" literal: url.Values.Encode escapes it to %24, which the v4 gateway
// accepts too, but literal "$page" is what every recorded client sends.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

func (c *Client) haveSession(u string) bool {
	if c.http.Jar == nil {
		return false
	}
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	return len(c.http.Jar.Cookies(pu)) > 0
}

func (c *Client) roundTrip(ctx context.Context, method, u string, payload []byte, basic bool) (int, []byte, http.Header, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if basic {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, c.transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.limits.body+1))
	if err == nil && int64(len(data)) > c.limits.body {
		return 0, nil, nil, &TooLargeError{Address: c.address, Endpoint: method + " " + req.URL.Path,
			Limit: sizeOf(c.limits.body) + " in one answer"}
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		if isTimeout(err) {
			return 0, nil, nil, &UnreachableError{Address: c.address, Timeout: c.timeout, Err: err}
		}
		return 0, nil, nil, &ProtocolError{Address: c.address, Endpoint: method + " " + req.URL.Path,
			Detail: "answer cut short: " + err.Error()}
	}
	return resp.StatusCode, data, resp.Header, nil
}

// transportError classifies a failure to get any answer. The *url.Error it unwraps names the
// URL, which never holds credentials.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var redirErr *redirectError
	if errors.As(err, &redirErr) {
		return &ProtocolError{Address: c.address, Endpoint: "redirect", Detail: redirErr.detail}
	}
	var (
		unknownCA   x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostnameErr):
		return &TLSError{Address: c.address, Err: &hostnameErr}
	case errors.As(err, &unknownCA):
		return &TLSError{Address: c.address, Err: &unknownCA}
	case errors.As(err, &invalidErr):
		return &TLSError{Address: c.address, Err: &invalidErr}
	case errors.As(err, &verifyErr):
		return &TLSError{Address: c.address, Err: verifyErr}
	case isTimeout(err):
		return &UnreachableError{Address: c.address, Timeout: c.timeout, Err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne *net.OpError
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &UnreachableError{Address: c.address, Err: err}
	}
	var recordErr tls.RecordHeaderError
	if errors.As(err, &recordErr) {
		return &ProtocolError{Address: c.address, Endpoint: "TLS handshake",
			Detail: "the server does not speak HTTPS"}
	}
	return &UnreachableError{Address: c.address, Err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// answerError is the error a non-2xx answer means, nil for a 2xx one.
func (c *Client) answerError(endpoint string, status int, data []byte) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusUnauthorized:
		return &AuthError{Address: c.address}
	case status == http.StatusForbidden:
		return &PermissionError{Address: c.address, Endpoint: endpoint, Message: errorMessage(data)}
	case status == http.StatusNotFound || status == http.StatusBadRequest:
		return &statusError{status: status, endpoint: endpoint, message: errorMessage(data), body: data}
	}
	return &ServerError{Address: c.address, Endpoint: endpoint, Status: status, Message: errorMessage(data)}
}

func decodeJSON(data []byte, out any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return errors.New("empty body instead of JSON")
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return fmt.Errorf("body is not JSON (starts %s)", strconv.Quote(snippet(trimmed)))
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end") {
			return fmt.Errorf("malformed or truncated JSON: %v", err)
		}
		return fmt.Errorf("JSON of an unexpected shape: %v", err)
	}
	return nil
}

// contentDetail is a decoding error for a message, with the Content-Type when it was not
// JSON's (an HTML login page, a proxy's error).
func contentDetail(err error, hdr http.Header) string {
	if ct := hdr.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return fmt.Sprintf("%v; Content-Type %s", err, strconv.Quote(ct))
	}
	return err.Error()
}

func snippet(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// errorMessage pulls the human message out of whichever error shape the body has (API.md §5):
// v3 message_list, v4 data.error (a list or a schema-validation object), the gateway's
// {"message": ...} or {"error": ...}. Empty when none parses.
func errorMessage(data []byte) string {
	var e struct {
		MessageList []struct {
			Message string `json:"message"`
			Reason  string `json:"reason"`
		} `json:"message_list"`
		Data struct {
			Error json.RawMessage `json:"error"`
		} `json:"data"`
		Message string `json:"message"`
		Error   any    `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	msg := ""
	switch {
	case len(e.MessageList) > 0:
		msg = e.MessageList[0].Message
		if msg == "" {
			msg = e.MessageList[0].Reason
		}
	case len(e.Data.Error) > 0:
		var list []struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		}
		var obj struct {
			Error                   string   `json:"error"`
			ValidationErrorMessages []any    `json:"validationErrorMessages"`
			Messages                []string `json:"messages"`
		}
		if json.Unmarshal(e.Data.Error, &list) == nil && len(list) > 0 {
			msg = list[0].Message
			if list[0].Code != "" {
				msg = strings.TrimSpace(list[0].Code + " " + msg)
			}
		} else if json.Unmarshal(e.Data.Error, &obj) == nil {
			msg = obj.Error
		}
	case e.Message != "":
		msg = e.Message
	case e.Error != nil:
		if s, ok := e.Error.(string); ok {
			msg = s
		}
	}
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "..."
	}
	return escapeControls(msg)
}

// escapeControls shows control, non-printable and invalid bytes of a server's words as Go
// escapes (\x1b, \u0085): a message from Prism must not drive the terminal it is shown on.
func escapeControls(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || (r != ' ' && !unicode.IsPrint(r)) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}
