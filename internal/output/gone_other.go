//go:build !unix

package output

import "os"

// ReaderGone returns nil, "cannot tell": Windows has no poll() that reports a pipe's or a
// console's far end closing without a write. The writer still stops at the next line,
// when the write fails with a broken pipe (IsBrokenPipe).
func ReaderGone(*os.File) <-chan struct{} { return nil }
