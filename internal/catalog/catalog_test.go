package catalog

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestContractNames(t *testing.T) {
	// The command-line contract promises these names, each at LogDir/<name>.out (the
	// script cmd/cvmtail/testdata/script/logs.txtar checks them as users see them).
	for _, name := range []string{"genesis", "acropolis", "cerebro", "prism", "zookeeper", "stargate",
		"curator", "uhura", "ergon", "hades", "pithos", "cassandra", "alert_manager"} {
		e, ok := Lookup(name)
		if !ok {
			t.Errorf("%s: not in the catalog", name)
			continue
		}
		if want := "/home/nutanix/data/logs/" + name + ".out"; e.Path != want {
			t.Errorf("%s: path %q, want %q", name, e.Path, want)
		}
		if e.Sudo {
			t.Errorf("%s: Sudo set on a nutanix-owned log", name)
		}
	}
	for _, svc := range []string{"stargate", "cerebro", "curator", "alert_manager"} {
		for _, lvl := range []string{"INFO", "WARNING", "ERROR", "FATAL"} {
			e, ok := Lookup(svc + "." + lvl)
			if !ok || e.Path != LogDir+"/"+svc+"."+lvl {
				t.Errorf("%s.%s: got %+v, %v", svc, lvl, e, ok)
			}
		}
	}
	e, ok := Lookup("syslog")
	if !ok || e.Path != "/home/log/messages" || !e.Sudo {
		t.Errorf("syslog: got %+v, %v; want /home/log/messages read with sudo", e, ok)
	}
}

func TestAllIsSortedAndDescribed(t *testing.T) {
	all := All()
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Name < all[j].Name }) {
		t.Error("All() is not sorted by name")
	}
	for _, e := range all {
		switch {
		case e.Description == "" || strings.ContainsAny(e.Description, "\t\n"):
			t.Errorf("%s: description %q must be one line, without tabs", e.Name, e.Description)
		case !strings.HasPrefix(e.Path, "/"):
			t.Errorf("%s: path %q is not absolute", e.Name, e.Path)
		case strings.ContainsAny(e.Name, "/*?[\\ \t") || e.Name == "":
			t.Errorf("%s: a name must not look like a path or a glob", e.Name)
		}
	}
	// All returns a copy: callers cannot change the catalog.
	all[0].Name = "changed"
	if All()[0].Name == "changed" {
		t.Error("All() shares its backing array")
	}
}

func TestResolve(t *testing.T) {
	stargateAll := []Log{
		{Name: "stargate", Path: LogDir + "/stargate.out", Optional: true},
		{Name: "stargate.ERROR", Path: LogDir + "/stargate.ERROR", Optional: true},
		{Name: "stargate.FATAL", Path: LogDir + "/stargate.FATAL", Optional: true},
		{Name: "stargate.INFO", Path: LogDir + "/stargate.INFO", Optional: true},
		{Name: "stargate.WARNING", Path: LogDir + "/stargate.WARNING", Optional: true},
	}
	tests := []struct {
		name string
		args []string
		want []Log
	}{
		{"name", []string{"genesis"}, []Log{{Name: "genesis", Path: LogDir + "/genesis.out"}}},
		{"glog level", []string{"cerebro.WARNING"}, []Log{{Name: "cerebro.WARNING", Path: LogDir + "/cerebro.WARNING"}}},
		{"syslog needs sudo", []string{"syslog"}, []Log{{Name: "syslog", Path: "/home/log/messages", Sudo: true}}},
		{"non-.out log", []string{"prism_gateway"}, []Log{{Name: "prism_gateway", Path: LogDir + "/prism_gateway.log"}}},
		{"glob", []string{"stargate*"}, stargateAll},
		{"glob over levels", []string{"curator.[EF]*"}, []Log{
			{Name: "curator.ERROR", Path: LogDir + "/curator.ERROR", Optional: true},
			{Name: "curator.FATAL", Path: LogDir + "/curator.FATAL", Optional: true},
		}},
		{"absolute path, name is its base name", []string{"/home/nutanix/data/logs/foo bar;$(x).log"},
			[]Log{{Name: "foo bar;$(x).log", Path: "/home/nutanix/data/logs/foo bar;$(x).log", ByPath: true}}},
		{"absolute path kept as given", []string{"/home/nutanix/data/logs/../logs/x"},
			[]Log{{Name: "x", Path: "/home/nutanix/data/logs/../logs/x", ByPath: true}}},
		{"a glob in a path's last component is expanded on the CVM", []string{"/home/nutanix/data/logs/stargate*"},
			[]Log{{Name: "stargate*", Path: "/home/nutanix/data/logs/stargate*", ByPath: true, Glob: true, Optional: true}}},
		{"each of *, ? and [ makes a glob", []string{"/d/a?.log", "/d/[ab].log"}, []Log{
			{Name: "a?.log", Path: "/d/a?.log", ByPath: true, Glob: true, Optional: true},
			{Name: "[ab].log", Path: "/d/[ab].log", ByPath: true, Glob: true, Optional: true},
		}},
		{"a pattern in a directory is taken literally", []string{"/d*/x.log"}, []Log{{Name: "x.log", Path: "/d*/x.log", ByPath: true}}},
		{"a glob among syslog's files is read with sudo", []string{"/home/log/messages*"},
			[]Log{{Name: "messages*", Path: "/home/log/messages*", Sudo: true, ByPath: true, Glob: true, Optional: true}}},
		{"absolute syslog path keeps sudo", []string{"/home/log/messages"}, []Log{{Name: "messages", Path: "/home/log/messages", Sudo: true, ByPath: true}}},
		{"duplicates keep first-seen order", []string{"stargate.INFO", "genesis", "stargate*", "genesis"}, []Log{
			{Name: "stargate.INFO", Path: LogDir + "/stargate.INFO"},
			{Name: "genesis", Path: LogDir + "/genesis.out"},
			{Name: "stargate", Path: LogDir + "/stargate.out", Optional: true},
			{Name: "stargate.ERROR", Path: LogDir + "/stargate.ERROR", Optional: true},
			{Name: "stargate.FATAL", Path: LogDir + "/stargate.FATAL", Optional: true},
			{Name: "stargate.WARNING", Path: LogDir + "/stargate.WARNING", Optional: true},
		}},
		{"a name after its glob is no longer optional", []string{"stargate.[IF]*", "stargate.FATAL"}, []Log{
			{Name: "stargate.FATAL", Path: LogDir + "/stargate.FATAL"},
			{Name: "stargate.INFO", Path: LogDir + "/stargate.INFO", Optional: true},
		}},
		{"a file name from logs --remote", []string{"genesis.out"}, []Log{{Name: "genesis", Path: LogDir + "/genesis.out"}}},
		{"a rotated file", []string{"genesis.out.20261122-100000"}, []Log{{Name: "genesis.out.20261122-100000", Path: LogDir + "/genesis.out.20261122-100000", ByPath: true}}},
		{"a glog file", []string{"stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-100000.1234"},
			[]Log{{Name: "stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-100000.1234", Path: LogDir + "/stargate.ntnx-a-cvm.nutanix.log.INFO.20261122-100000.1234", ByPath: true}}},
		{"Cassandra's system log as listed", []string{"cassandra/system.log"}, []Log{{Name: "cassandra_system", Path: LogDir + "/cassandra/system.log"}}},
		{"name and its path are one file", []string{"genesis", LogDir + "/genesis.out"}, []Log{{Name: "genesis", Path: LogDir + "/genesis.out"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.args)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestResolveUnknown(t *testing.T) {
	tests := []struct {
		arg  string
		want []string // suggestions, best first
	}{
		{"stargat", []string{"stargate", "stargate.ERROR", "stargate.FATAL"}},
		{"genisis", []string{"genesis"}},
		{"Genesis", []string{"genesis"}},
		{"genesis.ot", []string{"genesis"}},
		{"zookeper", []string{"zookeeper"}},
		{"gateway", []string{"prism_gateway"}},
		{"stargte*", []string{"stargate"}},
		{"nosuchthing", nil},
		{"x*", nil},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			_, err := Resolve([]string{"genesis", tt.arg})
			var ue *UnknownError
			if !errors.As(err, &ue) {
				t.Fatalf("Resolve(%q): got %v, want *UnknownError", tt.arg, err)
			}
			if ue.Name != tt.arg {
				t.Errorf("Name = %q, want %q", ue.Name, tt.arg)
			}
			if len(ue.Suggestions) > 3 {
				t.Errorf("more than 3 suggestions: %q", ue.Suggestions)
			}
			if len(tt.want) > 0 && (len(ue.Suggestions) < len(tt.want) || !reflect.DeepEqual(ue.Suggestions[:len(tt.want)], tt.want)) {
				t.Errorf("suggestions %q, want them to start with %q", ue.Suggestions, tt.want)
			}
			if tt.want == nil && len(ue.Suggestions) != 0 {
				t.Errorf("suggestions %q, want none", ue.Suggestions)
			}
		})
	}
}

func TestResolveBadArgs(t *testing.T) {
	for _, arg := range []string{"data/logs/genesis.out", "./genesis.out", "../x", "..", ".", "~/data/logs/genesis.out", "/home/nutanix/data/logs/", ""} {
		got, err := Resolve([]string{arg})
		var pe *PathError
		if !errors.As(err, &pe) || pe.Arg != arg {
			t.Errorf("Resolve(%q) = %v, %v; want a *PathError naming it", arg, got, err)
		}
	}
	if _, err := Resolve([]string{"stargate[.INFO"}); !errors.Is(err, ErrBadGlob) {
		t.Errorf("malformed glob: got %v, want ErrBadGlob", err)
	}
}

func TestCompleteNames(t *testing.T) {
	got := CompleteNames("stargate.")
	want := []string{"stargate.ERROR", "stargate.FATAL", "stargate.INFO", "stargate.WARNING"}
	if len(got) != len(want) {
		t.Fatalf("CompleteNames(stargate.) = %q", got)
	}
	for i, c := range got {
		name, desc, ok := strings.Cut(c, "\t")
		if !ok || name != want[i] || desc == "" {
			t.Errorf("completion %d = %q, want %q<TAB>description", i, c, want[i])
		}
	}
	if n := len(CompleteNames("")); n != len(All()) {
		t.Errorf("CompleteNames(\"\") offers %d names, want all %d", n, len(All()))
	}
	if got := CompleteNames("/home"); got != nil {
		t.Errorf("CompleteNames(/home) = %q, want nothing", got)
	}
	if got := CompleteNames("zzz"); got != nil {
		t.Errorf("CompleteNames(zzz) = %q, want nothing", got)
	}
}
