//go:build linux

package sshdcvm

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"github.com/cvmtail/cvmtail/internal/shquote"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func (c *CVM) sshdConfig(opts Options) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# sshdcvm: CVM %d of a test cluster", c.Index)
	line("ListenAddress %s:%d", c.Addr, c.cl.Port)
	for _, a := range c.Extra {
		line("ListenAddress %s:%d", a, c.cl.Port)
	}
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
	for _, l := range versionDependentConfig() {
		line("%s", l)
	}
	if opts.MaxSessions > 0 {
		line("MaxSessions %d", opts.MaxSessions)
	}
	if opts.Python != "" {
		line("SetEnv PATH=%s", filepath.Join(c.dir, "python-bin"))
	}
	line("LogLevel VERBOSE")
	for _, l := range opts.SSHDConfig {
		line("%s", l)
	}
	return b.String()
}

// namespaceScript runs as root in the CVM's new private mount namespace and becomes its sshd.
func (c *CVM) namespaceScript(oldLayers []overlay, python string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	fmt.Fprintf(&b, "mount --bind %s %s\n", shquote.Quote(c.LogDir), LogRoot)
	if build := filepath.Dir(filepath.Dir(python)); python != "" && strings.HasPrefix(build, "/root/") {
		// /root is closed to the SSH user, and the build finds its libpython by its own path:
		// in this namespace only, /root becomes an empty tmpfs holding the build alone.
		hold := shquote.Quote(filepath.Join(c.dir, "python-hold"))
		fmt.Fprintf(&b, "mount --bind %s %s\n", shquote.Quote(build), hold)
		b.WriteString("mount -t tmpfs -o mode=755 sshdcvm-root /root\n")
		fmt.Fprintf(&b, "mkdir -p %s\nmount --bind %s %s\n", shquote.Quote(build), hold, shquote.Quote(build))
	}
	if c.Old {
		for _, o := range oldLayers {
			fmt.Fprintf(&b, "mount -t overlay sshdcvm-old -o %s %s\n",
				shquote.Quote("lowerdir="+o.layer+":"+o.target), shquote.Quote(o.target))
		}
	}
	fmt.Fprintf(&b, "exec %s -D -e -f %s\n", sshdPath, shquote.Quote(filepath.Join(c.dir, "sshd_config")))
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
	// A PID namespace too: sshd is its init, so when sshd dies the kernel kills every
	// session process of the CVM, and the CVM's ps shows only its own processes. If the test
	// binary dies without running its cleanups (a -timeout panic), Pdeathsig kills unshare,
	// --kill-child then kills sshd, and with it the whole CVM: nothing leaks.
	cmd := exec.Command("unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
		"--propagation", "private", "/bin/sh", c.script)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = []string{"PATH=" + sessionEnvPath, "LC_ALL=C"}
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
		// unshare first: its child, sshd, dies with it, and the CVM's PID namespace with sshd.
		_ = c.proc.Kill()
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("unshare %d did not exit after SIGKILL", c.proc.Pid)
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
	procs, err := namespaceProcs(c.mntNS)
	if err != nil {
		return err
	}
	// The listener (the CVM's PID 1) first, so that it starts no session the scan missed.
	slices.SortFunc(procs, func(a, b Proc) int { return cmp.Compare(a.CVMPID, b.CVMPID) })
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
		for _, a := range append([]string{c.Addr}, c.Extra...) {
			fmt.Fprintf(&b, "[%s]:%d %s %s\n", a, cl.Port, fields[0], fields[1])
		}
	}
	return os.WriteFile(cl.KnownHosts, b.Bytes(), 0o644)
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
