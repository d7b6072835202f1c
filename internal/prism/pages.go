package prism

import (
	"net/http"
	"strconv"
	"sync/atomic"
)

// Paged lists are bounded: a Prism that always says there is more, repeats a page or
// sends pages of ever new entities must not keep cvmtail reading. The bounds are far above
// any real Prism. A scale-out Prism Central manages at most 25,000 powered-on VMs; at even
// 10 VMs a host that is 2,500 hosts, a quarter of maxHosts. A host entity is a few KiB,
// so all the hosts of the largest Prism Central are tens of MiB, far below maxListBytes.
const (
	// maxPages is how many pages one list walk reads: 10,000 entities at v4's 100 a page
	// (v2 alike, v3 500) are 100 pages.
	maxPages = 200
	// maxEntities is how many entities (clusters, hosts, CVMs) one list walk takes.
	maxEntities = 10000
	// maxHosts is how many hosts one inventory takes, all clusters together.
	maxHosts = 10000
	// maxListBytes is how many body bytes one inventory reads, all pages of all its lists
	// together (one answer is bounded by maxBody too).
	maxListBytes = 512 << 20
)

// limits are the bounds a client applies; tests make them small.
type limits struct {
	pages, entities, hosts int
	listBytes, body        int64
}

var defaultLimits = limits{pages: maxPages, entities: maxEntities, hosts: maxHosts, listBytes: maxListBytes, body: maxBody}

// budget is what one inventory (or the discovery of the clusters) may still read; the v4
// host lists of several clusters share it from their goroutines.
type budget struct {
	bytes atomic.Int64
	hosts atomic.Int64
}

// walk is one paged list being read: it counts pages, bytes and entities against the
// bounds and tells new entities from ones a page repeats.
type walk struct {
	c        *Client
	budget   *budget
	endpoint string // "GET /api/...", for messages
	pages    int
	seen     map[string]bool
	entities int
}

func (c *Client) newWalk(b *budget, endpoint string) *walk {
	return &walk{c: c, budget: b, endpoint: endpoint, seen: map[string]bool{}}
}

func (w *walk) tooLarge(limit string) error {
	return &TooLargeError{Address: w.c.address, Endpoint: w.endpoint, Limit: limit}
}

// page counts one more page of n bytes; an error once a bound is passed.
func (w *walk) page(n int) error {
	l := w.c.limits
	w.pages++
	if w.pages > l.pages {
		return w.tooLarge(strconv.Itoa(l.pages) + " pages")
	}
	if w.budget.bytes.Add(int64(n)) > l.listBytes {
		return w.tooLarge(sizeOf(l.listBytes) + " of answers")
	}
	return nil
}

// add tells whether the entity with this key is new to the walk (an entity without key
// always is), counting it; an error once too many are in.
func (w *walk) add(key string) (bool, error) {
	if key != "" {
		if w.seen[key] {
			return false, nil
		}
		w.seen[key] = true
	}
	w.entities++
	if w.entities > w.c.limits.entities {
		return false, w.tooLarge(strconv.Itoa(w.c.limits.entities) + " entities")
	}
	return true, nil
}

// addHost is add for a host, counted against the inventory's maxHosts too.
func (w *walk) addHost(key string) (bool, error) {
	isNew, err := w.add(key)
	if err != nil || !isNew {
		return isNew, err
	}
	if w.budget.hosts.Add(1) > int64(w.c.limits.hosts) {
		return false, w.tooLarge(strconv.Itoa(w.c.limits.hosts) + " hosts in all")
	}
	return true, nil
}

// sizeOf is n bytes for a message: "64 MiB", or bytes below a MiB.
func sizeOf(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// pageReader is how one API family pages a list: get fetches page n (0 first), decode
// turns its body into entities and tells whether more pages follow, given the page's
// number and how many entities the walk holds so far.
type pageReader[T any] struct {
	get    func(page int) ([]byte, http.Header, error)
	decode func(data []byte) (items []T, more func(page, entities int) bool, err error)
	key    func(T) string
	hosts  bool // count the entities against the inventory's hosts too
}

// read walks the pages, handing each new entity to each, until a page adds nothing new,
// the family says there is no more, or a bound is passed.
func (r pageReader[T]) read(w *walk, each func(T)) error {
	add := w.add
	if r.hosts {
		add = w.addHost
	}
	for page := 0; ; page++ {
		data, hdr, err := r.get(page)
		if err != nil {
			return err
		}
		if err := w.page(len(data)); err != nil {
			return err
		}
		items, more, err := r.decode(data)
		if err != nil {
			return &ProtocolError{Address: w.c.address, Endpoint: w.endpoint, Detail: contentDetail(err, hdr)}
		}
		added := 0
		for _, item := range items {
			isNew, err := add(r.key(item))
			if err != nil {
				return err
			}
			if isNew {
				added++
				each(item)
			}
		}
		if added == 0 || !more(page, w.entities) {
			return nil
		}
	}
}
