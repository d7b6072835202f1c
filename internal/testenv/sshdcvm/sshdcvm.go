// Package sshdcvm runs real OpenSSH sshd processes on loopback addresses as stand-ins for
// Nutanix CVMs, so end-to-end tests exercise cvmtail against the SSH server it meets in the field.
//
// Every CVM is an sshd in a private mount namespace of its own, listening on 127.0.0.11,
// 127.0.0.12, ... (all on one port per cluster). In that namespace a per-CVM host directory
// is bind-mounted onto /home/nutanix/data/logs, so each CVM sees its own log files while
// the test writes them on the host through CVM.Write, CVM.Append and CVM.Path.
//
// An "old" CVM (Options.OldCVM) emulates a CentOS 7 CVM: no python, and a tail that, like
// coreutils 8.22, does not notice that its output was closed until it next writes, so a
// `tail -F` outlives the SSH session that started it unless the client kills it. Both are
// read-only overlayfs layers over the bin directories, in that CVM's namespace only.
//
// The harness needs root (for mount namespaces, sshd and the nutanix user), OpenSSH's sshd,
// util-linux's unshare and, for old CVMs, overlayfs. Without them Start skips the test, or fails it when CVMTAIL_E2E=1.
package sshdcvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
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
	PID     int
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
		c := &CVM{Index: i, Addr: addr, Old: slices.Contains(opts.OldCVM, i), cl: cl}
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
		c.script = filepath.Join(c.dir, "namespace.sh")
		if err := os.WriteFile(c.script, []byte(c.namespaceScript(oldLayers)), 0o644); err != nil {
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

func (c *CVM) sshdConfig(opts Options) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# sshdcvm: CVM %d of a test cluster", c.Index)
	line("ListenAddress %s:%d", c.Addr, c.cl.Port)
	line("HostKey %s", filepath.Join(c.dir, "ssh_host_ed25519_key"))
	line("PidFile %s", filepath.Join(c.dir, "sshd.pid"))
	line("AuthorizedKeysFile %s", filepath.Join(c.cl.dir, "authorized_keys"))
	line("AllowUsers %s", c.cl.User)
	line("StrictModes no")
	line("PubkeyAuthentication yes")
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("UsePAM no")
	line("PermitRootLogin no")
	line("UseDNS no")
	line("PrintMotd no")
	line("PrintLastLog no")
	line("X11Forwarding no")
	// Parallel tests open many connections at once; OpenSSH's default 10:30:100 would
	// randomly refuse some of them.
	line("MaxStartups 200")
	if opts.MaxSessions > 0 {
		line("MaxSessions %d", opts.MaxSessions)
	}
	line("LogLevel VERBOSE")
	for _, l := range opts.SSHDConfig {
		line("%s", l)
	}
	return b.String()
}

// namespaceScript runs as root in the CVM's new private mount namespace and becomes its sshd.
func (c *CVM) namespaceScript(oldLayers []overlay) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	fmt.Fprintf(&b, "mount --bind %s %s\n", shellQuote(c.LogDir), LogRoot)
	if c.Old {
		for _, o := range oldLayers {
			fmt.Fprintf(&b, "mount -t overlay sshdcvm-old -o %s %s\n",
				shellQuote("lowerdir="+o.layer+":"+o.target), shellQuote(o.target))
		}
	}
	fmt.Fprintf(&b, "exec %s -D -e -f %s\n", sshdPath, shellQuote(filepath.Join(c.dir, "sshd_config")))
	return b.String()
}

var errAddrInUse = errors.New("address already in use")

// start runs the CVM's sshd in a new mount namespace and waits until it answers with an SSH banner.
func (c *CVM) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return errors.New("already running")
	}
	logFile, err := os.OpenFile(c.SSHDLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", c.script)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = []string{"PATH=" + sessionEnvPath, "LC_ALL=C"}
	// If the test binary dies without running its cleanups (a -timeout panic), sshd dies too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the thread that forked exits, not the process: keep this
		// goroutine on that thread for sshd's whole life.
		runtime.LockOSThread()
		defer close(exited)
		defer logFile.Close()
		err := cmd.Start()
		started <- err
		if err == nil {
			_ = cmd.Wait()
		}
	}()
	if err := <-started; err != nil {
		<-exited
		return err
	}
	c.proc, c.exited = cmd.Process, exited

	if err := c.waitReady(); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		c.proc = nil
		if c.mntNS != "" {
			_ = killNamespace(c.mntNS)
			c.releaseNamespace()
		}
		return err
	}
	return nil
}

func (c *CVM) waitReady() error {
	hostPort := net.JoinHostPort(c.Addr, strconv.Itoa(c.cl.Port))
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-c.exited:
			log := lastLines(c.SSHDLog, 10)
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("%s: sshd: %w", hostPort, errAddrInUse)
			}
			return fmt.Errorf("%s: sshd exited at start:\n%s", hostPort, log)
		default:
		}
		if banner(hostPort) {
			// sshd is our unreaped child or alive, so its PID still names it here.
			handle, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", c.proc.Pid))
			if err != nil {
				// Exited meanwhile: the next round reports it.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			ns, err := nsName(handle)
			if err != nil {
				handle.Close()
				return err
			}
			own, err := os.Readlink("/proc/self/ns/mnt")
			if err != nil {
				handle.Close()
				return err
			}
			if ns == own {
				handle.Close()
				return fmt.Errorf("%s: sshd runs in the test's own mount namespace", hostPort)
			}
			c.mntNS, c.mntHandle = ns, handle
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: sshd did not answer within %s:\n%s", hostPort, readyTimeout, lastLines(c.SSHDLog, 10))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// banner reports whether an SSH server answers on hostPort.
func banner(hostPort string) bool {
	conn, err := net.DialTimeout("tcp", hostPort, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8)
	_, err = io.ReadFull(conn, buf)
	return err == nil && string(buf) == "SSH-2.0-"
}

func (c *CVM) kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		// The listener first, so it accepts no new session while the rest are killed.
		_ = c.proc.Kill()
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("sshd %d did not exit after SIGKILL", c.proc.Pid)
		}
		c.proc = nil
	}
	if c.mntNS == "" {
		return nil
	}
	if err := killNamespace(c.mntNS); err != nil {
		return err
	}
	c.releaseNamespace()
	return nil
}

func (c *CVM) releaseNamespace() {
	c.mntHandle.Close()
	c.mntNS, c.mntHandle = "", nil
}

// nsName is the name of an open namespace as /proc/PID/ns/* links show it.
func nsName(f *os.File) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("mnt:[%d]", st.Ino), nil
}

func (c *CVM) signalAll(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return errors.New("not running")
	}
	// The listener first, so that it starts no session the scan below would miss.
	if err := c.proc.Signal(sig); err != nil {
		return err
	}
	procs, err := namespaceProcs(c.mntNS)
	if err != nil {
		return err
	}
	for _, p := range procs {
		_ = syscall.Kill(p.PID, sig)
	}
	return nil
}

func (cl *Cluster) cleanup(t testing.TB) {
	for _, c := range cl.CVMs {
		if err := c.kill(); err != nil {
			t.Errorf("sshdcvm: %s: cleanup: %v", c.Addr, err)
		}
	}
	if t.Failed() {
		for _, c := range cl.CVMs {
			if log := lastLines(c.SSHDLog, logLinesOnError); log != "" {
				t.Logf("sshdcvm: last lines of %s's sshd log:\n%s", c.Addr, log)
			}
		}
	}
	if err := os.RemoveAll(cl.dir); err != nil {
		t.Errorf("sshdcvm: cleanup: %v", err)
	}
}

func (cl *Cluster) writeKnownHosts() error {
	var b bytes.Buffer
	for _, c := range cl.CVMs {
		pub, err := os.ReadFile(filepath.Join(c.dir, "ssh_host_ed25519_key.pub"))
		if err != nil {
			return err
		}
		fields := strings.Fields(string(pub))
		if len(fields) < 2 {
			return fmt.Errorf("%s: malformed host public key", c.Addr)
		}
		fmt.Fprintf(&b, "[%s]:%d %s %s\n", c.Addr, cl.Port, fields[0], fields[1])
	}
	return os.WriteFile(cl.KnownHosts, b.Bytes(), 0o644)
}

// overlay is a read-only overlayfs layer mounted over target in an old CVM's namespace.
type overlay struct{ target, layer string }

// sessionBinDirs is the PATH of an SSH session on Debian, and its sbin counterparts.
var sessionBinDirs = []string{"/usr/local/bin", "/usr/bin", "/bin", "/usr/games", "/usr/local/sbin", "/usr/sbin", "/sbin"}

// writeOldCVMLayers builds the overlay layers that turn a CVM into an old CentOS 7 one:
//
//   - every python interpreter in the sessions' PATH is whited out, so `command -v python3`
//     fails as it does on such a CVM (a /dev/null mounted over it would not do: bash's
//     command -v still reports files that are not executable);
//   - /usr/bin/tail becomes a copy of the real tail whose output goes through cat. When the
//     SSH channel closes, cat learns it only on its next write and tail only on the write
//     after, so both outlive the session, as coreutils 8.22's tail -F does.
func writeOldCVMLayers(dir string) ([]overlay, error) {
	realTail := filepath.Join(dir, "tail.real")
	if err := copyFile("/usr/bin/tail", realTail, 0o755); err != nil {
		return nil, err
	}
	wrapper := "#!/bin/sh\n# sshdcvm: a tail that does not notice its output closed (coreutils 8.22)\n" +
		shellQuote(realTail) + " \"$@\" | cat\n"

	var layers []overlay
	seen := map[string]bool{}
	for _, binDir := range sessionBinDirs {
		target, err := filepath.EvalSymlinks(binDir) // /bin is /usr/bin on merged-/usr systems
		if err != nil || seen[target] {
			continue
		}
		seen[target] = true
		entries, err := os.ReadDir(target)
		if err != nil {
			return nil, err
		}
		layer := filepath.Join(dir, "old-cvm", strings.ReplaceAll(strings.Trim(target, "/"), "/", "-"))
		if err := os.MkdirAll(layer, 0o755); err != nil {
			return nil, err
		}
		used := false
		for _, e := range entries {
			if !isPython(e.Name()) {
				continue
			}
			// A 0/0 character device is overlayfs's whiteout: the name is gone.
			if err := syscall.Mknod(filepath.Join(layer, e.Name()), syscall.S_IFCHR, 0); err != nil {
				return nil, fmt.Errorf("whiteout %s: %w", e.Name(), err)
			}
			used = true
		}
		if target == "/usr/bin" {
			if err := os.WriteFile(filepath.Join(layer, "tail"), []byte(wrapper), 0o755); err != nil {
				return nil, err
			}
			used = true
		}
		if used {
			layers = append(layers, overlay{target: target, layer: layer})
		}
	}
	return layers, nil
}

// isPython matches python, python3, python3.11, python3-config and the like.
func isPython(name string) bool {
	rest, ok := strings.CutPrefix(name, "python")
	return ok && (rest == "" || rest[0] >= '0' && rest[0] <= '9')
}

// namespaceProcs lists the live processes in the mount namespace ns ("mnt:[inode]").
// Zombies have no namespace any more and are left out.
func namespaceProcs(ns string) ([]Proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var procs []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		if link, err := os.Readlink(dir + "/ns/mnt"); err != nil || link != ns {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			continue // gone meanwhile
		}
		cmdline, err := os.ReadFile(dir + "/cmdline")
		if err != nil {
			continue
		}
		procs = append(procs, Proc{
			PID:     pid,
			UID:     int(st.Uid),
			Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")),
		})
	}
	return procs, nil
}

// killNamespace SIGKILLs every process in ns until none is left; processes that fork while
// being killed are caught by the next round.
func killNamespace(ns string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		procs, err := namespaceProcs(ns)
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes survive SIGKILL: %v", procs)
		}
		for _, p := range procs {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var prerequisites = sync.OnceValue(func() error {
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		return fmt.Errorf("%s is missing (apt-get install openssh-server)", sshdPath)
	}
	for _, tool := range []string{"unshare", "mount", "ssh-keygen", "ssh", "useradd", "usermod"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not in PATH", tool)
		}
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	// unshare fails in containers without CAP_SYS_ADMIN.
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("unshare --mount fails: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
})

var userMu sync.Mutex

// ensureUser creates the SSH user when missing, unlocks it for key logins and creates the
// LogRoot mount point. Test binaries of several packages may race here: retry.
func ensureUser(name string) (uid, gid int, err error) {
	userMu.Lock()
	defer userMu.Unlock()
	for attempt := 0; ; attempt++ {
		uid, gid, err = ensureUserOnce(name)
		if err == nil || attempt == 20 {
			return uid, gid, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ensureUserOnce(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", name).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("useradd %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
		if u, err = user.Lookup(name); err != nil {
			return 0, 0, err
		}
	}
	// With UsePAM no, sshd refuses every login, keys included, to an account whose password
	// is locked ("!"), which is how useradd leaves it. "*" only disables passwords.
	locked, err := passwordLocked(name)
	if err != nil {
		return 0, 0, err
	}
	if locked {
		if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("usermod -p '*' %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if err := os.MkdirAll(LogRoot, 0o755); err != nil {
		return 0, 0, err
	}
	if name == defaultUser {
		for _, d := range []string{filepath.Dir(LogRoot), LogRoot} {
			if err := os.Chown(d, uid, gid); err != nil {
				return 0, 0, err
			}
		}
	}
	return uid, gid, nil
}

func passwordLocked(name string) (bool, error) {
	shadow, err := os.ReadFile("/etc/shadow")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(shadow), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) > 1 && fields[0] == name {
			return strings.HasPrefix(fields[1], "!"), nil
		}
	}
	return false, nil
}

// addresses are n consecutive loopback addresses from first.
func addresses(first string, n int) ([]string, error) {
	ip := net.ParseIP(first).To4()
	if ip == nil || ip[0] != 127 {
		return nil, fmt.Errorf("FirstAddr %q is not an IPv4 loopback address (127.0.0.0/8)", first)
	}
	if int(ip[3])+n-1 > 254 {
		return nil, fmt.Errorf("%d CVMs from %s run past %d.%d.%d.254", n, first, ip[0], ip[1], ip[2])
	}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = net.IPv4(ip[0], ip[1], ip[2], ip[3]+byte(i)).String()
	}
	return addrs, nil
}

// freePort finds a port that is free on every address.
func freePort(addrs []string) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", net.JoinHostPort(addrs[0], "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		free := true
		for _, a := range addrs[1:] {
			other, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			other.Close()
		}
		l.Close()
		if free {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port is free on all of %v", addrs)
}

func keygen(path, comment string) error {
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// makeTraversable lets every user reach dir: dir 0755 and o+x on its ancestors.
func makeTraversable(dir string) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func copyFile(src, dst string, perm os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, perm)
}

func lastLines(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
