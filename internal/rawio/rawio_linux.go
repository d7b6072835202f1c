// Package rawio reads and writes non-blocking descriptors (sockets, pipes) without
// entering the Go runtime's system-call state.
//
// Go wraps every system call of the os and net packages in entersyscall and exitsyscall.
// When the process has been idle, its monitor thread (sysmon) sleeps, and the first
// system call of the next burst of work wakes it. It then looks at the process every 20 µs
// for the rest of the burst, and for about 50 looks more, each a wake-up of its thread.
// cvmtail following many CVMs works in bursts: a few frames from each CVM, every few tens of
// milliseconds. On a virtual machine each wake-up is a context switch that costs more than
// handling the frames; in the bench at 224 streams the monitor took about a fifth of
// cvmtail's CPU. A read or a write of a non-blocking descriptor cannot block, so it needs
// none of that: these functions make the system call directly and wait for readiness in
// the runtime's network poller, as the net package does, deadlines included.
//
// Only Linux; elsewhere callers use the descriptor's own Read and Write.
package rawio

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Read reads into b from the non-blocking descriptor behind rc, waiting in the poller until
// there is something to read. At the end of the stream it returns io.EOF.
func Read(rc syscall.RawConn, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch e {
			case 0:
				if n = int(r); n == 0 {
					rerr = io.EOF
				}
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // the poller waits for the descriptor to be readable
			default:
				rerr = os.NewSyscallError("read", e)
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// Write writes all of b to the non-blocking descriptor behind rc, waiting in the poller
// whenever the descriptor is full. It returns how much was written before an error.
func Write(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch e {
			case 0:
				n += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // the poller waits for room
			default:
				werr = os.NewSyscallError("write", e)
				return true
			}
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}
