package cli

import (
	"context"
	"os"
	"runtime"
	"time"
)

// procsEvery is how often adaptProcs looks at the CPU cvmtail used.
const procsEvery = 250 * time.Millisecond

// adaptProcs runs cvmtail on one processor while it mostly waits (following, a line now
// and then from each of many CVMs), and on as many as the runtime would use while it is
// busy: its start (the key exchanges of many CVMs at once, so it begins there) and the
// backlogs of many CVMs. With several, the Go scheduler wakes another thread for nearly
// every frame that arrives; on a virtual machine each wake is a context switch that costs
// more than handling the frame. GOMAXPROCS in the environment overrides. Where the
// process's CPU time is unknown (cpuTime returns false), nothing changes.
func adaptProcs(ctx context.Context) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	full := runtime.GOMAXPROCS(0)
	last, ok := cpuTime()
	if full <= 1 || !ok {
		return
	}
	go func() {
		t := time.NewTicker(procsEvery)
		defer t.Stop()
		procs := full
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now, _ := cpuTime()
			used := now - last
			last = now
			want := procs
			switch {
			case procs == 1 && used > procsEvery*6/10:
				want = full // busy: most of a processor
			case procs > 1 && used < procsEvery*3/10:
				want = 1
			}
			if want != procs {
				procs = want
				runtime.GOMAXPROCS(procs)
			}
		}
	}()
}
