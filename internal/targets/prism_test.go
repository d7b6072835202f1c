package targets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/iostreams"
	"github.com/cvmtail/cvmtail/internal/prism"
	"github.com/cvmtail/cvmtail/internal/prism/prismsim"
)

type prismEnv struct {
	sim    *prismsim.Sim
	srv    *prismsim.Server
	f      *cmdutil.Factory
	env    map[string]string
	stderr interface{ String() string }
	clock  *time.Time
	caFile string
	cache  string
}

func newPrismEnv(t *testing.T, opts prismsim.Options) *prismEnv {
	t.Helper()
	sim := prismsim.New(opts)
	srv, _ := prismsim.StartTLS(t, sim, "127.0.0.1:0")
	ios, _, _, stderr := iostreams.Test()
	clock := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	e := &prismEnv{sim: sim, srv: srv, stderr: stderr, clock: &clock,
		env: map[string]string{"CVMTAIL_PASSWORD": prismsim.DefaultPassword}, cache: t.TempDir()}
	e.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(e.caFile, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e.f = &cmdutil.Factory{
		IOStreams: ios,
		Now:       func() time.Time { return *e.clock },
		Getenv:    func(k string) string { return e.env[k] },
		CacheDir:  func() (string, error) { return e.cache, nil },
	}
	return e
}

func (e *prismEnv) opts(extra ...func(*Options)) *Options {
	o := &Options{TargetOptions: cmdutil.TargetOptions{Prism: e.srv.Addr, CACert: e.caFile}}
	for _, x := range extra {
		x(o)
	}
	return o
}

func clusters(c ...string) func(*Options) { return func(o *Options) { o.Clusters = c } }
func cvms(c ...string) func(*Options)     { return func(o *Options) { o.CVMs = c } }

func TestResolveTargetsThroughPrism(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{})
	got, err := Resolve(context.Background(), e.f, e.opts(clusters("alpha-pe01")))
	if err != nil {
		t.Fatal(err)
	}
	// What the commands show and use of each CVM; the rest is Prism's (list-cvms -o json).
	type shown struct{ Name, Address, Cluster, State string }
	var seen []shown
	for _, c := range got {
		seen = append(seen, shown{c.Name, c.Address, c.Cluster, c.State})
	}
	want := []shown{
		{Name: "NTNX-21AB0001-A-CVM", Address: "10.20.1.31", Cluster: "alpha-pe01", State: "normal"},
		{Name: "NTNX-21AB0001-B-CVM", Address: "10.20.1.32", Cluster: "alpha-pe01", State: "normal"},
		{Name: "NTNX-21AB0001-C-CVM", Address: "10.20.1.33", Cluster: "alpha-pe01", State: "normal"},
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("targets = %+v\nwant %+v", seen, want)
	}
	if n := strings.Count(e.stderr.String(), "cvmtail: skipped 1 compute-only host(s) without a CVM\n"); n != 1 {
		t.Errorf("stderr %q: want the compute-only note exactly once", e.stderr.String())
	}
	if e.sim.Count("/api/clustermgmt/v4.0/config/clusters/7c1e2a40-5b3d-4f6e-9a8b-0c1d2e3f4a50/hosts") != 0 {
		t.Error("the PC's own cluster was asked for hosts")
	}
}

func TestPrismFromEnvironment(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{})
	e.env["CVMTAIL_PRISM"] = e.srv.Addr
	o := &Options{TargetOptions: cmdutil.TargetOptions{CACert: e.caFile, Clusters: []string{"bravo-pe02"}}}
	got, err := Resolve(context.Background(), e.f, o)
	if err != nil || len(got) != 1 || got[0].Address != "10.20.2.31" {
		t.Fatalf("Resolve = %+v, %v; want bravo's one CVM", got, err)
	}
}

func TestSeveralClustersNeedCluster(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{})
	_, err := Resolve(context.Background(), e.f, e.opts())
	var ue *cmdutil.UsageError
	if !errors.As(err, &ue) || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("err = %v, want a usage error (exit 2)", err)
	}
	if !strings.Contains(ue.Hint, "alpha-pe01, bravo-pe02") || !strings.Contains(ue.Hint, "--cluster") || !strings.Contains(ue.Hint, "--cluster all") {
		t.Errorf("hint %q should list the clusters, name --cluster and mention --cluster all", ue.Hint)
	}
	if n := e.sim.Count("/api/clustermgmt/v4.0/config/clusters/00061a2b-3c4d-5e6f-0a1b-2c3d4e5f6a01/hosts"); n != 0 {
		t.Errorf("hosts were listed (%d calls) before the selection was known", n)
	}
	// The cluster names are remembered for completion.
	if got := completeClusters(e.cache, e.srv.Addr); !reflect.DeepEqual(got, []string{"alpha-pe01", "bravo-pe02", "all\tevery cluster of the Prism Central"}) {
		t.Errorf("completeClusters = %v", got)
	}
}

func addresses(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Address)
	}
	return out
}

// --cluster all (or '*') selects every AOS cluster of a PC, and --cluster takes a
// comma-separated list as --cvm does.
func TestEveryClusterAndClusterLists(t *testing.T) {
	all := []string{"10.20.1.31", "10.20.1.32", "10.20.1.33", "10.20.2.31"}
	for _, sel := range [][]string{{"all"}, {"ALL"}, {"*"}, {"alpha-pe01,bravo-pe02"}, {"alpha-pe01", " bravo-pe02 "}, {"bravo-pe02,all"}} {
		e := newPrismEnv(t, prismsim.Options{})
		got, err := Resolve(context.Background(), e.f, e.opts(clusters(sel...)))
		if err != nil || !reflect.DeepEqual(addresses(got), all) {
			t.Errorf("--cluster %q: %v, %v; want the CVMs of both clusters %v", sel, addresses(got), err, all)
		}
	}
}

// 'all' has its own cache entry: it is not served to a run that names one cluster, nor to a
// run without --cluster, which must still be told to choose.
func TestEveryClusterHasItsOwnCacheEntry(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{})
	if _, err := Resolve(ctx, e.f, e.opts(clusters("all"))); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Total()
	if got, err := Resolve(ctx, e.f, e.opts(clusters("*"))); err != nil || len(got) != 4 || e.sim.Total() != calls {
		t.Errorf("--cluster '*' after --cluster all: %v, %v, %d requests; want the cached 4 CVMs", addresses(got), err, e.sim.Total()-calls)
	}
	if got, err := Resolve(ctx, e.f, e.opts(clusters("bravo-pe02"))); err != nil || !reflect.DeepEqual(addresses(got), []string{"10.20.2.31"}) {
		t.Errorf("--cluster bravo-pe02 after --cluster all: %v, %v", addresses(got), err)
	}
	if _, err := Resolve(ctx, e.f, e.opts()); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "choose with --cluster") {
		t.Errorf("no --cluster after --cluster all: %v, want the usage error that lists the clusters", err)
	}
}

// A --cvm that one cluster of the PC holds needs no --cluster: the inventory of every
// cluster is asked (and cached as --cluster all's), then filtered.
func TestCVMAloneFindsItsCluster(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{})
	got, err := Resolve(ctx, e.f, e.opts(cvms("10.20.2.31")))
	if err != nil || !reflect.DeepEqual(addresses(got), []string{"10.20.2.31"}) || got[0].Cluster != "bravo-pe02" {
		t.Fatalf("--cvm 10.20.2.31 without --cluster: %+v, %v; want bravo-pe02's CVM", got, err)
	}
	calls := e.sim.Total()
	got, err = Resolve(ctx, e.f, e.opts(cvms("NTNX-21AB0001-A-CVM")))
	if err != nil || !reflect.DeepEqual(addresses(got), []string{"10.20.1.31"}) {
		t.Errorf("--cvm NTNX-21AB0001-A-CVM: %v, %v", addresses(got), err)
	}
	if got, err := Resolve(ctx, e.f, e.opts(clusters("all"))); err != nil || len(got) != 4 {
		t.Errorf("--cluster all: %v, %v", addresses(got), err)
	}
	if e.sim.Total() != calls {
		t.Errorf("%d requests: the inventory of every cluster was not served from the cache", e.sim.Total()-calls)
	}
	// Unknown everywhere: the usual error.
	if _, err := Resolve(ctx, e.f, e.opts(cvms("10.20.9.99"))); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), `"10.20.9.99"`) {
		t.Errorf("--cvm 10.20.9.99: %v", err)
	}
}

// A --cvm that matches CVMs of several clusters, without --cluster, is a usage error that
// lists them; --cluster says which.
func TestCVMInSeveralClustersNeedsCluster(t *testing.T) {
	ctx := context.Background()
	// Two clusters behind NAT'd networks of the same addresses.
	e := newPrismEnv(t, prismsim.Options{Generate: &prismsim.Generate{Clusters: 2, CVMs: 2,
		Address: func(c, n int) string { return fmt.Sprintf("10.100.1.%d", n+31) }}})
	_, err := Resolve(ctx, e.f, e.opts(cvms("10.100.1.31")))
	var ue *cmdutil.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	for _, w := range []string{prismsim.ClusterName(0), prismsim.ClusterName(1)} {
		if !strings.Contains(err.Error(), w) || !strings.Contains(ue.Hint, "--cluster "+w) {
			t.Errorf("error %q / hint %q should name cluster %s", err, ue.Hint, w)
		}
	}
	got, err := Resolve(ctx, e.f, e.opts(cvms("10.100.1.31"), clusters(prismsim.ClusterName(1))))
	if err != nil || len(got) != 1 || got[0].Cluster != prismsim.ClusterName(1) {
		t.Errorf("with --cluster %s: %+v, %v", prismsim.ClusterName(1), got, err)
	}
	// A name only one cluster has needs none.
	got, err = Resolve(ctx, e.f, e.opts(cvms(prismsim.HostName(1, 1)+"-CVM")))
	if err != nil || len(got) != 1 || got[0].Cluster != prismsim.ClusterName(1) {
		t.Errorf("--cvm %s-CVM: %+v, %v", prismsim.HostName(1, 1), got, err)
	}
}

// An unknown --cluster lists the clusters and mentions all.
func TestUnknownClusterMentionsAll(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{})
	_, err := Resolve(context.Background(), e.f, e.opts(clusters("charlie")))
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(cmdutil.HintOf(err), "alpha-pe01") || !strings.Contains(cmdutil.HintOf(err), "--cluster all") {
		t.Errorf("err %v, hint %q", err, cmdutil.HintOf(err))
	}
}

func TestSingleClusterPCNeedsNoCluster(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{Generate: &prismsim.Generate{Clusters: 1, CVMs: 2}})
	got, err := Resolve(context.Background(), e.f, e.opts())
	if err != nil || len(got) != 2 {
		t.Fatalf("Resolve = %+v, %v; want 2 CVMs", got, err)
	}
	if strings.Contains(e.stderr.String(), "compute-only") {
		t.Errorf("compute-only note without compute-only hosts: %q", e.stderr.String())
	}
}

func TestCVMFilter(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	got, err := Resolve(context.Background(), e.f, e.opts(cvms("10.20.1.33,ntnx-21ab0001-a", "NTNX-21AB0001-A-CVM")))
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, g := range got {
		addrs = append(addrs, g.Address)
	}
	if !reflect.DeepEqual(addrs, []string{"10.20.1.31", "10.20.1.33"}) {
		t.Errorf("filtered = %v, want 10.20.1.31 and 10.20.1.33 once each, in Prism's order", addrs)
	}

	_, err = Resolve(context.Background(), e.f, e.opts(cvms("10.20.1.99")))
	var ue *cmdutil.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"10.20.1.99"`) {
		t.Fatalf("err = %v, want a usage error naming 10.20.1.99", err)
	}
	if !strings.Contains(ue.Hint, "NTNX-21AB0001-B-CVM (10.20.1.32)") {
		t.Errorf("hint %q should list the known CVMs", ue.Hint)
	}
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	empty := filepath.Join(dir, "empty")
	if os.WriteFile(good, []byte(prismsim.DefaultPassword+"\n"), 0o600) != nil || os.WriteFile(empty, []byte("\n"), 0o600) != nil {
		t.Fatal("cannot write password files")
	}

	tests := []struct {
		name     string
		env      map[string]string
		file     string
		stdinTTY bool
		wantExit int
		wantHint string
	}{
		{name: "env", env: map[string]string{"CVMTAIL_PASSWORD": prismsim.DefaultPassword}},
		{name: "file, one trailing newline trimmed", file: good},
		{name: "file wins over env", env: map[string]string{"CVMTAIL_PASSWORD": "wrong"}, file: good},
		{name: "unreadable file", file: filepath.Join(dir, "missing"), wantExit: cmdutil.ExitUsage, wantHint: "readable"},
		{name: "empty file", file: empty, wantExit: cmdutil.ExitUsage},
		{name: "nothing and no terminal", wantExit: cmdutil.ExitUsage, wantHint: "CVMTAIL_PASSWORD"},
		{name: "terminal that cannot be read", stdinTTY: true, wantExit: cmdutil.ExitUsage, wantHint: "CVMTAIL_PASSWORD"},
		{name: "wrong password", env: map[string]string{"CVMTAIL_PASSWORD": "wrong"}, wantExit: cmdutil.ExitNothingDone, wantHint: "CVMTAIL_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
			e.env = tt.env
			e.f.IOStreams.SetStdinTTY(tt.stdinTTY)
			_, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.PasswordFile = tt.file }))
			if got := cmdutil.ExitCode(err); got != tt.wantExit {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.wantExit)
			}
			if tt.wantHint != "" && !strings.Contains(cmdutil.HintOf(err), tt.wantHint) {
				t.Errorf("hint %q does not mention %q", cmdutil.HintOf(err), tt.wantHint)
			}
			if err != nil && strings.Contains(err.Error()+cmdutil.HintOf(err), prismsim.DefaultPassword) {
				t.Errorf("the password shows in %q", err)
			}
			if tt.wantExit == cmdutil.ExitUsage && e.sim.Total() != 0 {
				t.Errorf("Prism was called %d times despite a usage error", e.sim.Total())
			}
		})
	}
}

func TestUsername(t *testing.T) {
	tests := []struct {
		name, flag, env string
	}{
		{name: "default admin"},
		{name: "env", env: "ops"},
		{name: "flag wins", flag: "ops", env: "someone-else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.flag
			if want == "" {
				want = tt.env
			}
			if want == "" {
				want = "admin"
			}
			e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE, Username: want, Password: "pw"})
			e.env = map[string]string{"CVMTAIL_PASSWORD": "pw", "CVMTAIL_USERNAME": tt.env}
			_, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.Username = tt.flag }))
			if err != nil {
				t.Fatalf("as %s: %v", want, err)
			}
		})
	}
}

func TestPrismErrorsExitStatus(t *testing.T) {
	t.Run("unverified certificate is exit 3 with the way forward", func(t *testing.T) {
		e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
		_, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.CACert = "" }))
		var nd *cmdutil.NothingDoneError
		if !errors.As(err, &nd) || cmdutil.ExitCode(err) != cmdutil.ExitNothingDone {
			t.Fatalf("err = %v, want cmdutil.NothingDoneError", err)
		}
		if !strings.Contains(cmdutil.HintOf(err), "--ca-cert FILE") {
			t.Errorf("hint %q lost", cmdutil.HintOf(err))
		}
	})
	t.Run("insecure warns and works", func(t *testing.T) {
		e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
		_, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.CACert, o.Insecure = "", true }))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.stderr.String(), "cvmtail: warning: not verifying Prism's TLS certificate\n") {
			t.Errorf("stderr %q lacks the warning", e.stderr.String())
		}
	})
	t.Run("unknown cluster is a usage error listing the known ones", func(t *testing.T) {
		e := newPrismEnv(t, prismsim.Options{})
		_, err := Resolve(context.Background(), e.f, e.opts(clusters("charlie")))
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(cmdutil.HintOf(err), "alpha-pe01, bravo-pe02") {
			t.Fatalf("err = %v (hint %q), want exit 2 listing the clusters", err, cmdutil.HintOf(err))
		}
	})
	t.Run("403 is exit 3", func(t *testing.T) {
		e := newPrismEnv(t, prismsim.Options{Forbidden: true})
		_, err := Resolve(context.Background(), e.f, e.opts())
		if cmdutil.ExitCode(err) != cmdutil.ExitNothingDone || !strings.Contains(err.Error(), "403") {
			t.Fatalf("err = %v, want exit 3 for a 403", err)
		}
	})
	t.Run("unreadable CA is a usage error", func(t *testing.T) {
		e := newPrismEnv(t, prismsim.Options{})
		_, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.CACert = "/nonexistent/ca.pem" }))
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Fatalf("err = %v, want exit 2", err)
		}
	})
	t.Run("bad address is a usage error", func(t *testing.T) {
		e := newPrismEnv(t, prismsim.Options{})
		_, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.Prism = "http://pc" }))
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Fatalf("err = %v, want exit 2", err)
		}
	})
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{})
	first, err := Resolve(ctx, e.f, e.opts(clusters("alpha-pe01")))
	if err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Total()

	// Within 5 minutes: no request, and on a terminal no password prompt (this one cannot
	// be read: a prompt would fail).
	*e.clock = e.clock.Add(4 * time.Minute)
	e.env = nil
	e.f.IOStreams.SetStdinTTY(true)
	again, err := Resolve(ctx, e.f, e.opts(clusters("alpha-pe01")))
	e.f.IOStreams.SetStdinTTY(false)
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Fatalf("from cache: %+v, %v; want %+v", again, err, first)
	}
	if e.sim.Total() != calls {
		t.Errorf("cached resolve made %d requests", e.sim.Total()-calls)
	}
	if n := strings.Count(e.stderr.String(), "compute-only"); n != 2 {
		t.Errorf("compute-only note printed %d times over two runs, want once per run", n)
	}

	// The file: 0600, no password.
	files, _ := filepath.Glob(filepath.Join(e.cache, "prism-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files = %v, want one", files)
	}
	st, _ := os.Stat(files[0])
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(files[0])
	if strings.Contains(string(b), prismsim.DefaultPassword) {
		t.Error("the cache file holds the password")
	}

	e.env = map[string]string{"CVMTAIL_PASSWORD": prismsim.DefaultPassword}
	// Another selection or user is another entry.
	if _, err := Resolve(ctx, e.f, e.opts(clusters("bravo-pe02"))); err != nil {
		t.Fatal(err)
	}
	if e.sim.Total() == calls {
		t.Error("another cluster selection was served from the first one's cache")
	}
	calls = e.sim.Total()

	// --refresh asks again.
	if _, err := Resolve(ctx, e.f, e.opts(clusters("alpha-pe01"), func(o *Options) { o.Refresh = true })); err != nil {
		t.Fatal(err)
	}
	if e.sim.Total() == calls {
		t.Error("--refresh was served from the cache")
	}
	calls = e.sim.Total()

	// After 5 minutes the entry is stale.
	*e.clock = e.clock.Add(5 * time.Minute)
	if _, err := Resolve(ctx, e.f, e.opts(clusters("alpha-pe01"))); err != nil {
		t.Fatal(err)
	}
	if e.sim.Total() == calls {
		t.Error("a 5-minute-old entry was used")
	}

	// Completion reads the cache only.
	got := completeCVMs(e.cache, e.srv.Addr, []string{"bravo-pe02"})
	if !reflect.DeepEqual(got, []string{"10.20.2.31\tNTNX-21AB0003-A-CVM (bravo-pe02)"}) {
		t.Errorf("completeCVMs = %q", got)
	}
	if got := completeCVMs(e.cache, "other:9440", nil); len(got) != 0 {
		t.Errorf("completion for another Prism = %q, want none", got)
	}
}

func TestWithoutPrismNoCall(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(string) string { return "" }}
	got, err := Resolve(context.Background(), f, &Options{TargetOptions: cmdutil.TargetOptions{CVMs: []string{"10.1.1.11,10.1.1.12", "10.1.1.11"}}})
	want := []Target{{Name: "10.1.1.11", Address: "10.1.1.11"}, {Name: "10.1.1.12", Address: "10.1.1.12"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Resolve = %+v, %v; want %+v", got, err, want)
	}
}

func TestUnknownCVMAsksPrismAgainBeforeFailing(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	if _, err := Resolve(ctx, e.f, e.opts()); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Total()
	if _, err := Resolve(ctx, e.f, e.opts(cvms("10.20.1.32"))); err != nil || e.sim.Total() != calls {
		t.Fatalf("a known CVM: err %v, %d requests; want none from the cache", err, e.sim.Total()-calls)
	}
	_, err := Resolve(ctx, e.f, e.opts(cvms("10.20.1.99")))
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("err = %v, want a usage error", err)
	}
	if e.sim.Total() == calls {
		t.Error("an unknown CVM failed on the cached list without asking Prism")
	}
	if strings.Count(e.stderr.String(), "compute-only") != 2 {
		t.Errorf("stderr %q: the compute-only note belongs to the two runs that succeeded", e.stderr.String())
	}
}

func TestCacheDoesNotHideBrokenSettings(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	if _, err := Resolve(ctx, e.f, e.opts()); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Total()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	emptyPW := filepath.Join(dir, "empty")
	if os.WriteFile(notPEM, []byte("hello\n"), 0o600) != nil || os.WriteFile(emptyPW, nil, 0o600) != nil {
		t.Fatal("cannot write test files")
	}
	tests := []struct {
		name string
		env  map[string]string
		opt  func(*Options)
	}{
		{name: "no password at all, no terminal", env: map[string]string{}},
		{name: "missing password file", opt: func(o *Options) { o.PasswordFile = filepath.Join(dir, "missing") }},
		{name: "empty password file", opt: func(o *Options) { o.PasswordFile = emptyPW }},
		{name: "missing CA bundle", opt: func(o *Options) { o.CACert = filepath.Join(dir, "missing.pem") }},
		{name: "CA bundle that is not PEM", opt: func(o *Options) { o.CACert = notPEM }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.env = map[string]string{"CVMTAIL_PASSWORD": prismsim.DefaultPassword}
			if tt.env != nil {
				e.env = tt.env
			}
			o := e.opts()
			if tt.opt != nil {
				tt.opt(o)
			}
			_, err := Resolve(ctx, e.f, o)
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("err = %v, want a usage error even with a fresh cached list", err)
			}
		})
	}
	if e.sim.Total() != calls {
		t.Errorf("%d requests for settings that are broken", e.sim.Total()-calls)
	}
}

func TestCacheKeepsInsecureAndVerifiedApart(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	if _, err := Resolve(ctx, e.f, e.opts(func(o *Options) { o.CACert, o.Insecure = "", true })); err != nil {
		t.Fatal(err)
	}
	// The same Prism, verified against the system's roots: the simulator's certificate is
	// not among them, so the only right answer is the TLS failure, never the insecure list.
	_, err := Resolve(ctx, e.f, e.opts(func(o *Options) { o.CACert = "" }))
	var tlsErr *prism.TLSError
	if !errors.As(err, &tlsErr) {
		t.Errorf("err = %v: a verified run must check the certificate, not reuse the list fetched with --insecure", err)
	}
	// Verified with the CA: a request, then cached under that CA.
	calls := e.sim.Total()
	if _, err := Resolve(ctx, e.f, e.opts()); err != nil {
		t.Fatal(err)
	}
	if e.sim.Total() == calls {
		t.Error("the first run verified with the CA asked Prism nothing: it was served the list fetched with --insecure")
	}
	calls = e.sim.Total()
	if _, err := Resolve(ctx, e.f, e.opts()); err != nil || e.sim.Total() != calls {
		t.Errorf("the same verified settings were not served from the cache (err %v)", err)
	}
}

func TestReadablePasswordFileWarns(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(prismsim.DefaultPassword+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pw, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if _, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.PasswordFile = pw })); err != nil {
		t.Fatal(err)
	}
	want := "cvmtail: warning: " + pw + " holds a password and others may read it\ncvmtail: hint: chmod 600 " + pw + "\n"
	if !strings.Contains(e.stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", e.stderr.String(), want)
	}
	if err := os.Chmod(pw, 0o600); err != nil {
		t.Fatal(err)
	}
	before := e.stderr.String()
	if _, err := Resolve(context.Background(), e.f, e.opts(func(o *Options) { o.PasswordFile = pw })); err != nil {
		t.Fatal(err)
	}
	if strings.Count(e.stderr.String(), "others may read it") != strings.Count(before, "others may read it") {
		t.Errorf("a 0600 password file warned: %q", e.stderr.String())
	}
}

func TestPromptAsksAgainAfterAWrongPassword(t *testing.T) {
	for _, tt := range []struct {
		typed    []string
		wantExit int
	}{
		{typed: []string{"wrong", "typo", prismsim.DefaultPassword}, wantExit: cmdutil.ExitOK},
		{typed: []string{"wrong", "typo", "again", prismsim.DefaultPassword}, wantExit: cmdutil.ExitNothingDone},
	} {
		e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
		e.env = map[string]string{}
		e.f.IOStreams.SetStdinTTY(true)
		var prompts []string
		e.f.IOStreams.SetPasswordReader(func(ctx context.Context, prompt string) (string, error) {
			prompts = append(prompts, prompt)
			return tt.typed[len(prompts)-1], nil
		})
		_, err := Resolve(context.Background(), e.f, e.opts())
		if got := cmdutil.ExitCode(err); got != tt.wantExit {
			t.Fatalf("typed %q: exit %d (%v), want %d", tt.typed, got, err, tt.wantExit)
		}
		wantPrompts := min(len(tt.typed), 3)
		if len(prompts) != wantPrompts || !strings.HasPrefix(prompts[0], "Prism password for admin@") {
			t.Errorf("typed %q: prompts %q, want %d", tt.typed, prompts, wantPrompts)
		}
		if n := strings.Count(e.stderr.String(), "wrong user name or password; try again"); n != wantPrompts-1 {
			t.Errorf("stderr %q: %d retries announced", e.stderr.String(), n)
		}
		if err != nil && strings.Contains(cmdutil.HintOf(err), "CVMTAIL_PASSWORD") {
			t.Errorf("hint %q points at the environment for a typed password", cmdutil.HintOf(err))
		}
	}
}

func TestCtrlCAtThePromptCancels(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	e.env = map[string]string{}
	e.f.IOStreams.SetStdinTTY(true)
	ctx, cancel := context.WithCancel(context.Background())
	e.f.IOStreams.SetPasswordReader(func(ctx context.Context, prompt string) (string, error) {
		cancel() // Ctrl-C while the prompt waits
		<-ctx.Done()
		return "", ctx.Err()
	})
	_, err := Resolve(ctx, e.f, e.opts())
	if !errors.Is(err, context.Canceled) || e.sim.Total() != 0 {
		t.Errorf("err = %v after %d requests, want context.Canceled before any", err, e.sim.Total())
	}
}

// What was left out is said on every run, cached or not; a list with a cluster missing
// is never cached, so the next run asks for it again.
func TestNoticesAndPartialLists(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{Fail: map[string][]int{
		"/api/clustermgmt/v4.0/config/clusters/00061b3c-4d5e-6f70-1b2c-3d4e5f6a7b02/hosts": {500}}})
	e.sim.SetHostState("NTNX-21AB0001-B", prismsim.HostState{CVMAddress: "-x"})
	both := clusters("alpha-pe01", "bravo-pe02")

	got, err := Resolve(ctx, e.f, e.opts(both))
	if err != nil || len(got) != 2 {
		t.Fatalf("Resolve = %+v, %v; want alpha's two good CVMs", got, err)
	}
	if !strings.Contains(e.stderr.String(), "cvmtail: cluster bravo-pe02: its CVMs are left out: ") {
		t.Errorf("stderr %q: want bravo's failure", e.stderr.String())
	}
	calls := e.sim.Total()
	got, err = Resolve(ctx, e.f, e.opts(both))
	if err != nil || len(got) != 3 || e.sim.Total() == calls {
		t.Fatalf("second run: %d CVMs, %v, %d requests; want bravo asked again and found", len(got), err, e.sim.Total()-calls)
	}
	calls = e.sim.Total()
	if _, err := List(ctx, e.f, e.opts(both)); err != nil || e.sim.Total() != calls {
		t.Fatalf("third run: %v, %d requests; want the complete list from the cache", err, e.sim.Total()-calls)
	}
	skipped := `cvmtail: cluster alpha-pe01: host NTNX-21AB0001-B: CVM address "-x" is not an IP address or host name: skipped`
	if n := strings.Count(e.stderr.String(), skipped); n != 3 {
		t.Errorf("the skipped host was reported %d times over three runs, want 3:\n%s", n, e.stderr.String())
	}
}

func TestListPartialExit(t *testing.T) {
	e := newPrismEnv(t, prismsim.Options{Fail: map[string][]int{
		"/api/clustermgmt/v4.0/config/clusters/00061b3c-4d5e-6f70-1b2c-3d4e5f6a7b02/hosts": {500, 500}}})
	list, err := List(context.Background(), e.f, e.opts(clusters("alpha-pe01", "bravo-pe02")))
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial || len(list) != 3 {
		t.Errorf("List = %d CVMs, exit %d; want alpha's 3 and exit 1", len(list), cmdutil.ExitCode(err))
	}
	// tail and logs --remote follow the CVMs listed, and end with exit 1 for the rest.
	o := e.opts(clusters("alpha-pe01", "bravo-pe02"))
	targets, err := Resolve(context.Background(), e.f, o)
	if err != nil || len(targets) != 3 || o.UnlistedClusters() != 1 {
		t.Errorf("Resolve = %d targets, %v, %d clusters unlisted; want 3, nil, 1", len(targets), err, o.UnlistedClusters())
	}
}

// Asked again while tail follows: never the cache, never a prompt (the password typed at
// the start serves again), nothing said, and a list with a cluster missing is an error,
// not a list of CVMs that left.
func TestRefreshTargets(t *testing.T) {
	ctx := context.Background()
	e := newPrismEnv(t, prismsim.Options{Mode: prismsim.PE})
	e.env = map[string]string{}
	e.f.IOStreams.SetStdinTTY(true)
	prompts := 0
	e.f.IOStreams.SetPasswordReader(func(context.Context, string) (string, error) {
		prompts++
		return prismsim.DefaultPassword, nil
	})
	o := e.opts()
	if _, err := Resolve(ctx, e.f, o); err != nil {
		t.Fatal(err)
	}
	said := e.stderr.String()
	e.sim.SetHostListed("NTNX-21AB0001-A", false)
	calls := e.sim.Total()
	got, err := Refresh(ctx, e.f, o, false)
	if err != nil || len(got) != 2 || got[0].Name != "NTNX-21AB0001-B-CVM" {
		t.Fatalf("Refresh = %+v, %v; want B and C", got, err)
	}
	if e.sim.Total() == calls || prompts != 1 || e.stderr.String() != said {
		t.Errorf("%d requests, %d prompts, stderr %q; want Prism asked, no second prompt, nothing said",
			e.sim.Total()-calls, prompts, strings.TrimPrefix(e.stderr.String(), said))
	}
	e.sim.SetHostState("NTNX-21AB0001-B", prismsim.HostState{NATAddress: "192.0.2.7", NATPort: 2222})
	if got, err := Refresh(ctx, e.f, o, true); err != nil || got[0].Address != "192.0.2.7:2222" {
		t.Errorf("with --use-nat: %+v, %v", got, err)
	}

	// --cvm A,B and A left the cluster: B is still refreshed (the refresher stops following
	// A); when none of them is listed, that is the error.
	o.CVMs = []string{"NTNX-21AB0001-A-CVM,NTNX-21AB0001-B-CVM"}
	if got, err := Refresh(ctx, e.f, o, false); err != nil || len(got) != 1 || got[0].Name != "NTNX-21AB0001-B-CVM" {
		t.Errorf("--cvm A,B with A gone: %+v, %v; want B", got, err)
	}
	o.CVMs = []string{"NTNX-21AB0001-A-CVM"}
	if got, err := Refresh(ctx, e.f, o, false); err == nil || !strings.Contains(err.Error(), `no CVM "NTNX-21AB0001-A-CVM"`) {
		t.Errorf("--cvm A with A gone: %+v, %v; want an error naming A", got, err)
	}
	o.CVMs = nil

	// A start served from the cache typed no password: refreshing cannot ask for one.
	o2 := e.opts()
	if _, err := Resolve(ctx, e.f, o2); err != nil {
		t.Fatal(err)
	}
	if _, err := Refresh(ctx, e.f, o2, false); err == nil || prompts != 1 || !strings.Contains(err.Error(), "CVMTAIL_PASSWORD") {
		t.Errorf("refresh without a password: %v, %d prompts", err, prompts)
	}

	pc := newPrismEnv(t, prismsim.Options{Fail: map[string][]int{
		"/api/clustermgmt/v4.0/config/clusters/00061b3c-4d5e-6f70-1b2c-3d4e5f6a7b02/hosts": {500}}})
	if got, err := Refresh(ctx, pc.f, pc.opts(clusters("alpha-pe01", "bravo-pe02")), false); err == nil {
		t.Errorf("a cluster could not be listed: %+v, want an error", got)
	}
}
