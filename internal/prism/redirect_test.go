package prism

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// authRecorder records the Authorization header of every request it serves.
type authRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (a *authRecorder) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Header.Get("Authorization"))
		a.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (a *authRecorder) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

func TestRedirectsNeverCarryCredentialsElsewhere(t *testing.T) {
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })

	t.Run("https to http on the same host is refused", func(t *testing.T) {
		var plain authRecorder
		clear := httptest.NewServer(plain.handler(notFound))
		defer clear.Close()
		prism := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, clear.URL+r.URL.Path, http.StatusFound)
		}))
		defer prism.Close()
		c, err := New(Config{Address: prism.Listener.Addr().String(), Username: "ops", Password: "s3cret", Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListClusters(context.Background())
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "HTTPS only") {
			t.Errorf("err = %v, want a protocol error refusing the redirect", err)
		}
		if got := plain.requests(); len(got) != 0 {
			t.Errorf("the http server was sent %d request(s): %q", len(got), got)
		}
	})

	t.Run("another port gets no credentials", func(t *testing.T) {
		var other authRecorder
		elsewhere := httptest.NewTLSServer(other.handler(notFound))
		defer elsewhere.Close()
		prism := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}))
		defer prism.Close()
		c, err := New(Config{Address: prism.Listener.Addr().String(), Username: "ops", Password: "s3cret", Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.ListClusters(context.Background())
		got := other.requests()
		if len(got) == 0 {
			t.Fatal("the redirect was not followed at all")
		}
		for _, a := range got {
			if a != "" {
				t.Errorf("another port received Authorization %q", a)
			}
		}
	})

	t.Run("the same origin keeps them", func(t *testing.T) {
		var rec authRecorder
		mux := http.NewServeMux()
		mux.HandleFunc("/moved/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusFound)
		})
		prism := httptest.NewTLSServer(rec.handler(mux))
		defer prism.Close()
		c, err := New(Config{Address: prism.Listener.Addr().String(), Username: "ops", Password: "s3cret", Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.ListClusters(context.Background())
		got := rec.requests()
		if len(got) < 2 || got[1] == "" {
			t.Errorf("requests %q: the redirect within Prism should keep the credentials", got)
		}
	})
}
