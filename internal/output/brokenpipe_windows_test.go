package output

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

// The errors a write to a closed pipe or console gets on Windows, as os.File wraps them.
func TestIsBrokenPipeWindowsErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&fs.PathError{Op: "write", Path: "/dev/stdout", Err: windows.ERROR_NO_DATA}, true},
		{&fs.PathError{Op: "write", Path: "/dev/stdout", Err: windows.ERROR_BROKEN_PIPE}, true},
		{fmt.Errorf("writing output: %w", windows.ERROR_NO_DATA), true},
		{&fs.PathError{Op: "write", Path: "/dev/stdout", Err: windows.ERROR_DISK_FULL}, false},
		{syscall.ENOSPC, false},
	} {
		if got := IsBrokenPipe(tc.err); got != tc.want {
			t.Errorf("IsBrokenPipe(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
