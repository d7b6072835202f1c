//go:build unix

package lab

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// procTable remembers every session (process group) the lab's SSH servers started, so
// that tests can ask whether anything outlived its SSH channel.
type procTable struct {
	mu      sync.Mutex
	started map[int]bool
	running int
	// stopping is closed when the lab shuts down: commands are killed without grace.
	stopping chan struct{}
}

func newProcTable() *procTable {
	return &procTable{started: map[int]bool{}, stopping: make(chan struct{})}
}

func (t *procTable) add(sid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.started[sid] = true
	t.running++
}

func (t *procTable) done(int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running--
}

// alive lists the processes, still running, whose session one of the lab's SSH servers
// started (Linux: read from /proc). A process that called setsid again escapes it, as it
// would escape sshd.
func (t *procTable) alive() []int {
	t.mu.Lock()
	sids := make(map[int]bool, len(t.started))
	for k := range t.started {
		sids[k] = true
	}
	t.mu.Unlock()
	if len(sids) == 0 {
		return nil
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 4 || string(f[0]) == "Z" {
			continue
		}
		sid, err := strconv.Atoi(string(f[3]))
		if err != nil || !sids[sid] {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		pids = append(pids, pid)
	}
	return pids
}
