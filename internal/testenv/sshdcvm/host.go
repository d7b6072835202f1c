//go:build linux

package sshdcvm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

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
		status, err := os.ReadFile(dir + "/status")
		if err != nil {
			continue
		}
		procs = append(procs, Proc{
			PID:     pid,
			CVMPID:  innermostPID(string(status)),
			UID:     int(st.Uid),
			Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")),
		})
	}
	return procs, nil
}

// innermostPID is the PID in the innermost PID namespace, from /proc/PID/status's NSpid
// line ("NSpid:\t4242\t7"); 0 when there is none.
func innermostPID(status string) int {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				pid, _ := strconv.Atoi(fields[len(fields)-1])
				return pid
			}
		}
	}
	return 0
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
	// unshare fails in containers without CAP_SYS_ADMIN, and before util-linux 2.32
	// (no --kill-child).
	out, err := exec.Command("unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
		"--propagation", "private", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("unshare --mount --pid fails: %v: %s", err, bytes.TrimSpace(out))
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

// versionDependentConfig are sshd_config lines for settings that only some OpenSSH
// versions know, included when this sshd accepts them.
var versionDependentConfig = sync.OnceValue(func() []string {
	var lines []string
	// OpenSSH 9.8 and later refuse, for a while, a source address whose connections failed
	// to authenticate or were dropped. Tests do both on purpose, all from 127.0.0.1.
	if sshdAccepts("PerSourcePenalties no") {
		lines = append(lines, "PerSourcePenalties no")
	}
	return lines
})

func sshdAccepts(line string) bool {
	dir, err := os.MkdirTemp("", "sshdcvm-check-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "host_key")
	if keygen(key, "sshdcvm-check") != nil {
		return false
	}
	config := filepath.Join(dir, "sshd_config")
	if os.WriteFile(config, []byte("HostKey "+key+"\n"+line+"\n"), 0o600) != nil {
		return false
	}
	return exec.Command(sshdPath, "-t", "-f", config).Run() == nil
}
