package output

import (
	"errors"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cvmtail/cvmtail/internal/rawio"
)

// pipeOut gives the writer a way of its own into w when w is a pipe (stdout read by grep, a
// script, a pager), on which it writes through rawio: the writes of every burst of lines
// would otherwise wake the runtime's monitor thread (see rawio), which on a virtual machine
// costs more than the write.
//
// rawio needs a non-blocking descriptor, and the descriptor cvmtail was given is not its
// own: its open file description is shared with the shell and every process that holds the
// pipe, and O_NONBLOCK set on it would make their writes fail with EAGAIN. Opening
// /proc/self/fd/N makes a description of its own for the same pipe. Anything else (a
// terminal, a file, a socket, no /proc) keeps w's own writes; so does a test's buffer. The
// returned close releases the descriptor (nil when there is none).
func pipeOut(w io.Writer) (io.Writer, func() error) {
	f, ok := w.(*os.File)
	if !ok {
		return w, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return w, nil
	}
	fd := -1
	_ = rc.Control(func(d uintptr) { fd = int(d) })
	var st unix.Stat_t
	if fd < 0 || unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return w, nil
	}
	own, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return w, nil
	}
	var ost unix.Stat_t
	if unix.Fstat(own, &ost) != nil || ost.Dev != st.Dev || ost.Ino != st.Ino {
		_ = unix.Close(own)
		return w, nil
	}
	nf := os.NewFile(uintptr(own), f.Name())
	orc, err := nf.SyscallConn()
	// Only a descriptor in the runtime's poller takes a deadline: one that is not could
	// not wait for room in the pipe.
	if err != nil || nf.SetWriteDeadline(time.Time{}) != nil {
		_ = nf.Close()
		return w, nil
	}
	return &rawPipe{name: f.Name(), rc: orc}, nf.Close
}

type rawPipe struct {
	name string
	rc   syscall.RawConn
}

func (p *rawPipe) Write(b []byte) (int, error) {
	n, err := rawio.Write(p.rc, b)
	if err != nil {
		// As os.File says it: "write /dev/stdout: broken pipe".
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
		err = &os.PathError{Op: "write", Path: p.name, Err: err}
	}
	return n, err
}
