//go:build !unix

package tailertest

import "syscall"

// ownSession: no sessions outside unix. The fake CVM's commands run with sh and python,
// which a Windows machine rarely has; this keeps the engine's tests compiling there.
func ownSession() *syscall.SysProcAttr { return nil }
