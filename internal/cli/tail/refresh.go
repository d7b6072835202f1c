package tail

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/targets"
)

// defaultRefreshInterval is how often a following run asks Prism for the CVMs again: an
// added node or a CVM back from maintenance is followed within minutes, while Prism is
// asked a dozen times an hour per run.
const defaultRefreshInterval = 5 * time.Minute

// targetSet is what the refresher changes: the engine's CVMs (tailer.Engine).
type targetSet interface {
	Add(tailer.Target) error
	Remove(name string) bool
	Update(tailer.Target) error
}

// refresher keeps the CVMs followed those Prism lists (--refresh-interval), as stern keeps
// its pods: a CVM that appears is followed from its backlog, one no longer listed is
// stopped, one whose address changed is reached at the new one. A Prism that cannot be
// asked (or lists no CVM at all) changes nothing; that is said once, until it answers.
type refresher struct {
	prism   string // as the user named it, for messages
	resolve func(ctx context.Context) ([]tailer.Target, error)
	targets targetSet
	l       *stderrLog

	current map[string]string // name → address of the CVMs followed
	failing bool              // the last refresh failed, and that was said
}

func newRefresher(prism string, resolve func(context.Context) ([]tailer.Target, error), targets targetSet, followed []tailer.Target, l *stderrLog) *refresher {
	r := &refresher{prism: prism, resolve: resolve, targets: targets, l: l, current: map[string]string{}}
	for _, t := range followed {
		r.current[t.Name] = t.Address
	}
	return r
}

// startRefresher refreshes e's CVMs from Prism every RefreshInterval until the returned
// stop is called (which waits for a refresh under way), when the run follows CVMs found
// through Prism.
func (o *Options) startRefresher(ctx context.Context, e *tailer.Engine, followed []tailer.Target, l *stderrLog) (stop func()) {
	if o.NoFollow || o.RefreshInterval <= 0 || o.Targets.Prism == "" {
		return func() {}
	}
	resolve := func(ctx context.Context) ([]tailer.Target, error) {
		return targets.Refresh(ctx, o.Factory, &o.Targets, o.SSH.UseNAT)
	}
	r := newRefresher(o.Targets.Prism, resolve, e, followed, l)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx, o.RefreshInterval)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *refresher) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.refresh(ctx)
	}
}

// refresh asks Prism once and applies what changed: leavers first, then new addresses,
// then newcomers, each in name order.
func (r *refresher) refresh(ctx context.Context) {
	list, err := r.resolve(ctx)
	if ctx.Err() != nil {
		return
	}
	if err == nil && len(list) == 0 {
		// No cluster loses every CVM at once: a Prism that says so is not to be believed.
		err = errors.New("it lists no CVM")
	}
	if err != nil {
		if !r.failing {
			r.failing = true
			msg := strings.TrimPrefix(err.Error(), "prism "+r.prism+": ")
			r.l.printf("cvmtail: prism %s: cannot refresh the CVM list (%s); following the CVMs as they were\n", r.prism, msg)
		}
		return
	}
	if r.failing {
		r.failing = false
		r.l.printf("cvmtail: prism %s: answering again; CVM list refreshed\n", r.prism)
	}
	listed := map[string]tailer.Target{}
	for _, t := range list {
		if _, dup := listed[t.Name]; !dup { // names are made unique by the prism package
			listed[t.Name] = t
		}
	}
	for _, name := range sortedKeys(r.current) {
		if _, ok := listed[name]; !ok {
			r.targets.Remove(name)
			delete(r.current, name)
			r.l.printf("cvmtail: %s: no longer in Prism's CVM list; stopped following it\n", name)
		}
	}
	for _, name := range sortedKeys(listed) {
		t := listed[name]
		was, ok := r.current[name]
		switch {
		case !ok:
			if err := r.targets.Add(t); err != nil {
				if !errors.Is(err, tailer.ErrEnded) {
					r.l.printf("cvmtail: %s: %s\n", name, err)
				}
				continue
			}
			r.l.printf("cvmtail: %s: new in Prism's CVM list (%s); following it\n", name, t.Address)
		case was != t.Address:
			if err := r.targets.Update(t); err != nil {
				if !errors.Is(err, tailer.ErrEnded) {
					r.l.printf("cvmtail: %s: %s\n", name, err)
				}
				continue
			}
			r.l.printf("cvmtail: %s: Prism gives it a new address, %s (was %s); reconnecting there\n", name, t.Address, was)
		}
		r.current[name] = t.Address
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
