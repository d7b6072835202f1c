package output

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// isBrokenPipeErrno: Windows says "broken pipe" in its own words. A write to a pipe whose
// reader closed fails with ERROR_NO_DATA ("the pipe is being closed") or ERROR_BROKEN_PIPE;
// Go's syscall.EPIPE is an invented number that Windows never returns.
func isBrokenPipeErrno(err error) bool {
	return errors.Is(err, windows.ERROR_NO_DATA) || errors.Is(err, windows.ERROR_BROKEN_PIPE) ||
		errors.Is(err, syscall.EPIPE)
}
