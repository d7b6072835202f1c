//go:build unix

package tailer_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/tailer"
	"github.com/cvmtail/cvmtail/internal/tailer/tailertest"
	"github.com/cvmtail/cvmtail/internal/testenv/pythons"
)

// Process groups are a unix notion: the fake CVMs of tailertest run their commands in
// sessions of their own, as sshd does, and this checks none outlives the stop.

// alive reports the sessions' process groups still alive.
func alive(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if err := syscall.Kill(-pid, 0); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func TestStopLeavesNoRemoteProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"python agent", func(t *testing.T) []string { return pythons.System(t).Env }},
		{"old tail without python", oldCVMEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "quiet.out")
			writeFile(t, p, "only line\n")
			l := &tailertest.Local{Env: tc.env(t)}
			rec := newRecorder()
			pids := &pidRecorder{}
			cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, []tailer.File{{Name: "q", Path: p}, {Name: "q2", Path: p}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _, _ = tailer.Run(ctx, cfg, pids.wrap(l.Dialer()), rec); close(done) }()
			waitFor(t, "line", 5*time.Second, func() bool { return len(rec.get(key("h", "q"))) == 1 && len(rec.get(key("h", "q2"))) == 1 })
			if len(alive(pids.get())) == 0 {
				t.Fatal("no remote process seen running: the test would prove nothing")
			}
			start := time.Now()
			cancel()
			<-done
			if d := time.Since(start); d > time.Second {
				t.Errorf("stopping took %v", d)
			}
			waitFor(t, "remote processes to end", 2*time.Second, func() bool { return len(alive(pids.get())) == 0 })
		})
	}
}

// pidRecorder keeps the sessions a dialer opens, for their process groups.
type pidRecorder struct {
	mu       sync.Mutex
	sessions []*tailertest.Session
}

func (p *pidRecorder) wrap(d tailer.Dialer) tailer.Dialer {
	return tailer.DialerFunc(func(ctx context.Context, addr string) (tailer.Client, error) {
		c, err := d.Dial(ctx, addr)
		if err != nil {
			return nil, err
		}
		return &pidClient{Client: c, p: p}, nil
	})
}

func (p *pidRecorder) get() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, s := range p.sessions {
		if pid := s.PID(); pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

type pidClient struct {
	tailer.Client
	p *pidRecorder
}

func (c *pidClient) NewSession() (tailer.Session, error) {
	s, err := c.Client.NewSession()
	if err == nil {
		c.p.mu.Lock()
		c.p.sessions = append(c.p.sessions, s.(*tailertest.Session))
		c.p.mu.Unlock()
	}
	return s, err
}

// TestOneChannelPerCVMAndConnectionsOnlyForTheFallback: the agent follows 14 files on one
// channel of one connection; only the tail fallback (no Python) needs a channel per file,
// and so a second connection past MaxSessions.
func TestOneChannelPerCVMAndConnectionsOnlyForTheFallback(t *testing.T) {
	for _, tc := range []struct {
		name            string
		env             func(t *testing.T) []string
		conns, channels int
	}{
		{"python agent", func(t *testing.T) []string { return pythons.System(t).Env }, 1, 1},
		{"tail fallback", oldCVMEnv, 2, 14 + 1}, // and the channel that found no Python
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var files []tailer.File
			for i := 0; i < 14; i++ {
				p := filepath.Join(dir, fmt.Sprintf("f%02d.out", i))
				writeFile(t, p, fmt.Sprintf("line of f%02d\n", i))
				files = append(files, tailer.File{Name: fmt.Sprintf("f%02d", i), Path: p})
			}
			l := &tailertest.Local{MaxSessions: 10, Env: tc.env(t)}
			cl := cluster{"h": l}
			rec := newRecorder()
			cfg := baseConfig(rec, []tailer.Target{{Name: "h", Address: "h"}}, files)
			pids := &pidRecorder{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _, _ = tailer.Run(ctx, cfg, pids.wrap(cl.dialer()), rec); close(done) }()
			for _, f := range files {
				waitFor(t, f.Name, 10*time.Second, func() bool { return len(rec.get(key("h", f.Name))) == 1 })
			}
			cancel()
			<-done
			if n := l.Conns(); n != tc.conns {
				t.Errorf("opened %d connections for 14 files with MaxSessions 10, want %d", n, tc.conns)
			}
			if n := len(pids.get()); n != tc.channels {
				t.Errorf("ran %d remote commands for 14 files, want %d", n, tc.channels)
			}
		})
	}
}
