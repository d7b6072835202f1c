package sshx

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isRefusedErrno: Winsock's "actively refused" is WSAECONNREFUSED, which Go's invented
// syscall.ECONNREFUSED does not match.
func isRefusedErrno(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }
