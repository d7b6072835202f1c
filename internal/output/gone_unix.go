//go:build unix

package output

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// ReaderGone returns a channel that is closed when the reader of f goes away (the other end
// of a pipe or socket closed, a terminal hung up), or nil when f cannot tell (a regular
// file). With a quiet log nothing is written for a long time, so a write's EPIPE would come
// too late: `cvmtail tail genesis | head -1` must end when head does, as coreutils' tail -F
// does since 8.28, not linger until the next line.
func ReaderGone(f *os.File) <-chan struct{} {
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	if st.Mode()&(os.ModeNamedPipe|os.ModeSocket|os.ModeCharDevice) == 0 {
		return nil
	}
	fd := int(f.Fd())
	gone := make(chan struct{})
	go func() {
		// No events asked for: POLLERR and POLLHUP are reported all the same, and nothing
		// else wakes us. The goroutine lives as long as the process; it costs one thread.
		fds := []unix.PollFd{{Fd: int32(fd)}}
		for {
			n, err := unix.Poll(fds, -1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return
			}
			if n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				close(gone)
				return
			}
		}
	}()
	return gone
}
