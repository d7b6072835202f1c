// Package catalog knows the CVM log files by name: names, paths, globs.
package catalog

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// LogDir is where CVM services write their logs.
const LogDir = "/home/nutanix/data/logs"

// Entry is one log the catalog knows by name.
type Entry struct {
	Name        string
	Path        string
	Description string
	Sudo        bool // read through sudo -n (root-owned system logs)
}

// Log is a resolved LOG argument of `cvmtail tail`.
type Log struct {
	Name string // catalog name, or the path's base name
	Path string // absolute path on the CVM
	Sudo bool
}

var outServices = []struct{ name, desc string }{
	{"genesis", "cluster bring-up and service manager"},
	{"acropolis", "AHV virtualization management"},
	{"cerebro", "data protection and replication"},
	{"prism", "Prism web console and API"},
	{"zookeeper", "cluster configuration store"},
	{"stargate", "storage I/O manager"},
	{"curator", "storage maintenance (MapReduce)"},
	{"uhura", "VM management service"},
	{"ergon", "task manager"},
	{"hades", "disk monitoring and management"},
	{"pithos", "vDisk configuration store"},
	{"cassandra", "distributed metadata store"},
	{"alert_manager", "alerts and health events"},
}

var glogServices = []string{"stargate", "cerebro", "curator", "alert_manager"}

var entries = func() []Entry {
	var es []Entry
	for _, s := range outServices {
		es = append(es, Entry{Name: s.name, Path: LogDir + "/" + s.name + ".out", Description: s.desc + " (stdout/stderr)"})
	}
	for _, s := range glogServices {
		for _, lvl := range []string{"INFO", "WARNING", "ERROR", "FATAL"} {
			es = append(es, Entry{Name: s + "." + lvl, Path: LogDir + "/" + s + "." + lvl,
				Description: s + " glog, " + lvl + " and worse"})
		}
	}
	es = append(es, Entry{Name: "syslog", Path: "/home/log/messages", Description: "CVM system log (read with sudo -n)", Sudo: true})
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	return es
}()

// All returns every catalog entry, sorted by name.
func All() []Entry { return append([]Entry(nil), entries...) }

// UnknownError is an unknown LOG name.
type UnknownError struct {
	Name        string
	Suggestions []string
}

func (e *UnknownError) Error() string { return fmt.Sprintf("unknown log %q", e.Name) }

// Hint names the nearest names.
func (e *UnknownError) Hint() string {
	if len(e.Suggestions) == 0 {
		return "see 'cvmtail logs' for the names cvmtail knows, or give an absolute path"
	}
	return "did you mean " + strings.Join(e.Suggestions, ", ") + "? ('cvmtail logs' lists every name)"
}

// Resolve turns LOG arguments into logs: a catalog name, a glob over names, or an absolute path.
func Resolve(args []string) ([]Log, error) {
	var out []Log
	seen := map[string]bool{}
	add := func(l Log) {
		if !seen[l.Path] {
			seen[l.Path] = true
			out = append(out, l)
		}
	}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "/"):
			add(Log{Name: path.Base(a), Path: a})
		case strings.ContainsAny(a, "*?["):
			n := 0
			for _, e := range entries {
				if ok, _ := path.Match(a, e.Name); ok {
					add(Log{Name: e.Name, Path: e.Path, Sudo: e.Sudo})
					n++
				}
			}
			if n == 0 {
				return nil, &UnknownError{Name: a, Suggestions: suggest(a)}
			}
		default:
			e, ok := lookup(a)
			if !ok {
				return nil, &UnknownError{Name: a, Suggestions: suggest(a)}
			}
			add(Log{Name: e.Name, Path: e.Path, Sudo: e.Sudo})
		}
	}
	return out, nil
}

func lookup(name string) (Entry, bool) {
	for _, e := range entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

func suggest(name string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, e := range entries {
		d := distance(strings.ToLower(name), strings.ToLower(e.Name))
		if d <= 2 || strings.HasPrefix(e.Name, name) {
			cs = append(cs, cand{e.Name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
