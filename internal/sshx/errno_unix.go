//go:build !windows

package sshx

// isRefusedErrno: on unix, syscall.ECONNREFUSED alone says it.
func isRefusedErrno(error) bool { return false }
