//go:build unix

package tailertest

import "syscall"

// ownSession puts a command in a session of its own, as sshd does (setsid), so that the
// whole group can be told apart and killed.
func ownSession() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
