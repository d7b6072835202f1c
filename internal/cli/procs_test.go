//go:build unix

package cli

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// Starting, cvmtail runs on all the processors the runtime would use; mostly waiting, on
// one; busy, on all again; idle, back on one. GOMAXPROCS in the environment leaves the runtime alone.
func TestProcsFollowTheLoad(t *testing.T) {
	full := runtime.GOMAXPROCS(0)
	if full < 2 {
		t.Skip("one processor: nothing to adapt")
	}
	t.Setenv("GOMAXPROCS", "")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); time.Sleep(2 * procsEvery); runtime.GOMAXPROCS(full) })
	adaptProcs(ctx)
	if n := runtime.GOMAXPROCS(0); n != full {
		t.Fatalf("at the start: %d processors, want %d", n, full)
	}
	waitProcs := func(what string, want int, work func()) {
		t.Helper()
		deadline := time.Now().Add(20 * procsEvery)
		for runtime.GOMAXPROCS(0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d processors, want %d", what, runtime.GOMAXPROCS(0), want)
			}
			work()
		}
	}
	spin := func() {
		for end := time.Now().Add(10 * time.Millisecond); time.Now().Before(end); {
		}
	}
	waitProcs("idle", 1, func() { time.Sleep(10 * time.Millisecond) })
	waitProcs("busy", full, spin)
	waitProcs("idle again", 1, func() { time.Sleep(10 * time.Millisecond) })

	runtime.GOMAXPROCS(full)
	t.Setenv("GOMAXPROCS", "3")
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	adaptProcs(ctx2)
	if n := runtime.GOMAXPROCS(0); n != full {
		t.Errorf("with GOMAXPROCS set: %d processors, want %d", n, full)
	}
}
