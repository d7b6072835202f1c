# cvmtail remote agent: follows one file by name and sends framed chunks with byte offsets.
# Runs on the CVM under python3 or python 2.7, reads nothing but its arguments and stdin.
#
# argv: path lines follow resume_ident resume_offset window poll_ms
# stdout: b"\0CVMTAIL1\n", then frames: a header line "<type> <fields>\n", for D a payload.
#   O ident offset size   following file ident ("dev:ino") from offset
#   D len                 len bytes of the current file at the current offset
#   T oldsize newsize     truncated, continuing at 0
#   R ident               the name now points to another file; the old one was read to its end
#   W text                notice (file appeared, disappeared, resume gap)
#   E code text           cannot read the file (code: ENOENT, EACCES, ...)
#   Z                     end (no-follow: backlog done)
# stdin: decimal byte counts the client has consumed, one per line (flow control credits);
# EOF on stdin means the channel closed: exit at once, leaving nothing behind.
import errno, os, select, sys

MAX_CHUNK = 256 * 1024


def main():
    path = sys.argv[1]
    lines = int(sys.argv[2])
    follow = sys.argv[3] == "1"
    resume_ident = sys.argv[4]
    resume_offset = int(sys.argv[5])
    window = int(sys.argv[6])
    poll = int(sys.argv[7]) / 1000.0
    Agent(path, lines, follow, resume_ident, resume_offset, window, poll).run()


def ident_of(st):
    return "%d:%d" % (st.st_dev, st.st_ino)


def out(b):
    while b:
        n = os.write(1, b)
        b = b[n:]


def header(*fields):
    return (" ".join([str(f) for f in fields]) + "\n").encode("utf-8", "replace")


class Agent(object):
    def __init__(self, path, lines, follow, resume_ident, resume_offset, window, poll):
        self.path = path
        self.lines = lines
        self.follow = follow
        self.resume_ident = resume_ident
        self.resume_offset = resume_offset
        self.window = window
        self.poll = poll
        self.fd = None
        self.ident = None
        self.offset = 0
        self.sent = 0
        self.acked = 0
        self.inbuf = b""
        self.error = None  # last reported open error code, to report once per change
        self.gone = False  # the name vanished while we hold the file open

    # --- flow control and channel-close detection -------------------------------------
    def check_stdin(self, timeout):
        r, _, _ = select.select([0], [], [], timeout)
        if not r:
            return
        data = os.read(0, 4096)
        if not data:
            os._exit(0)  # the channel closed: nothing may linger
        self.inbuf += data
        while b"\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            if line.strip():
                self.acked += int(line)

    def credit(self):
        return self.window - (self.sent - self.acked)

    def wait_credit(self):
        while self.credit() <= 0:
            self.check_stdin(None)

    # --- reading ----------------------------------------------------------------------
    def send(self, data):
        out(header("D", len(data)) + data)
        self.sent += len(data)
        self.offset += len(data)

    def pump(self, limit=None):
        """Send what the open file has beyond our offset (up to limit). True if anything was sent."""
        sent = False
        while True:
            self.wait_credit()
            n = min(MAX_CHUNK, self.credit())
            if limit is not None:
                n = min(n, limit - self.offset)
                if n <= 0:
                    return sent
            data = os.read(self.fd, n)
            if not data:
                return sent
            self.send(data)
            sent = True
            self.check_stdin(0)

    def open_file(self, start_lines, notice=None, start_offset=None):
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except (OSError, IOError) as e:
            code = errno.errorcode.get(e.errno, str(e.errno))
            if code != self.error:
                self.error = code
                out(header("E", code, e.strerror or code))
            return False
        st = os.fstat(fd)
        self.fd, self.ident = fd, ident_of(st)
        start = 0
        if start_offset is not None:
            start = start_offset
        elif start_lines is not None:
            start = backlog_start(fd, st.st_size, start_lines)
        os.lseek(fd, start, 0)
        self.offset = start
        if notice or self.error:
            out(header("W", notice or "file appeared"))
        self.error = None
        self.gone = False
        out(header("O", self.ident, start, st.st_size))
        return True

    def resume(self):
        """Reopen where the client left off; True when a file is open."""
        try:
            st = os.stat(self.path)
        except (OSError, IOError):
            st = None
        if st is not None and ident_of(st) == self.resume_ident:
            if st.st_size >= self.resume_offset:
                return self.open_file(None, start_offset=self.resume_offset)
            if not self.open_file(None):
                return False
            out(header("T", self.resume_offset, st.st_size))
            return True
        # The name points elsewhere: rotated while we were away. Finish the old file first.
        old = find_by_ident(os.path.dirname(self.path) or ".", self.resume_ident)
        if old is not None:
            try:
                fd = os.open(old, os.O_RDONLY)
                ost = os.fstat(fd)
                if ident_of(ost) == self.resume_ident and ost.st_size >= self.resume_offset:
                    self.fd, self.ident = fd, self.resume_ident
                    os.lseek(fd, self.resume_offset, 0)
                    self.offset = self.resume_offset
                    out(header("O", self.ident, self.offset, ost.st_size))
                    self.pump()
                    os.close(fd)
                    self.fd = None
                    out(header("R", "-"))
                    return self.open_file(None)
                os.close(fd)
            except (OSError, IOError):
                pass
        out(header("W", "rotated while disconnected and the old file was not found: lines written to it after byte %d may be missing" % self.resume_offset))
        return self.open_file(None)

    def run(self):
        out(b"\0CVMTAIL1\n")
        if self.resume_ident:
            opened = self.resume()
        else:
            opened = self.open_file(self.lines if self.lines >= 0 else None)
        if not self.follow:
            if opened:
                size = os.fstat(self.fd).st_size
                self.pump(limit=size)
                out(header("Z"))
                sys.exit(0)
            sys.exit(1)
        while True:
            progressed = False
            if self.fd is None:
                self.open_file(None)
            else:
                progressed = self.pump()
                progressed = self.check_name() or progressed
            self.check_stdin(0 if progressed else self.poll)

    def check_name(self):
        try:
            st = os.stat(self.path)
        except (OSError, IOError):
            st = None
        if st is None:
            if not self.gone:
                self.gone = True
                out(header("W", "file disappeared; following it when it comes back"))
            return False
        self.gone = False
        if ident_of(st) != self.ident:
            # Rotated (renamed, or a glog symlink switched): drain the old file, then switch.
            self.pump()
            os.close(self.fd)
            self.fd = None
            out(header("R", ident_of(st)))
            self.open_file(None)
            return True
        size = os.fstat(self.fd).st_size
        if size < self.offset:
            out(header("T", self.offset, size))
            os.lseek(self.fd, 0, 0)
            self.offset = 0
            return True
        return False


def backlog_start(fd, size, n):
    """Offset of the first of the last n lines (a last line without newline counts)."""
    if n == 0:
        return size
    pos = size
    need = n + 1  # the newline ending the last line does not start a line
    # A last line without a newline is a line too.
    if size > 0:
        os.lseek(fd, size - 1, 0)
        if os.read(fd, 1) != b"\n":
            need = n
    while pos > 0:
        step = min(65536, pos)
        pos -= step
        os.lseek(fd, pos, 0)
        block = os.read(fd, step)
        i = len(block)
        while True:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            need -= 1
            if need == 0:
                return pos + i + 1
    return 0


def find_by_ident(directory, ident):
    try:
        names = os.listdir(directory)
    except (OSError, IOError):
        return None
    for name in names:
        p = os.path.join(directory, name)
        try:
            if ident_of(os.lstat(p)) == ident:
                return p
        except (OSError, IOError):
            pass
    return None


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except (OSError, IOError) as e:
        if e.errno == errno.EPIPE:
            os._exit(0)
        raise
