//go:build linux

package bench

// What following costs the CVMs (issue 13): the processes and memory cvmtail leaves running
// on a CVM while it follows 14 files, and the CPU time its agent spends per 100 MB
// delivered, against GNU tail -F following the same files at the same time.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cvmtail/cvmtail/internal/testenv/sshdcvm"
)

const (
	remoteFiles = 14
	remoteBytes = 100 << 20 // appended over remoteSpan, spread over the files
	remoteSpan  = 10 * time.Second
)

type remoteRow struct {
	procs     int   // cvmtail's processes on the CVM, besides sshd
	rss       int64 // their resident memory, added up
	tailProcs int   // GNU tail -F over ssh on the same files
	tailRSS   int64
	agentCPU  time.Duration // while remoteBytes were appended and delivered
	tailCPU   time.Duration
	delivered int64 // bytes each delivered
	tailGot   int64
}

// remoteProc is a process of the SSH user on a CVM, by what runs in it.
type remoteProc struct {
	pid     int
	cmdline string
}

func (p remoteProc) agent() bool { return strings.Contains(p.cmdline, "cvmtail remote agent") }
func (p remoteProc) tail() bool  { return strings.HasPrefix(p.cmdline, "tail ") }
func (p remoteProc) sshd() bool  { return strings.HasPrefix(p.cmdline, "sshd") }

func userProcs(t *testing.T, c *sshdcvm.CVM) []remoteProc {
	ps, err := c.UserProcesses()
	if err != nil {
		t.Fatal(err)
	}
	var out []remoteProc
	for _, p := range ps {
		out = append(out, remoteProc{pid: p.PID, cmdline: p.Cmdline})
	}
	return out
}

// procStatus reads a field of /proc/PID/status in bytes (VmRSS: the memory it holds now).
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// runTime is the CPU time so far of a single-threaded process (the agent, tail), in
// nanoseconds from /proc/PID/schedstat; procCPU's clock ticks (10 ms) are too coarse for
// the 150-350 ms the remote part compares. procCPU when the kernel has no schedstat.
func runTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return time.Duration(ns)
			}
		}
	}
	return procCPU(pid)
}

// procCPU is a process's user+system time so far, from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command sits in parentheses and may hold spaces: count fields after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / 100 // USER_HZ
}

// footprint adds up cvmtail's processes on a CVM (everything of the SSH user but sshd's
// session processes and GNU tail) and their memory.
func footprint(procs []remoteProc) (n int, rss int64) {
	for _, p := range procs {
		if p.sshd() || p.tail() {
			continue
		}
		n++
		rss += procStatus(p.pid, "VmRSS")
	}
	return n, rss
}

// countLines counts the bench lines (lineLen bytes) read from r, in bytes.
func countLines(r io.Reader, got *atomic.Int64) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == lineLen && err == nil {
			got.Add(lineLen)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func remote(t *testing.T, cl *sshdcvm.Cluster, rep *report) {
	c := cl.CVMs[0]
	var paths []string
	var files []*os.File
	for i := 0; i < remoteFiles; i++ {
		name := fmt.Sprintf("rem%02d.out", i+1)
		var b bytes.Buffer
		for s := 1; s <= 1000; s++ {
			b.Write(content(c.Addr, name, s))
		}
		c.Write(t, name, b.String())
		f, err := os.OpenFile(c.Path(name), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
		paths = append(paths, c.RemotePath(name))
	}
	var cvmtailGot, tailGot atomic.Int64
	cmd := cvmtailCmd(append(append([]string{"tail", "-n", "0", "-o", "raw"}, paths...), argsFor(cl, cl.CVMs[:1])...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go countLines(out, &cvmtailGot)
	tailCmd := exec.Command("ssh", append(c.SSHArgs(), "tail -F -n 0 "+strings.Join(paths, " "))...)
	tout, err := tailCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tailCmd.Start(); err != nil {
		t.Fatal(err)
	}
	go countLines(tout, &tailGot)
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = tailCmd.Process.Kill()
		_ = cmd.Wait()
		_ = tailCmd.Wait()
		_, _ = c.WaitNoUserProcesses(5 * time.Second)
	}()
	time.Sleep(3 * time.Second) // both started; the agent's inotify is set up after a second

	var row remoteRow
	procs := userProcs(t, c)
	row.procs, row.rss = footprint(procs)
	cpu := func() (agent, tail time.Duration) {
		for _, p := range userProcs(t, c) {
			switch {
			case p.agent():
				agent += runTime(p.pid)
			case p.tail():
				tail += runTime(p.pid)
			}
		}
		return agent, tail
	}
	for _, p := range procs {
		if p.tail() {
			row.tailProcs++
			row.tailRSS += procStatus(p.pid, "VmRSS")
		}
	}
	agent0, tail0 := cpu()

	// remoteBytes over remoteSpan, every 10 ms a few lines to every file.
	perTick := remoteBytes / lineLen / int(remoteSpan/(10*time.Millisecond)) / remoteFiles
	total := 0
	seq := make([]int, remoteFiles)
	tick := time.NewTicker(10 * time.Millisecond)
	for total < remoteBytes {
		<-tick.C
		for i, f := range files {
			var b bytes.Buffer
			for k := 0; k < perTick; k++ {
				seq[i]++
				b.Write(content(c.Addr, fmt.Sprintf("rem%02d.out", i+1), 1000+seq[i]))
			}
			if _, err := f.Write(b.Bytes()); err != nil {
				t.Fatal(err)
			}
			total += b.Len()
		}
	}
	tick.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for (cvmtailGot.Load() < int64(total) || tailGot.Load() < int64(total)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	agent1, tail1 := cpu()
	row.agentCPU, row.tailCPU = agent1-agent0, tail1-tail0
	row.delivered, row.tailGot = cvmtailGot.Load(), tailGot.Load()
	if row.delivered < int64(total) || row.tailGot < int64(total) {
		t.Errorf("remote: of %d bytes cvmtail delivered %d, tail -F %d", total, row.delivered, row.tailGot)
	}
	t.Logf("remote: cvmtail %d processes %.1f MiB, tail -F %d %.1f MiB; CPU for %d MB: agent %v, tail -F %v",
		row.procs, float64(row.rss)/(1<<20), row.tailProcs, float64(row.tailRSS)/(1<<20), total/1e6, row.agentCPU, row.tailCPU)
	rep.remote = &row
}

// perHundredMB is a CPU time per 100 MB delivered.
func perHundredMB(d time.Duration, bytes int64) time.Duration {
	if bytes <= 0 {
		return 0
	}
	return time.Duration(float64(d) * 100e6 / float64(bytes))
}
