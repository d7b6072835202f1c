//go:build !windows

package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive lock on f without waiting; false when another process has it.
func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// unsafeDir says why a capture directory is risky for a root cron job: another user owns
// it, or others may write to it (and so plant a symlink or swap a file). "" when neither.
func unsafeDir(path string, st fs.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Sprintf("warning: capture directory %s is owned by another user (uid %d)", path, sys.Uid)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Sprintf("warning: capture directory %s may be written by others (mode %04o)", path, st.Mode().Perm())
	}
	return ""
}
