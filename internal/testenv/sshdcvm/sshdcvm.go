//go:build linux

// Package sshdcvm runs real OpenSSH sshd processes on loopback addresses as stand-ins for
// Nutanix CVMs, so end-to-end tests exercise cvmtail against the SSH server it meets in the field.
//
// Every CVM is an sshd in a private mount and PID namespace of its own, listening on
// 127.0.0.11, 127.0.0.12, ... (all on one port per cluster). In that namespace a per-CVM host directory
// is bind-mounted onto /home/nutanix/data/logs, so each CVM sees its own log files while
// the test writes them on the host through CVM.Write, CVM.Append and CVM.Path.
//
//	cl := sshdcvm.Start(t, sshdcvm.Options{N: 3, OldCVM: []int{2}})
//	for _, c := range cl.CVMs {
//		c.Write(t, "genesis.out", "first line\n")
//	}
//	cmd := exec.Command(cvmtailBinary, append([]string{"tail", "genesis"}, cl.Args()...)...)
//	...
//	cl.CVMs[0].Append(t, "genesis.out", "second line\n")
//	cl.CVMs[1].Kill(t) // and later Restart(t); Stop(t) and Cont(t) freeze and thaw
//	...
//	procs, err := cl.CVMs[0].WaitNoUserProcesses(5 * time.Second) // no tail left behind
//
// An "old" CVM (Options.OldCVM) emulates a CentOS 7 CVM: no python, and a tail that, like
// coreutils 8.22, does not notice that its output was closed until it next writes, so a
// `tail -F` outlives the SSH session that started it unless the client kills it. Both are
// read-only overlayfs layers over the bin directories, in that CVM's namespace only.
//
// The harness needs root (for mount namespaces, sshd and the nutanix user), OpenSSH's sshd,
// util-linux's unshare and, for old CVMs, overlayfs. Without them Start skips the test, or
// fails it when CVMTAIL_E2E=1. Clusters of parallel tests and packages do not collide: each
// has its own port and temporary directory; they share only the nutanix user.
package sshdcvm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LogRoot is where a CVM keeps its logs; each CVM sees its own LogDir there.
const LogRoot = "/home/nutanix/data/logs"

const (
	sshdPath        = "/usr/sbin/sshd"
	defaultUser     = "nutanix"
	defaultFirst    = "127.0.0.11"
	readyTimeout    = 15 * time.Second
	portAttempts    = 5
	sessionEnvPath  = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	logLinesOnError = 40
)

// Options describe the cluster to start. The zero value (plus N) is a cluster of ordinary CVMs.
type Options struct {
	N           int      // number of CVMs (default 1)
	FirstAddr   string   // address of CVM 0, in 127.0.0.0/8 (default 127.0.0.11); the next CVMs count up
	MaxSessions int      // sshd MaxSessions (0 = OpenSSH's default, 10)
	OldCVM      []int    // indexes of CVMs that emulate an old CentOS 7 CVM (no python, tail ignores a closed output)
	User        string   // SSH user (default nutanix); created when missing
	SSHDConfig  []string // extra sshd_config lines, appended last (so Match blocks work)
	// ExtraAddrs are more loopback addresses a CVM (by index) listens on, with the same host
	// key: one CVM reached at a new address, its files unchanged.
	ExtraAddrs map[int][]string
	// Python, when set, is the one interpreter the sessions find (e.g. a pyenv build of 2.7,
	// as CentOS 7 CVMs have): PATH holds it alone, named as PythonAs (python or python3),
	// and a build under /root is made reachable inside the CVM's mount namespace.
	Python, PythonAs string
}

// Cluster is a set of running CVMs sharing one SSH port, client key and known_hosts file.
type Cluster struct {
	CVMs       []*CVM
	Port       int    // the SSH port of every CVM
	KeyFile    string // client private key (ed25519, no passphrase), authorized on every CVM
	KnownHosts string // known_hosts with a [addr]:port line for every CVM
	SSHConfig  string // an empty ssh_config, so ~/.ssh/config never interferes
	User       string // the SSH user

	dir      string
	uid, gid int
}

// CVM is one sshd standing in for a Controller VM.
type CVM struct {
	Index   int    // position in Cluster.CVMs
	Addr    string // e.g. 127.0.0.11
	Old     bool   // emulates an old CentOS 7 CVM
	LogDir  string // host directory this CVM sees as LogRoot
	SSHDLog string // sshd's own log (LogLevel VERBOSE), for debugging

	Extra []string // Options.ExtraAddrs: more addresses it listens on

	cl     *Cluster
	dir    string
	script string // runs inside the new mount namespace: mounts, then exec sshd

	mu     sync.Mutex
	proc   *os.Process   // the sshd listener; nil while killed
	exited chan struct{} // closed when proc has been reaped
	// The CVM's mount namespace as "mnt:[inode]", and an open handle on it: the handle keeps
	// the inode number from being reused by another test's namespace while we still act on
	// processes by it. Both are cleared once Kill has emptied the namespace.
	mntNS     string
	mntHandle *os.File
}

// Proc is a process running inside a CVM.
type Proc struct {
	PID     int // on the host, for signals from the test
	CVMPID  int // as the CVM sees it ($$ in a session; the CVM's sshd is 1)
	UID     int
	Cmdline string // arguments joined by spaces
}

func (p Proc) String() string { return fmt.Sprintf("%d %s", p.PID, p.Cmdline) }

// Start starts opts.N CVMs and stops them, and everything they started, when the test ends.
// It skips the test when the machine lacks what the harness needs (see the package comment),
// unless CVMTAIL_E2E=1, which makes that a failure.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if err := prerequisites(); err != nil {
		msg := "sshdcvm: needs root and OpenSSH sshd: " + err.Error()
		if os.Getenv("CVMTAIL_E2E") == "1" {
			t.Fatal(msg + " (CVMTAIL_E2E=1 makes this a failure)")
		}
		t.Skip(msg)
	}
	cl, err := start(t, opts)
	if err != nil {
		t.Fatalf("sshdcvm: %v", err)
	}
	return cl
}

func start(t testing.TB, opts Options) (*Cluster, error) {
	if opts.N <= 0 {
		opts.N = 1
	}
	if opts.User == "" {
		opts.User = defaultUser
	}
	if opts.FirstAddr == "" {
		opts.FirstAddr = defaultFirst
	}
	addrs, err := addresses(opts.FirstAddr, opts.N)
	if err != nil {
		return nil, err
	}
	for _, i := range opts.OldCVM {
		if i < 0 || i >= opts.N {
			return nil, fmt.Errorf("OldCVM index %d out of range for %d CVMs", i, opts.N)
		}
	}
	uid, gid, err := ensureUser(opts.User)
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "sshdcvm-")
	if err != nil {
		return nil, err
	}
	cl := &Cluster{
		User:       opts.User,
		KeyFile:    filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		SSHConfig:  filepath.Join(dir, "ssh_config"),
		dir:        dir,
		uid:        uid,
		gid:        gid,
	}
	t.Cleanup(func() { cl.cleanup(t) })
	// The SSH user reads authorized_keys and runs the old-CVM tail from here.
	if err := makeTraversable(dir); err != nil {
		return nil, err
	}

	if err := keygen(cl.KeyFile, "sshdcvm-client"); err != nil {
		return nil, err
	}
	if err := copyFile(cl.KeyFile+".pub", filepath.Join(dir, "authorized_keys"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cl.SSHConfig, nil, 0o644); err != nil {
		return nil, err
	}
	var oldLayers []overlay
	if len(opts.OldCVM) > 0 {
		if oldLayers, err = writeOldCVMLayers(dir); err != nil {
			return nil, err
		}
	}

	for i, addr := range addrs {
		c := &CVM{Index: i, Addr: addr, Extra: opts.ExtraAddrs[i], Old: slices.Contains(opts.OldCVM, i), cl: cl}
		c.dir = filepath.Join(dir, fmt.Sprintf("cvm%d", i+1))
		c.LogDir = filepath.Join(c.dir, "logs")
		c.SSHDLog = filepath.Join(c.dir, "sshd.log")
		if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(c.dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(c.LogDir, uid, gid); err != nil {
			return nil, err
		}
		if err := keygen(filepath.Join(c.dir, "ssh_host_ed25519_key"), "sshdcvm-"+addr); err != nil {
			return nil, err
		}
		if opts.Python != "" {
			bin := filepath.Join(c.dir, "python-bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				return nil, err
			}
			if err := os.Symlink(opts.Python, filepath.Join(bin, cmp.Or(opts.PythonAs, "python3"))); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(filepath.Join(c.dir, "python-hold"), 0o755); err != nil {
				return nil, err
			}
		}
		c.script = filepath.Join(c.dir, "namespace.sh")
		if err := os.WriteFile(c.script, []byte(c.namespaceScript(oldLayers, opts.Python)), 0o644); err != nil {
			return nil, err
		}
		cl.CVMs = append(cl.CVMs, c)
	}

	// The port is free when chosen but another test may take it before sshd binds it, so a
	// bind failure picks another port.
	for attempt := 1; ; attempt++ {
		if cl.Port, err = freePort(addrs); err != nil {
			return nil, err
		}
		err = cl.startAll(opts)
		if err == nil {
			break
		}
		for _, c := range cl.CVMs {
			_ = c.kill()
		}
		if !errors.Is(err, errAddrInUse) || attempt == portAttempts {
			return nil, err
		}
	}
	if err := cl.writeKnownHosts(); err != nil {
		return nil, err
	}
	return cl, nil
}

func (cl *Cluster) startAll(opts Options) error {
	for _, c := range cl.CVMs {
		if err := os.WriteFile(filepath.Join(c.dir, "sshd_config"), []byte(c.sshdConfig(opts)), 0o644); err != nil {
			return err
		}
	}
	for _, c := range cl.CVMs {
		if err := c.start(); err != nil {
			return err
		}
	}
	return nil
}

// Addrs are the CVMs' addresses, in order.
func (cl *Cluster) Addrs() []string {
	addrs := make([]string, len(cl.CVMs))
	for i, c := range cl.CVMs {
		addrs[i] = c.Addr
	}
	return addrs
}

// Args are the cvmtail flags that reach every CVM of the cluster, and nothing of the
// developer's own SSH setup.
func (cl *Cluster) Args() []string {
	return []string{
		"--cvm", strings.Join(cl.Addrs(), ","),
		"--ssh-port", strconv.Itoa(cl.Port),
		"-i", cl.KeyFile,
		"--known-hosts", cl.KnownHosts,
		"--ssh-user", cl.User,
		"--ssh-config", cl.SSHConfig,
	}
}

// SSHArgs are the arguments of the system ssh client, up to the destination, that log in to c
// with the cluster's key and known_hosts only.
func (c *CVM) SSHArgs() []string {
	cl := c.cl
	return []string{
		"-F", "/dev/null",
		"-i", cl.KeyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + cl.KnownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=5",
		"-p", strconv.Itoa(cl.Port),
		cl.User + "@" + c.Addr,
	}
}

// Command runs remote, a shell command line, on c with the system ssh client.
func (c *CVM) Command(ctx context.Context, remote string) *exec.Cmd {
	return exec.CommandContext(ctx, "ssh", append(c.SSHArgs(), remote)...)
}

// Path is the host path of the log file name (relative to LogRoot) on c.
func (c *CVM) Path(name string) string { return filepath.Join(c.LogDir, name) }

// RemotePath is the path of the log file name as c's SSH sessions see it.
func (c *CVM) RemotePath(name string) string { return LogRoot + "/" + filepath.ToSlash(name) }

// Write replaces the log file name (relative to LogRoot, directories created) with data,
// owned by the SSH user.
func (c *CVM) Write(t testing.TB, name, data string) {
	t.Helper()
	if err := c.writeFile(name, data, os.O_TRUNC); err != nil {
		t.Fatalf("sshdcvm: %s: %v", c.Addr, err)
	}
}

// Append appends data to the log file name, creating it as Write does.
func (c *CVM) Append(t testing.TB, name, data string) {
	t.Helper()
	if err := c.writeFile(name, data, os.O_APPEND); err != nil {
		t.Fatalf("sshdcvm: %s: %v", c.Addr, err)
	}
}

func (c *CVM) writeFile(name, data string, mode int) error {
	if !filepath.IsLocal(name) {
		return fmt.Errorf("log file name %q is not inside %s", name, LogRoot)
	}
	path := c.Path(name)
	if dir := filepath.Dir(path); dir != c.LogDir {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for d := dir; d != c.LogDir; d = filepath.Dir(d) {
			if err := os.Chown(d, c.cl.uid, c.cl.gid); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|mode, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chown(path, c.cl.uid, c.cl.gid)
}

// Kill kills sshd and every process in c's mount namespace, as a CVM that crashed or was
// cut off: established connections break.
func (c *CVM) Kill(t testing.TB) {
	t.Helper()
	if err := c.kill(); err != nil {
		t.Fatalf("sshdcvm: %s: kill: %v", c.Addr, err)
	}
}

// Restart kills c if it is running, then starts its sshd again on the same address, port
// and host key, in a fresh namespace with the same log directory.
func (c *CVM) Restart(t testing.TB) {
	t.Helper()
	if err := c.kill(); err != nil {
		t.Fatalf("sshdcvm: %s: kill: %v", c.Addr, err)
	}
	if err := c.start(); err != nil {
		t.Fatalf("sshdcvm: %s: restart: %v", c.Addr, err)
	}
}

// Stop freezes (SIGSTOP) sshd and all its sessions: connections stay open and go silent,
// like a hung CVM or a network that drops packets.
func (c *CVM) Stop(t testing.TB) {
	t.Helper()
	if err := c.signalAll(syscall.SIGSTOP); err != nil {
		t.Fatalf("sshdcvm: %s: stop: %v", c.Addr, err)
	}
}

// Cont thaws what Stop froze.
func (c *CVM) Cont(t testing.TB) {
	t.Helper()
	if err := c.signalAll(syscall.SIGCONT); err != nil {
		t.Fatalf("sshdcvm: %s: cont: %v", c.Addr, err)
	}
}

// UserProcesses lists the processes of the SSH user inside c, including the sshd session
// process of a connection that is still open. After every client has cleanly gone it is empty,
// and so it is after Kill.
func (c *CVM) UserProcesses() ([]Proc, error) {
	c.mu.Lock()
	ns := c.mntNS
	c.mu.Unlock()
	if ns == "" {
		return nil, nil
	}
	procs, err := namespaceProcs(ns)
	if err != nil {
		return nil, err
	}
	var mine []Proc
	for _, p := range procs {
		if p.UID == c.cl.uid {
			mine = append(mine, p)
		}
	}
	return mine, nil
}

// WaitNoUserProcesses polls UserProcesses until it is empty and returns nil, or returns the
// processes still there after timeout. Session processes take a moment to go after the
// client disconnects.
func (c *CVM) WaitNoUserProcesses(timeout time.Duration) ([]Proc, error) {
	deadline := time.Now().Add(timeout)
	for {
		procs, err := c.UserProcesses()
		if err != nil || len(procs) == 0 || time.Now().After(deadline) {
			return procs, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
