package prism

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

// hostileV4 serves GET .../v4.0/config/clusters pages made by page(n); every other path is
// a 404, as on a Prism without that API.
func hostileV4(t *testing.T, page func(n int) string) (*Client, *atomic.Int64) {
	t.Helper()
	var served atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/clustermgmt/v4.0/config/clusters" {
			http.NotFound(w, r)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("$page"))
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(page(n)))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Address: srv.Listener.Addr().String(), Username: "admin", Password: "x",
		HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, &served
}

func clusterPage(ids []string, next bool) string {
	var data []string
	for _, id := range ids {
		data = append(data, fmt.Sprintf(`{"extId": %q, "name": %q, "config": {"clusterFunction": ["AOS"]}}`, id, "c-"+id))
	}
	links := `[{"rel": "self", "href": "https://x/y"}]`
	if next {
		links = `[{"rel": "self", "href": "https://x/y"}, {"rel": "next", "href": "https://x/y?$page=next"}]`
	}
	return `{"data": [` + strings.Join(data, ",") + `], "metadata": {"links": ` + links + `}}`
}

func wantTooLarge(t *testing.T, err error, limit string) {
	t.Helper()
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %T %v, want *TooLargeError", err, err)
	}
	if tl.Limit != limit || !strings.Contains(err.Error(), "GET /api/clustermgmt/v4.0/config/clusters") {
		t.Errorf("err = %q (limit %q), want it to name the endpoint and %q", err, tl.Limit, limit)
	}
}

func TestPagingBounds(t *testing.T) {
	ctx := context.Background()

	t.Run("a server that always says there is more", func(t *testing.T) {
		c, served := hostileV4(t, func(n int) string { return clusterPage([]string{fmt.Sprint("id-", n)}, true) })
		_, err := c.ListClusters(ctx)
		wantTooLarge(t, err, "200 pages")
		if n := served.Load(); n != maxPages+1 {
			t.Errorf("%d pages read, want %d", n, maxPages+1)
		}
	})

	t.Run("a server that repeats its page ends the walk", func(t *testing.T) {
		c, served := hostileV4(t, func(int) string { return clusterPage([]string{"a", "b"}, true) })
		clusters, err := c.ListClusters(ctx)
		if err != nil || len(clusters) != 2 {
			t.Fatalf("ListClusters = %v, %v; want the two clusters", clusters, err)
		}
		if n := served.Load(); n != 2 {
			t.Errorf("%d pages read, want 2 (the repeat stops it)", n)
		}
	})

	t.Run("entities without ids end at the page bound", func(t *testing.T) {
		c, _ := hostileV4(t, func(int) string { return `{"data": [{"name": "x"}], "metadata": {"totalAvailableResults": 1000000}}` })
		c.limits.pages = 20
		_, err := c.ListClusters(ctx)
		wantTooLarge(t, err, "20 pages")
	})

	t.Run("too many entities", func(t *testing.T) {
		c, _ := hostileV4(t, func(n int) string {
			var ids []string
			for i := range 100 {
				ids = append(ids, fmt.Sprint(n, "-", i))
			}
			return clusterPage(ids, true)
		})
		c.limits.entities = 250
		_, err := c.ListClusters(ctx)
		wantTooLarge(t, err, "250 entities")
	})

	t.Run("too many bytes across pages", func(t *testing.T) {
		pad := strings.Repeat(" ", 2000)
		c, served := hostileV4(t, func(n int) string { return clusterPage([]string{fmt.Sprint(n)}, true) + pad })
		c.limits.listBytes = 10000
		_, err := c.ListClusters(ctx)
		wantTooLarge(t, err, "10000 bytes of answers")
		if n := served.Load(); n > 6 {
			t.Errorf("%d pages read past a 10000-byte budget of 2 KB pages", n)
		}
	})

	t.Run("one answer too large", func(t *testing.T) {
		c, _ := hostileV4(t, func(int) string { return clusterPage([]string{"a"}, false) + strings.Repeat(" ", 5000) })
		c.limits.body = 4096
		_, err := c.ListClusters(ctx)
		wantTooLarge(t, err, "4096 bytes in one answer")
	})
}

// The host bound counts all clusters together, and ends every cluster's list.
func TestHostBoundAcrossClusters(t *testing.T) {
	sim := prismsim.New(prismsim.Options{APIs: prismsim.V4, Generate: &prismsim.Generate{Clusters: 6, CVMs: 3}})
	srv := httptest.NewTLSServer(sim)
	t.Cleanup(srv.Close)
	c, err := New(Config{Address: srv.Listener.Addr().String(), Username: prismsim.DefaultUsername,
		Password: prismsim.DefaultPassword, HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.limits.hosts = 10
	_, err = c.Inventory(context.Background(), nil)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != "10 hosts in all" {
		t.Fatalf("err = %v, want *TooLargeError for 10 hosts in all", err)
	}
}
