package targets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cvmtail/cvmtail/internal/cmdutil"
	"github.com/cvmtail/cvmtail/internal/prism"
)

// cacheTTL is how long a resolved CVM list is trusted. CVMs change rarely; five minutes
// saves the Prism round trips of a burst of commands without hiding a change for long.
const cacheTTL = 5 * time.Minute

// cacheVersion 2: the key holds the TLS settings; a version-1 entry does not say whether it
// was fetched with --insecure, so it is never used. 3: a CVM's state tells the CVM's
// maintenance from its host's, names are made safe and unique, NAT addresses are kept, and
// the notices of the listing are kept to be shown again.
const cacheVersion = 3

// cacheKey is what a cached list answers for: everything that changes the answer or how
// far it can be trusted. The password is never part of it, nor of anything written.
type cacheKey struct {
	Prism string `json:"prism"` // normalized host:port
	User  string `json:"user"`
	// Clusters as asked for with --cluster (see clusterSelection); ["*"] for every cluster
	// (--cluster all, or --cvm alone on a PC with several); none for no selection, whose
	// entry holds the one cluster of a PE or PC, or only the cluster names of a PC with
	// several.
	Clusters []string `json:"clusters"`
	// TLS is how Prism's certificate was checked: "insecure", "system" (the system's
	// roots), or "ca:" and the SHA-256 of the --ca-cert bundle. A list fetched without
	// verification is not served to a run that verifies.
	TLS string `json:"tls"`
}

type cacheEntry struct {
	cacheKey
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	// Complete is false for an entry that only records the cluster names (for completion)
	// after a PC with several clusters was asked without --cluster.
	Complete    bool           `json:"complete"`
	API         string         `json:"api,omitempty"`
	Known       []string       `json:"known_clusters"`
	ComputeOnly []string       `json:"compute_only"`
	Notices     []prism.Notice `json:"notices,omitempty"`
	CVMs        []prism.CVM    `json:"cvms"`

	failed int // clusters whose hosts could not be listed: such an entry is never saved
}

// everyCluster is the key of the inventory of every cluster of k's Prism.
func (k cacheKey) everyCluster() cacheKey {
	k.Clusters = []string{everyClusterWord}
	return k
}

// inventorySelection is what prism.Inventory is asked for: nil means every cluster.
func (k cacheKey) inventorySelection() []string {
	if len(k.Clusters) == 1 && k.Clusters[0] == everyClusterWord {
		return nil
	}
	return k.Clusters
}

func (k cacheKey) file(dir string) string {
	cl := slices.Clone(k.Clusters)
	slices.Sort(cl)
	sum := sha256.Sum256([]byte(k.Prism + "\x00" + k.User + "\x00" + k.TLS + "\x00" + strings.Join(cl, "\x00")))
	return filepath.Join(dir, "prism-"+hex.EncodeToString(sum[:8])+".json")
}

func (k cacheKey) equal(o cacheKey) bool {
	a, b := slices.Clone(k.Clusters), slices.Clone(o.Clusters)
	slices.Sort(a)
	slices.Sort(b)
	return k.Prism == o.Prism && k.User == o.User && k.TLS == o.TLS && slices.Equal(a, b)
}

func cacheDir(f *cmdutil.Factory) string {
	if f.CacheDir == nil {
		return ""
	}
	d, err := f.CacheDir()
	if err != nil {
		return ""
	}
	return d
}

func now(f *cmdutil.Factory) time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// loadCache returns the fresh, complete entry for key, or nil.
func loadCache(f *cmdutil.Factory, key cacheKey) *cacheEntry {
	dir := cacheDir(f)
	if dir == "" {
		return nil
	}
	e := readCacheFile(key.file(dir))
	if e == nil || !e.Complete || !e.equal(key) {
		return nil
	}
	age := now(f).Sub(e.SavedAt)
	if age < 0 || age >= cacheTTL {
		return nil
	}
	return e
}

func readCacheFile(path string) *cacheEntry {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.Version != cacheVersion {
		return nil
	}
	return &e
}

// saveCache writes e (0600, atomically). The cache is an optimisation: failures are ignored.
func saveCache(f *cmdutil.Factory, e *cacheEntry) {
	dir := cacheDir(f)
	if dir == "" {
		return
	}
	e.Version = cacheVersion
	e.SavedAt = now(f).UTC()
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return
	}
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".prism-*.tmp")
	if err != nil {
		return
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if tmp.Chmod(0o600) != nil {
		_ = tmp.Close()
		return
	}
	_, werr := tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		return
	}
	_ = os.Rename(tmp.Name(), e.file(dir))
}

// cachedEntries reads every cache entry, for shell completion (age does not matter there).
func cachedEntries(dir string) []*cacheEntry {
	if dir == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "prism-*.json"))
	var out []*cacheEntry
	for _, p := range files {
		if e := readCacheFile(p); e != nil {
			out = append(out, e)
		}
	}
	return out
}
