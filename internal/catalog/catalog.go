// Package catalog knows the CVM log files by name: names, paths, globs.
//
// It is plain data and pure functions: no flags, no environment, no I/O, so that the tail
// command, `cvmtail logs` and shell completion all agree on what a name means.
package catalog

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/cvmtail/cvmtail/internal/suggest"
)

// LogDir is where CVM services write their logs.
const LogDir = "/home/nutanix/data/logs"

// SyslogPath is where rsyslog on a CVM writes what other Linux hosts keep in /var/log/messages.
const SyslogPath = "/home/log/messages"

// Entry is one log the catalog knows by name.
type Entry struct {
	Name        string
	Path        string
	Description string
	Sudo        bool // read through sudo -n (root-owned system logs)
}

// Log is a resolved LOG argument of `cvmtail tail`.
type Log struct {
	Name   string // catalog name, or the path's base name
	Path   string // absolute path on the CVM
	Sudo   bool
	ByPath bool // given as a path (or a file name of the log directory), not a catalog name
	// Optional: selected by a glob, not named; a CVM that does not have it is no error
	// ('stargate*' takes in stargate.FATAL, which a healthy CVM does not have).
	Optional bool
	// Glob: an absolute path whose last component holds *, ? or [...]: a pattern the agent
	// expands on each CVM, in the path's directory (taken literally), each match followed
	// as a log of its own named by its base name. Optional, as any glob.
	Glob bool
}

// outServices write their stdout and stderr to LogDir/<name>.out. The list is the services
// users rely on by name (pinned by TestContractNames and cmd/cvmtail/testdata/script/logs.txtar)
// plus the .out files found on AOS CVMs by public tools (loghoi's realtime log list).
var outServices = []struct{ name, desc string }{
	{"acropolis", "AHV management: VM lifecycle, scheduling, host and network configuration"},
	{"alert_manager", "raises alerts and health events for Prism"},
	{"anduril", "VM management for ESXi clusters through vCenter"},
	{"aplos", "v3 REST API gateway (intents)"},
	{"aplos_engine", "executes the intents of the v3 REST API"},
	{"arithmos", "statistics store behind Prism's charts"},
	{"athena", "authentication service for Prism and the APIs"},
	{"cassandra", "Cassandra distributed metadata store"},
	{"catalina", "Tomcat container of the Prism gateway"},
	{"catalog", "catalog of images and other artifacts"},
	{"cerebro", "data protection: snapshots, replication, disaster recovery"},
	{"cfs", "Collector Framework Service: Pulse and Insights telemetry"},
	{"chronos", "schedules and runs Curator's background tasks"},
	{"cluster_config", "cluster configuration service"},
	{"cluster_health", "scheduled NCC health checks"},
	{"cluster_sync", "keeps configuration files in sync across the CVMs"},
	{"counters_collector", "performance counters collection"},
	{"curator", "storage maintenance: MapReduce scans, ILM, garbage collection"},
	{"curator_cli", "curator_cli tool"},
	{"dynamic_ring_changer", "adds and removes nodes in the Cassandra ring"},
	{"ergon", "task manager behind Prism's tasks"},
	{"flow", "Flow network security policies"},
	{"fluent_bit", "Fluent Bit log forwarder"},
	{"genesis", "cluster bring-up and service manager"},
	{"gflags_collector", "collects the services' gflags for diagnostics"},
	{"go_ergon", "task manager (Go implementation)"},
	{"hades", "disk monitoring: adds, removes and repairs disks"},
	{"ikat_control_plane", "configures the IKAT API gateway proxy"},
	{"ikat_proxy", "IKAT: Envoy-based API gateway proxy"},
	{"insights_collector", "collects entity and metric data for Insights"},
	{"insights_data_transfer", "replicates Insights data between Prism Element and Prism Central"},
	{"insights_receiver", "receives Insights data"},
	{"insights_server", "Insights Data Fabric (IDF): entity and metrics database"},
	{"insights_uploader", "uploads statistics into Insights"},
	{"lazan", "Acropolis Dynamic Scheduling: VM placement and hotspot resolution"},
	{"lcm_ops", "Life Cycle Manager (LCM) inventory and upgrade operations"},
	{"log_collector", "log collection"},
	{"logbay_service_monitor", "Logbay log collection service monitor"},
	{"mantle", "secure key store for secrets and encryption keys"},
	{"mercury", "HTTP front end and request router of Prism"},
	{"microsegmentation", "Flow microsegmentation rules on the hosts"},
	{"minerva_cvm", "Nutanix Files management on the CVM"},
	{"nutanix_guest_tools", "Nutanix Guest Tools (NGT) service"},
	{"pithos", "vDisk configuration store"},
	{"placement_solver", "VM placement solver"},
	{"prism", "Prism web console and REST API"},
	{"scavenger", "log and core file retention: compresses and deletes old files"},
	{"secure_file_sync", "syncs certificates and keys across the CVMs"},
	{"ssl_terminator", "TLS termination for the cluster's services"},
	{"stargate", "storage I/O manager: NFS, iSCSI and SMB data path"},
	{"sys_stat_collector", "system statistics collection (top, iostat, ...)"},
	{"uhura", "VM management service for Prism"},
	{"vip_monitor", "watches and moves the cluster virtual IP"},
	{"zookeeper", "Zookeeper cluster configuration store (Zeus)"},
}

// glogServices also write Google-glog level files LogDir/<name>.INFO|.WARNING|.ERROR|.FATAL:
// relative symlinks to the active <name>.<host>.nutanix.log.<LEVEL>.<time>.<pid> file.
var glogServices = []struct{ name, desc string }{
	{"alert_manager", "alert manager"},
	{"cassandra_monitor", "Cassandra monitor (starts and watches Cassandra)"},
	{"cerebro", "data protection"},
	{"curator", "storage maintenance"},
	{"dynamic_ring_changer", "Cassandra ring changes"},
	{"pithos", "vDisk configuration store"},
	{"stargate", "storage I/O manager"},
}

// glogLevels are glog's severities; each file holds its level and every worse one.
var glogLevels = []string{"INFO", "WARNING", "ERROR", "FATAL"}

// otherLogs have no <name>.out shape.
var otherLogs = []Entry{
	{Name: "prism_gateway", Path: LogDir + "/prism_gateway.log", Description: "Prism gateway: REST API and web console requests (Java)"},
	{Name: "cassandra_system", Path: LogDir + "/cassandra/system.log", Description: "Cassandra's own system log"},
	{Name: "syslog", Path: SyslogPath, Description: "CVM system log (/var/log/messages; read with sudo -n)", Sudo: true},
}

var entries = func() []Entry {
	var es []Entry
	for _, s := range outServices {
		es = append(es, Entry{Name: s.name, Path: LogDir + "/" + s.name + ".out", Description: s.desc})
	}
	for _, s := range glogServices {
		for _, lvl := range glogLevels {
			es = append(es, Entry{Name: s.name + "." + lvl, Path: LogDir + "/" + s.name + "." + lvl,
				Description: s.desc + ", glog " + lvl + " and worse"})
		}
	}
	es = append(es, otherLogs...)
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	return es
}()

// byPath finds the catalog entry of a path.
var byPath = func() map[string]Entry {
	m := map[string]Entry{}
	for _, e := range entries {
		m[e.Path] = e
	}
	return m
}()

// glogFile is a glog file's own name: <svc>.<host>.<user>.log.<LEVEL>.<date>-<time>.<pid>.
var glogFile = regexp.MustCompile(`^[a-z_]+\.[^/]+\.log\.(INFO|WARNING|ERROR|FATAL)\.[0-9]{8}-[0-9]{6}\.[0-9]+(\.gz)?$`)

// listed tells whether name is a file of the log directory as `cvmtail logs --remote`
// lists it, though not a catalog name: a catalog log's file name (genesis.out), a rotated
// one (genesis.out.20261122-100000), a glog file, or Cassandra's system log. A typo of a
// catalog name is none of these and stays an unknown name with suggestions.
func listed(name string) bool {
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
		return false
	}
	if strings.HasPrefix(name, "cassandra/") {
		return !strings.Contains(name[len("cassandra/"):], "/")
	}
	if strings.Contains(name, "/") {
		return false
	}
	if _, ok := byPath[LogDir+"/"+name]; ok {
		return true
	}
	for p := range byPath {
		if base, ok := strings.CutPrefix(p, LogDir+"/"); ok && !strings.Contains(base, "/") && strings.HasPrefix(name, base+".") {
			return true // rotated
		}
	}
	return glogFile.MatchString(name)
}

var byName = func() map[string]Entry {
	m := make(map[string]Entry, len(entries))
	for _, e := range entries {
		if _, dup := m[e.Name]; dup {
			panic("catalog: duplicate name " + e.Name)
		}
		m[e.Name] = e
	}
	return m
}()

// All returns every catalog entry, sorted by name.
func All() []Entry { return append([]Entry(nil), entries...) }

// Lookup returns the entry called name, exactly.
func Lookup(name string) (Entry, bool) {
	e, ok := byName[name]
	return e, ok
}

// CompleteNames returns the names that start with prefix as shell completions,
// "name\tdescription", in catalog order. A prefix that starts like a path gets none:
// paths on a CVM cannot be completed locally.
func CompleteNames(prefix string) []string {
	if strings.HasPrefix(prefix, "/") {
		return nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name, prefix) {
			out = append(out, e.Name+"\t"+e.Description)
		}
	}
	return out
}

// UnknownError is an unknown LOG name.
type UnknownError struct {
	Name        string
	Suggestions []string
}

func (e *UnknownError) Error() string { return fmt.Sprintf("unknown log %q", e.Name) }

// PathError is a LOG argument that is neither a name nor an absolute path.
type PathError struct {
	Arg    string
	Reason string
}

func (e *PathError) Error() string { return fmt.Sprintf("log %q: %s", e.Arg, e.Reason) }

// ErrBadGlob is wrapped by the error of a malformed glob pattern.
var ErrBadGlob = errors.New("malformed glob pattern")

// Resolve turns LOG arguments into logs: a catalog name, a glob over names, or an absolute
// path. A file named twice is kept once, where it was first named. Every error is the
// user's to fix: an *UnknownError, a *PathError or an ErrBadGlob.
func Resolve(args []string) ([]Log, error) {
	var out []Log
	seen := map[string]int{} // path → index in out
	add := func(l Log) {
		if i, ok := seen[l.Path]; ok {
			// Named as well as globbed: named wins, so its absence is an error.
			out[i].Optional = out[i].Optional && l.Optional
			return
		}
		seen[l.Path] = len(out)
		out = append(out, l)
	}
	for _, a := range args {
		switch {
		case a == "":
			return nil, &PathError{Arg: a, Reason: "empty name"}
		case strings.ContainsRune(a, 0):
			return nil, &PathError{Arg: a, Reason: "NUL byte in name"}
		case strings.HasPrefix(a, "/"):
			if strings.HasSuffix(a, "/") {
				return nil, &PathError{Arg: a, Reason: "a directory, not a file"}
			}
			// The path is kept as given: cleaning "a/../b" would be wrong when a is a symlink.
			l := Log{Name: path.Base(a), Path: a, ByPath: true}
			if strings.ContainsAny(path.Base(a), "*?[") {
				// Expanded on the CVM, never by a shell; a glob matching nothing is no error.
				// In a directory of files that need root (syslog's), it is read as they are.
				l.Glob, l.Optional = true, true
				for _, e := range entries {
					if e.Sudo && path.Dir(e.Path) == path.Dir(a) {
						l.Sudo = true
					}
				}
			}
			for _, e := range entries {
				if e.Path == a {
					l.Sudo = e.Sudo
					break
				}
			}
			add(l)
		case listed(a):
			// A name as `cvmtail logs --remote` lists it: a file of the log directory.
			if e, ok := byPath[LogDir+"/"+a]; ok {
				add(Log{Name: e.Name, Path: e.Path, Sudo: e.Sudo})
			} else {
				add(Log{Name: path.Base(a), Path: LogDir + "/" + a, ByPath: true})
			}
		case strings.Contains(a, "/") || a == "." || a == "..":
			return nil, &PathError{Arg: a, Reason: "a relative path: the CVM has no working directory to resolve it against"}
		case strings.ContainsAny(a, "*?[\\"):
			if _, err := path.Match(a, ""); err != nil {
				return nil, fmt.Errorf("log %q: %w", a, ErrBadGlob)
			}
			n := 0
			for _, e := range entries {
				if ok, _ := path.Match(a, e.Name); ok {
					add(Log{Name: e.Name, Path: e.Path, Sudo: e.Sudo, Optional: true})
					n++
				}
			}
			if n == 0 {
				stem := strings.Map(func(r rune) rune {
					if strings.ContainsRune("*?[]\\", r) {
						return -1
					}
					return r
				}, a)
				return nil, &UnknownError{Name: a, Suggestions: nearestNames(stem)}
			}
		default:
			e, ok := byName[a]
			if !ok {
				return nil, &UnknownError{Name: a, Suggestions: nearestNames(a)}
			}
			add(Log{Name: e.Name, Path: e.Path, Sudo: e.Sudo})
		}
	}
	return out, nil
}

// maxSuggestions is how many names an unknown name's hint offers.
const maxSuggestions = 3

// nearestNames returns up to maxSuggestions names near name: close in edit distance (typos),
// or starting with it or containing it (a partial name), or the stem of it ("genesis" for
// "genesis.out"), best first.
func nearestNames(name string) []string {
	name = strings.ToLower(name)
	if name == "" {
		return nil
	}
	// A typo budget that grows with the name, so "ab" does not match half the catalog.
	budget := 1 + len(name)/4
	type cand struct {
		name  string
		score int // lower is better
	}
	var cs []cand
	for _, e := range entries {
		lower := strings.ToLower(e.Name)
		d := suggest.Distance(name, lower)
		score := -1
		switch {
		case strings.HasPrefix(name, lower+"."):
			// "genesis.out", "stargate.log": the file name of a catalog name.
			score = 0
		case d <= budget:
			score = d
		case len(name) >= 3 && strings.HasPrefix(lower, name):
			score = budget + 1
		case len(name) >= 3 && strings.Contains(lower, name):
			score = budget + 2
		}
		if score >= 0 {
			cs = append(cs, cand{e.Name, score})
		}
	}
	// entries are sorted by name, so a stable sort keeps ties alphabetical.
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].score < cs[j].score })
	var out []string
	for i := 0; i < len(cs) && i < maxSuggestions; i++ {
		out = append(out, cs[i].name)
	}
	return out
}
