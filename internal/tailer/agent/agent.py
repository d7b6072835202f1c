# cvmtail remote agent: follows one file by name and sends framed chunks with byte offsets.
# Runs on the CVM under python3 or python 2.7, reads nothing but its arguments and stdin.
#
# argv: path lines follow resume_ident resume_offset window poll_ms [since zone_offset]
#   since (optional, Unix seconds, "" for none): instead of the last `lines` lines, start at the
#   first line stamped at or after since, found by binary search over the file's offsets (a
#   file can be gigabytes); zone_offset is the UTC offset in seconds of syslog-style times.
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
# Only what every start needs: re (and what it pulls in) costs more than the rest of the
# start-up together, so the timestamp rules, used by --since alone, import it when first used.
import errno, os, select, sys, time

MAX_CHUNK = 256 * 1024


def main():
    path = sys.argv[1]
    lines = int(sys.argv[2])
    follow = sys.argv[3] == "1"
    resume_ident = sys.argv[4]
    resume_offset = int(sys.argv[5])
    window = int(sys.argv[6])
    poll = int(sys.argv[7]) / 1000.0
    agent = Agent(path, lines, follow, resume_ident, resume_offset, window, poll)
    if len(sys.argv) > 8 and sys.argv[8]:
        agent.since = float(sys.argv[8])
        agent.zone_offset = int(sys.argv[9]) if len(sys.argv) > 9 else 0
    agent.run()


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
        # Several chunks fit in the window, so the client's credit for one comes back while
        # the next ones are on their way: a chunk as big as the window means stop-and-wait.
        self.chunk = min(window, max(4096, min(MAX_CHUNK, window // 4)))
        self.poll = poll
        self.fd = None
        self.ident = None
        self.offset = 0
        self.sent = 0
        self.acked = 0
        self.inbuf = b""
        self.error = None  # last reported open error code, to report once per change
        self.gone = False  # the name vanished while we hold the file open, and we said so
        self.gone_since = None  # when the name was first found missing
        self.since = None  # Unix time: start at the first line stamped at or after it
        self.zone_offset = 0
        self.watch = None  # inotify, once following (see Watch); None: polling

    # --- flow control and channel-close detection -------------------------------------
    def check_stdin(self, timeout, watch=False):
        """Take credits from stdin, waiting up to timeout (None: until there are some); with
        watch, an inotify event ends the wait too."""
        fds = [0]
        if watch and self.watch is not None:
            fds.append(self.watch.fd)
        r, _, _ = select.select(fds, [], [], timeout)
        if len(fds) > 1 and fds[1] in r:
            self.watch.drain()
        if 0 not in r:
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
        # Room for a whole chunk: with a slow reader, frames stay large instead of trickling.
        while self.credit() < self.chunk:
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
            n = min(self.chunk, self.credit())
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

    def open_file(self, start_lines, notice=None, start_offset=None, since=None):
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
        elif since is not None:
            start = find_since(fd, st.st_size, since, time.time(), self.zone_offset)
        elif start_lines is not None:
            start = backlog_start(fd, st.st_size, start_lines)
        os.lseek(fd, start, 0)
        self.offset = start
        if notice or self.error:
            out(header("W", notice or "file appeared"))
        self.error = None
        self.gone = False
        self.gone_since = None
        out(header("O", self.ident, start, st.st_size))
        if self.watch is not None:
            self.watch.file(self.path)
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
            opened = self.open_file(self.lines if self.lines >= 0 else None, since=self.since)
        if not self.follow:
            if opened:
                size = os.fstat(self.fd).st_size
                self.pump(limit=size)
                out(header("Z"))
                sys.exit(0)
            sys.exit(1)
        # A file that is being written is looked at four times as often for a second after
        # its last new bytes, so that a busy log's lines travel in batches. An idle one is
        # polled at first; a second after the start (ctypes costs a few milliseconds of CPU
        # that would compete with the other agents starting on the CVM) the agent sets up
        # inotify and from then on sleeps until the file or its directory changes, looking
        # anyway every WATCH_POLL in case a change went unnoticed.
        busy_until = 0.0
        watch_at = time.time() + WATCH_DELAY
        while True:
            progressed = False
            if self.fd is None:
                self.open_file(None)
            else:
                progressed = self.pump()
                progressed = self.check_name() or progressed
            now = time.time()
            if progressed:
                busy_until = now + 1.0
                self.check_stdin(0)
            elif now < busy_until:
                self.check_stdin(self.poll / 4)
            elif watch_at is not None and now >= watch_at:
                watch_at = None
                self.watch = Watch.start(self.path)
                # and look again: a change before the watch began raised no event
            elif self.watch is not None:
                self.check_stdin(WATCH_POLL, watch=True)
            else:
                self.check_stdin(self.poll)

    def check_name(self):
        try:
            st = os.stat(self.path)
        except (OSError, IOError):
            st = None
        if st is None:
            # Rotation leaves the name missing for a moment (logrotate's rename then create,
            # glog's unlink then symlink), and inotify wakes us in that moment: only a name
            # still missing GONE_GRACE later is worth a notice.
            now = time.time()
            if self.gone_since is None:
                self.gone_since = now
            elif not self.gone and now - self.gone_since >= GONE_GRACE:
                self.gone = True
                out(header("W", "file disappeared; following it when it comes back"))
            return False
        self.gone = False
        self.gone_since = None
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


WATCH_POLL = 1.0  # seconds between looks when inotify says nothing
WATCH_DELAY = 1.0  # seconds after the start before inotify is set up
GONE_GRACE = 1.0  # seconds a followed name may be missing before the agent says so

# inotify(7): the directory's names (a file created, renamed, deleted: rotation and glog's
# symlink switch) and the open file's changes (appended, truncated, renamed, deleted).
IN_MODIFY, IN_ATTRIB, IN_MOVED_FROM, IN_MOVED_TO = 0x2, 0x4, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000


class Watch(object):
    """inotify through ctypes. Any event only wakes the agent, which then looks as a poll
    would: events are never parsed, so a missed or extra one costs nothing but a look."""

    @staticmethod
    def start(path):
        """A Watch on path and its directory, or None (no ctypes, no inotify, out of
        instances: fs.inotify.max_user_instances): the agent keeps polling."""
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except Exception:
            return None
        if fd < 0:
            return None
        w = Watch(libc, fd)
        directory = os.path.dirname(path) or "."
        if w.add(directory, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0:
            os.close(fd)
            return None
        w.file(path)
        return w

    def __init__(self, libc, fd):
        self.libc = libc
        self.fd = fd
        self.file_wd = -1

    def add(self, path, mask):
        if hasattr(os, "fsencode"):  # Python 3: argv's str back to the name's bytes
            path = os.fsencode(path)
        return self.libc.inotify_add_watch(self.fd, path, mask)

    def file(self, path):
        """Watch the file path names now (through a symlink: its target)."""
        if self.file_wd >= 0:
            self.libc.inotify_rm_watch(self.fd, self.file_wd)
        self.file_wd = self.add(path, IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)

    def drain(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except (OSError, IOError):
            pass  # EAGAIN: nothing more


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


# --- timestamps: the rules of internal/logtime (keep the two in step) -----------------
PATTERNS = []


def patterns():
    """GLOG, ISO, SYSLOG, CASSANDRA, compiled on first use."""
    if not PATTERNS:
        import re
        PATTERNS.extend([
            re.compile(br"([IWEF])(\d{8}|\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: |$)"),
            re.compile(br"(\d{4})-(\d\d)-(\d\d)([ T])(\d\d):(\d\d):(\d\d)(?:[,.](\d+))?(Z|[+-]\d\d:\d\d)?"),
            re.compile(br"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( \d|\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?: |$)"),
            re.compile(br"(?:DEBUG|TRACE|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL) *\[[^\]]*\] (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:[,.](\d+))?"),
        ])
    return PATTERNS


MONTHS = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]


def epoch(y, mo, d, h, mi, s, frac, offset):
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return None
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
    if frac:
        t += float(b"0." + frac)
    return t


def days_from_civil(y, m, d):
    """Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (calendar.timegm's
    arithmetic without importing calendar, whose imports cost more than the agent's start)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def infer_year(ref, offset, mo, d, h, mi, s, frac):
    """The latest year that does not put the line more than a day after ref."""
    y = time.gmtime(ref + offset).tm_year + 1
    for k in (0, 1):
        t = epoch(y - k, mo, d, h, mi, s, frac, offset)
        if t is None or t <= ref + 86400:
            return t
    return epoch(y - 2, mo, d, h, mi, s, frac, offset)


def stamp(line, ref, zone_offset):
    """Unix time at the start of line, or None (continuation, traceback, unknown format)."""
    if len(line) < 15:
        return None
    GLOG, ISO, SYSLOG, CASSANDRA = patterns()
    m = GLOG.match(line)
    if m:
        date = m.group(2)
        h, mi, s = int(m.group(3)), int(m.group(4)), int(m.group(5))
        if len(date) == 8:
            return epoch(int(date[:4]), int(date[4:6]), int(date[6:]), h, mi, s, m.group(6), 0)
        return infer_year(ref, 0, int(date[:2]), int(date[2:]), h, mi, s, m.group(6))
    m = ISO.match(line)
    if m:
        offset = 0
        z = m.group(9)
        if z and z != b"Z":
            offset = (int(z[1:3]) * 60 + int(z[4:6])) * 60
            if z[:1] == b"-":
                offset = -offset
        elif not z and m.group(4) == b"T":
            offset = zone_offset  # RFC 3339 without offset: the CVM's local time
        return epoch(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(5)),
                     int(m.group(6)), int(m.group(7)), m.group(8), offset)
    m = SYSLOG.match(line)
    if m:
        return infer_year(ref, zone_offset, MONTHS.index(m.group(1)) + 1, int(m.group(2)), int(m.group(3)),
                          int(m.group(4)), int(m.group(5)), m.group(6))
    m = CASSANDRA.match(line)
    if m:
        return epoch(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                     int(m.group(5)), int(m.group(6)), m.group(7), 0)
    return None


SCAN_LIMIT = 1 << 20  # bytes of untimestamped lines one probe reads before giving up


def lines_from(fd, pos, hi, size):
    """(start, line) for each line starting in [pos, hi); pos is a line start. Lines are read
    whole even past hi; the scan stops after SCAN_LIMIT bytes."""
    os.lseek(fd, pos, 0)
    buf, base, off, origin = b"", pos, 0, pos
    while pos < hi and base + len(buf) - origin <= SCAN_LIMIT:
        i = buf.find(b"\n", off)
        if i < 0:
            if base + len(buf) >= size:
                if off < len(buf):
                    yield pos, buf[off:]
                return
            chunk = os.read(fd, 65536)
            if not chunk:
                if off < len(buf):
                    yield pos, buf[off:]
                return
            buf, base, off = buf[off:] + chunk, pos, 0
            continue
        yield pos, buf[off:i]
        pos += i + 1 - off
        off = i + 1


def next_line_start(fd, pos, size):
    """The first line start at or after pos."""
    if pos == 0:
        return 0
    os.lseek(fd, pos - 1, 0)
    while pos - 1 < size:
        block = os.read(fd, 65536)
        if not block:
            return size
        i = block.find(b"\n")
        if i >= 0:
            return pos + i
        pos += len(block)
    return size


def first_stamped(fd, pos, hi, size, ref, zone_offset):
    for start, line in lines_from(fd, pos, hi, size):
        t = stamp(line, ref, zone_offset)
        if t is not None:
            return start, len(line), t
    return None


def find_since(fd, size, since, ref, zone_offset):
    """Offset of the first line stamped at or after since (size when there is none), reading
    a few blocks per halving instead of the file. Lines without a time belong to the record
    before them; records are taken to be in time order, as a log file's are."""
    lo, hi, ans = 0, size, size
    while hi - lo > 65536:
        mid = (lo + hi) // 2
        p = next_line_start(fd, mid, size)
        found = first_stamped(fd, p, hi, size, ref, zone_offset) if p < hi else None
        if found is None:
            hi = mid
        elif found[2] < since:
            lo = found[0] + found[1] + 1
        else:
            ans, hi = found[0], mid
    for start, line in lines_from(fd, lo, hi, size):
        t = stamp(line, ref, zone_offset)
        if t is not None and t >= since:
            return start
    return ans


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
