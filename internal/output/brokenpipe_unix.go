//go:build !windows

package output

import (
	"errors"
	"syscall"
)

func isBrokenPipeErrno(err error) bool { return errors.Is(err, syscall.EPIPE) }
