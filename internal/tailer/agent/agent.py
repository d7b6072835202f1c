# cvmtail remote agent: ONE process per CVM follows every file it is given, by name, and
# sends their bytes in frames that carry a stream id, the file's identity and byte offsets.
# The wire format is a contract, written once in docs/agent-protocol.md (protocol 2): change
# the two together. Runs under python3 (3.6+) or python 2.7, stdlib only, started with -S -E;
# it reads nothing but its arguments and stdin.
#
# argv: 2 follow poll_ms zone_offset, then options name=value (history=1, until=<unix>,
# glob=<id>:<lo>:<next>:<hi>, globdone=<id>:<path>, globresume=<id>:<offset>:<dev>:<ino>:<path>),
# then 7 words per stream: id path window
# lines since resume_ident resume_offset
# stdout: b"\0CVMTAIL2\n", then frames "<type> <id> <fields>\n" (D: and a payload).
# stdin: "<id> <bytes>\n" credits, "<id> -\n" closes a stream; EOF (the channel closed): exit
# at once, leaving nothing behind.
# Only what every start needs: re (for --since) and ctypes/struct (for inotify, a second
# after the start) are imported when first used.
import errno, os, select, sys, time

PROTOCOL = "2"
MAX_CHUNK = 256 * 1024
MAX_TEXT = 1000  # bytes of a notice or error text (the protocol allows 1024)
OUT_FLUSH = 64 * 1024  # frames are written in batches of about this much
BUSY = 1.0  # seconds a stream is looked at often (every poll/4) after its last new bytes
WATCH_POLL = 1.0  # seconds between looks at a watched file when inotify says nothing
WATCH_DELAY = 1.0  # seconds after the start before inotify is set up
GONE_GRACE = 1.0  # seconds a followed name may be missing before the agent says so
NEVER = float("inf")
WRITEV = getattr(os, "writev", None)  # Python 3.3+
F_SETPIPE_SZ = 1031  # fcntl(2), Linux 2.6.35+; Python's fcntl names it from 3.10 only


def main():
    if sys.argv[1] != PROTOCOL:
        sys.stderr.write("cvmtail agent: protocol %s asked, this agent speaks %s\n" % (sys.argv[1], PROTOCOL))
        sys.exit(2)
    agent = Agent(sys.argv[2] == "1", int(sys.argv[3]) / 1000.0, int(sys.argv[4]))
    words = sys.argv[5:]
    # Options come before the streams, whose first word (an id) never holds "=". An
    # option this agent does not know is ignored: the client sends one only when it is used.
    while words and "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        if name == "history":
            agent.history = value == "1"
        elif name == "until" and value:
            agent.until = float(value)
        elif name == "glob":
            sid, lo, nxt, hi = [int(x) for x in value.split(":")]
            agent.globs[sid] = (lo, nxt, hi)
        elif name == "globdone":
            sid, path = value.split(":", 1)
            agent.globdone.setdefault(int(sid), []).append(path)
        elif name == "globresume":
            sid, offset, dev, ino, path = value.split(":", 4)
            agent.globresume.setdefault(int(sid), {})[fsbytes(path)] = ("%d:%d" % (int(dev), int(ino)), int(offset))
    if not words or len(words) % 7:
        sys.stderr.write("cvmtail agent: want 7 words per stream, got %d\n" % len(words))
        sys.exit(2)
    for i in range(0, len(words), 7):
        sid, path, window, lines, since, ident, offset = words[i:i + 7]
        sid, since = int(sid), float(since) if since else None
        if sid in agent.globs:
            lo, nxt, hi = agent.globs[sid]
            agent.add(Glob(agent, sid, path, int(window), int(lines), since, lo, nxt, hi))
        else:
            agent.add(Stream(agent, sid, path, int(window), int(lines), since, ident, int(offset)))
    for g in agent.streams:
        if isinstance(g, Glob):
            # Its matches the client knows already (given as streams, or ended): not again.
            for s in agent.streams:
                if g.lo <= s.id < g.next_id:
                    g.known.add(fsbytes(os.path.basename(s.path)))
            for path in agent.globdone.get(g.id, []):
                g.known.add(fsbytes(os.path.basename(path)))
    # glibc's malloc serves a block above its threshold (128 KiB at first) with mmap and
    # frees it with munmap, and Python's os.read allocates the whole size asked (a chunk,
    # 256 KiB) before it shrinks the result to what was read: mmap, mremap, munmap and page
    # faults for every read of a busy log (Python 3.6 measured: 3 more system calls a read,
    # 40 % more CPU). Freeing one such block raises the threshold past it, for good.
    warm = bytearray(MAX_CHUNK + 65536)
    del warm
    widen_stdout()
    agent.run()


def widen_stdout():
    """A pipe to sshd holds 64 KiB; a batch of frames is up to OUT_FLUSH and a chunk, and
    a busy loop writes one or two: each write that found the pipe full slept until sshd
    had read, a second wake-up for every batch (14 busy files at 10 MB/s measured: 3925
    against 2057 in 10 s, 0.15 against 0.12 s of CPU). 1 MiB is the most an unprivileged
    process may ask (pipe-max-size); a user at its pipe limit gets less, or none, and the
    agent goes on with what it has. Not a pipe (a socket, a file): nothing changes."""
    try:
        import fcntl
    except ImportError:
        return
    for size in (1 << 20, 256 << 10):
        try:
            fcntl.fcntl(1, F_SETPIPE_SZ, size)
            return
        except (OSError, IOError):
            pass


def tick(now, period):
    """The first multiple of period after now."""
    return (now // period + 1) * period


def ident_of(st):
    return "%d:%d" % (st.st_dev, st.st_ino)


def text(s):
    """A notice or error text: one line, bounded."""
    return " ".join(str(s).split())[:MAX_TEXT]


class Agent(object):
    def __init__(self, follow, poll, zone_offset):
        self.follow = follow
        self.poll = poll
        self.zone_offset = zone_offset
        self.streams = []
        self.by_id = {}
        self.out = []
        self.outlen = 0
        self.inbuf = b""
        self.watch = None  # inotify for every stream (see Watch); None: polling
        self.history = False  # with since: read the file's rotated predecessors first
        self.until = None  # Unix seconds: each stream ends at its first line stamped at or after it
        self.said_xz = False  # that .xz history cannot be read here, said once
        self.globs = {}  # glob stream id -> (lo, next, hi): the ids its matches may take
        self.globdone = {}  # glob stream id -> [paths of its matches that ended]
        self.globresume = {}  # glob stream id -> {path (bytes): (ident, offset)} of an earlier run

    def add(self, s):
        self.streams.append(s)
        self.by_id[s.id] = s

    # --- output: frames are batched into few writes ---------------------------------
    def frame(self, kind, sid, *fields):
        line = " ".join([kind, str(sid)] + [str(x) for x in fields]) + "\n"
        if not isinstance(line, bytes):  # Python 3; Python 2's str is bytes already
            line = line.encode("utf-8", "replace")
        self.emit(line)

    def emit(self, b):
        self.out.append(b)
        self.outlen += len(b)
        if self.outlen >= OUT_FLUSH:
            self.flush()

    def emit2(self, header, data):
        self.out.append(header)
        self.out.append(data)
        self.outlen += len(header) + len(data)
        if self.outlen >= OUT_FLUSH:
            self.flush()

    def flush(self):
        if not self.out:
            return
        out, n = self.out, self.outlen
        self.out, self.outlen = [], 0
        if WRITEV is not None:
            # The frames as they are, headers and file bytes, in one system call: joining
            # them first would copy every byte once more.
            written = WRITEV(1, out)
            if written == n:
                return
            b = b"".join(out)[written:]
        else:
            b = b"".join(out)
        while b:
            k = os.write(1, b)
            b = b[k:]

    # --- input: credits and closes; EOF ends the agent ------------------------------
    def read_stdin(self, now):
        data = os.read(0, 65536)
        if not data:
            os._exit(0)  # the channel closed: nothing may linger
        self.inbuf += data
        if b"\n" not in self.inbuf:
            if len(self.inbuf) > 65536:
                os._exit(2)  # not our client
            return
        lines = self.inbuf.split(b"\n")
        self.inbuf = lines.pop()
        for line in lines:
            f = line.split()
            if len(f) != 2 or not f[0].isdigit():
                continue
            s = self.by_id.get(int(f[0]))
            if s is None or s.done:
                continue
            if f[1] == b"-":
                s.close()
                continue
            if not f[1].isdigit():
                continue
            s.credit += int(f[1])
            if s.blocked and s.credit >= s.chunk:
                s.blocked = False
                s.changed = True  # it has bytes waiting
                s.next_look = now

    # --- the loop ---------------------------------------------------------------------
    def run(self):
        self.emit(b"\0CVMTAIL" + PROTOCOL.encode() + b"\n")
        for s in list(self.streams):  # a glob adds its matches, started already
            s.start()
        self.flush()
        # The watch is set up a second after the start: ctypes costs a few milliseconds of
        # CPU that would compete with the other agents starting on the CVM.
        watch_at = time.time() + WATCH_DELAY if self.follow else None
        while True:
            now = time.time()
            # One pass looks at the streams that are due and finds the next look: it runs
            # for every packet a busy log sends. A glob's look appends its new matches to
            # the list, and the pass goes on to them.
            wake = NEVER
            alive = False
            for s in self.streams:
                if s.done:
                    continue
                if s.next_look <= now:
                    if s.unchanged(now):
                        s.schedule(now, False)  # inotify said nothing: no need to look
                    else:
                        s.look(now)
                    if s.done:
                        continue
                alive = True
                if s.next_look < wake:
                    wake = s.next_look
            self.flush()
            if not alive:
                os._exit(0)  # every backlog sent (no-follow), or the client closed every stream
            if watch_at is not None and now >= watch_at:
                watch_at = None
                self.watch = Watch.start()
                for s in self.streams:
                    if not s.done:
                        s.watch_name()
                        s.changed = True  # and look again: a change before the watch began raised no event
                        s.next_look = now
                continue
            timeout = None if wake == NEVER else max(0.0, wake - time.time())
            fds = [0]
            # A look due within poll/4 drains the watch anyway: the events of a busy log must
            # not wake the agent at every write.
            if self.watch is not None and (timeout is None or timeout > self.poll / 4):
                fds.append(self.watch.fd)
            r, _, _ = select.select(fds, [], [], timeout)
            now = time.time()
            if self.watch is not None:
                self.dispatch(self.watch.events(self.watch.fd in r), now)
            if 0 in r:
                self.read_stdin(now)
                if all(s.done for s in self.streams):
                    os._exit(0)

    def dispatch(self, events, now):
        """inotify events only tell which streams to look at; the look decides."""
        if not events:
            return
        grid = tick(now, self.poll / 4)  # a busy stream's next look
        for wd, mask, name in events:
            if wd < 0:  # IN_Q_OVERFLOW: events were lost
                for s in self.streams:
                    s.name_changed = s.changed = True
                    s.wake(now, grid)
                continue
            if mask & IN_IGNORED:
                self.watch.forget(wd)
            for s in self.watch.streams(wd, name):
                if name is not None:
                    s.name_changed = True
                s.changed = True
                s.wake(now, grid)


class Stream(object):
    def __init__(self, agent, sid, path, window, lines, since, resume_ident, resume_offset):
        self.agent = agent
        self.id = sid
        self.dhead = ("D %d " % sid).encode()
        self.path = path
        self.dir = os.path.dirname(path) or "."
        self.base = os.path.basename(path)
        self.window = window
        self.credit = window
        # Several chunks fit in the window, so the client's credit for one comes back while
        # the next ones are on their way: a chunk as big as the window means stop-and-wait.
        self.chunk = min(window, max(4096, min(MAX_CHUNK, window // 4)))
        self.lines = lines  # backlog lines; -1: from the start
        self.since = since
        self.resume_ident = resume_ident
        self.resume_offset = resume_offset
        self.fd = None
        self.ident = None
        self.offset = 0
        self.limit = None  # no-follow: the size at open, where the stream ends
        self.error = None  # last reported open error code, to report once per change
        self.gone = False  # the name vanished while we hold the file open, and we said so
        self.gone_since = None  # when the name was first found missing
        self.switch_to = None  # the name points elsewhere: drain this file, then R and reopen
        self.name_changed = True  # look at the name at the next look
        self.last_name_check = 0.0
        # With inotify, a look is needed only when an event named the stream (changed) or
        # WATCH_POLL has passed since the last one (last_look), in case one went unnoticed.
        self.changed = True
        self.last_look = 0.0
        self.dir_watched = False  # inotify watches the name's directory
        self.busy_until = 0.0
        self.next_look = 0.0
        self.blocked = False  # waiting for credit
        self.done = False
        self.file_wd = -1
        # History (with since and the history option): the followed file is opened first and
        # held while its rotated predecessors are read, oldest first, so that a rotation in
        # the meantime loses nothing; then it is read as without history.
        self.in_history = False
        self.queue = []  # history files still to read: (path, identity), oldest first
        self.held = None  # the followed file's fd, read once the history is done
        self.src = None  # Unpacked: the compressed history file being read
        self.src_name = None  # its path and stat, for its H frame
        self.src_st = None
        self.check_start = False  # say so when since is before the whole history
        self.until_hit = False  # the open file holds a line at or after until: end at limit

    def frame(self, kind, *fields):
        self.agent.frame(kind, self.id, *fields)

    def unchanged(self, now):
        """True when inotify watches the file and its name and said nothing since the last
        look: a busy log's looks every poll/4 then cost no system call."""
        return (not self.changed and not self.in_history and self.fd is not None and self.file_wd >= 0 and self.switch_to is None
                and self.gone_since is None and now - self.last_look < WATCH_POLL and self.dir_watched)

    def wake(self, now, grid):
        """An event named the stream: look now if it was quiet, so that the first line after
        a pause travels at once; if busy, at the next poll/4 (grid), with whatever else
        came."""
        if self.done or self.blocked:
            return
        if now < self.busy_until:
            if grid < self.next_look:
                self.next_look = grid
        elif now < self.next_look:
            self.next_look = now

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.held is not None:
            os.close(self.held)
            self.held = None
        if self.src is not None:
            self.src.close()
            self.src = None
        self.unwatch_file()
        self.done = True

    def end(self):
        self.frame("Z")
        self.close()

    # --- starting -------------------------------------------------------------------
    def start(self):
        if self.resume_ident:
            opened = self.resume_history() if self.agent.history else None
            if opened is None:
                opened = self.resume()
        elif self.since is not None and self.agent.history:
            opened = self.start_history()
        elif self.since is not None:
            opened = self.open_file(since=self.since)
        else:
            opened = self.open_file(start_lines=self.lines if self.lines >= 0 else None)
        if not self.agent.follow:
            if not opened:
                self.end()
                return
            if self.limit is None and self.fd is not None and not self.in_history:
                self.limit = os.fstat(self.fd).st_size

    def open_file(self, start_lines=None, start_offset=None, since=None, notice=None, held=None):
        if held is not None:
            fd = held
        else:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except (OSError, IOError) as e:
                code = errno.errorcode.get(e.errno, "E%d" % e.errno)
                if code != self.error:
                    self.error = code
                    self.frame("E", code, text(e.strerror or code))
                return False
        st = os.fstat(fd)
        self.fd, self.ident = fd, ident_of(st)
        start = 0
        now = time.time()
        if start_offset is not None:
            start = start_offset
        elif since is not None:
            start = find_since(fd, st.st_size, since, now, self.agent.zone_offset)
            self.say_start(fd, st.st_size, now)
        elif start_lines is not None:
            start = backlog_start(fd, st.st_size, start_lines)
        if self.agent.until is not None:
            end = find_since(fd, st.st_size, self.agent.until, now, self.agent.zone_offset, start)
            if end < st.st_size:
                self.limit, self.until_hit = end, True
        os.lseek(fd, start, 0)
        self.offset = start
        if notice or self.error:
            self.frame("W", text(notice or "file appeared"))
        self.error = None
        self.gone = False
        self.gone_since = None
        self.frame("O", self.ident, start, st.st_size)
        self.watch_file()
        return True

    # --- history: the rotated predecessors, oldest first, then the followed file ------------
    def start_history(self):
        """With since: hold the followed file, list its history and open the first file of it
        that may hold lines at or after since. True when a file is open."""
        try:
            self.held = os.open(self.path, os.O_RDONLY)
            current = ident_of(os.fstat(self.held))
        except (OSError, IOError):
            current = None  # reported when the history is done and the name is opened
        files = history_files(self.path, current)
        # A rotated file was last written at its mtime (gzip and xz keep it): one older
        # than since has nothing at or after since, and is not even opened.
        self.queue = [(p, ident) for mtime, p, ident in files if mtime >= self.since]
        self.check_start = len(self.queue) == len(files)
        self.in_history = True
        return self.next_history()

    def resume_history(self):
        """Resume in a file of the history (a reconnect while it was read, or a rotation
        while disconnected): that file from the offset, the newer ones, then the name. None
        when the identity is the name's or not in the history; else whether a file is open."""
        try:
            held = os.open(self.path, os.O_RDONLY)
        except (OSError, IOError):
            held, current = None, None
        else:
            current = ident_of(os.fstat(held))
            if current == self.resume_ident:
                os.close(held)
                return None
        files = [(p, ident) for mtime, p, ident in history_files(self.path, current)]
        for i, (p, ident) in enumerate(files):
            if ident == self.resume_ident:
                break
        else:
            if held is not None:
                os.close(held)
            return None
        self.held, self.queue, self.in_history = held, files[i + 1:], True
        if self.open_history(p, ident, self.resume_offset):
            return True
        return self.next_history()

    def next_history(self):
        """Open the next history file that can be read, else hand over to the followed file.
        True when a file is open."""
        while self.queue:
            p, ident = self.queue.pop(0)
            if self.open_history(p, ident):
                return True
        self.in_history = False
        held, self.held = self.held, None
        if held is None:
            opened = self.open_file(since=self.since)
        else:
            opened = self.open_file(since=self.since, held=held)
        if opened and not self.agent.follow and self.limit is None:
            self.limit = os.fstat(self.fd).st_size
        return opened

    def open_history(self, path, ident, resume=None):
        """Open the history file listed as path with identity ident. Rotated since the
        listing (once or more), the name holds another file: the listed one is found by its
        identity, else (compressed meanwhile, or gone) it is said and skipped, never read
        under its old name, whose content may be a newer generation or the followed file."""
        try:
            fd = os.open(path, os.O_RDONLY)
            if ident_of(os.fstat(fd)) != ident:
                os.close(fd)
                fd = None
                moved = find_by_ident(os.path.dirname(path) or ".", ident)
                if moved is not None:
                    try:
                        fd = os.open(moved, os.O_RDONLY)
                    except (OSError, IOError):
                        pass
                    else:
                        if ident_of(os.fstat(fd)) == ident:
                            path = moved
                        else:
                            os.close(fd)
                            fd = None
                if fd is None:
                    self.frame("W", text("history file %s: rotated away while the history was read, and not found again; skipped" % path))
                    return False
        except (OSError, IOError) as e:
            fd = None
            if e.errno == errno.ENOENT:  # compressed since it was listed?
                for suffix in (".xz", ".gz"):
                    try:
                        fd = os.open(path + suffix, os.O_RDONLY)
                        path += suffix
                        break
                    except (OSError, IOError):
                        pass
            if fd is None:
                self.frame("W", text("history file %s: %s; skipped" % (path, e.strerror)))
                return False
        st = os.fstat(fd)
        if path.endswith(".gz") or path.endswith(".xz"):
            dec = self.decoder(fd, path)
            if dec is None:
                os.close(fd)
                return False
            since = self.since if resume is None else None
            self.src = Unpacked(dec, since, self.agent.until, st.st_mtime, self.agent.zone_offset, resume or 0)
            self.src_name, self.src_st = path, st
            self.fd, self.ident = None, ident_of(st)
            return True
        start = 0
        if resume is not None:
            start = min(resume, st.st_size)
        elif self.since is not None:
            # Yearless times (glog, syslog) are placed by the file's mtime, not by today.
            start = find_since(fd, st.st_size, self.since, st.st_mtime, self.agent.zone_offset)
            self.say_start(fd, st.st_size, st.st_mtime)
        self.limit = st.st_size
        if self.agent.until is not None:
            end = find_since(fd, st.st_size, self.agent.until, st.st_mtime, self.agent.zone_offset, start)
            if end < st.st_size:
                self.limit, self.until_hit = end, True
        os.lseek(fd, start, 0)
        self.fd, self.ident, self.offset = fd, ident_of(st), start
        self.history_frame(path, start, st.st_size)
        return True

    def history_frame(self, path, offset, size):
        self.agent.emit(("H %d %s %d %d " % (self.id, self.ident, offset, size)).encode() + fsbytes(path) + b"\n")

    def say_start(self, fd, size, ref):
        """Once per stream, when since is before the first line of the whole history."""
        if not self.check_start:
            return
        self.check_start = False
        found = first_stamped(fd, 0, size, size, ref, self.agent.zone_offset)
        if found is not None:
            self.say_history_starts(found[2])

    def say_history_starts(self, t):
        if t > self.since:
            self.frame("W", "history starts at " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))

    def decoder(self, fd, path):
        """A reader of the decompressed bytes of fd, or None (said once per agent)."""
        if path.endswith(".gz"):
            return Gunzip(fd)
        try:
            import lzma
            return Unxz(fd, lzma)
        except ImportError:  # Python 2.7, or a Python 3 built without liblzma
            pass
        xz = find_program("xz")
        if xz is not None:
            try:
                return XzChild(fd, xz)
            except (OSError, IOError):
                pass
        if not self.agent.said_xz:
            self.agent.said_xz = True
            self.frame("W", "history in .xz files needs Python 3 or xz on the CVM: skipping them (%s)" % text(path))
        return None

    def look_history(self, now):
        """A look while the history is read: a bounded amount of work, then the others'
        turn (a compressed file is skipped up to since a few MiB per look)."""
        if self.src is not None:
            src = self.src
            try:
                if not src.positioned:
                    if not src.position(SKIP_BUDGET):
                        self.next_look = now
                        return
                    if self.check_start:
                        self.check_start = False
                        if src.first is not None:
                            self.say_history_starts(src.first)
                    self.offset = src.pos
                    self.history_frame(self.src_name, src.pos, self.src_st.st_size)
                sent, eof = self.pump()
            except Exception as e:  # a corrupt or truncated file: what was read is sent
                if isinstance(e, (OSError, IOError)) and e.errno == errno.EPIPE:
                    raise  # stdout closed: the agent ends
                self.frame("W", text("history file %s: %s; skipped the rest" % (self.src_name, e)))
                sent, eof = False, True
            if not eof:
                self.next_look = NEVER if self.blocked else now
                return
            self.until_hit = self.until_hit or src.until_hit
            src.close()
            self.src = None
        else:
            sent, eof = self.pump()
            if not eof:
                self.next_look = NEVER if self.blocked else now
                return
            os.close(self.fd)
            self.fd, self.limit = None, None
        if self.until_hit:
            self.end()
            return
        if not self.next_history() and not self.agent.follow:
            self.end()  # the followed file is not there: E said so
            return
        self.next_look = now

    def resume(self):
        """Reopen where the client left off; True when a file is open."""
        try:
            st = os.stat(self.path)
        except (OSError, IOError):
            st = None
        if st is not None and ident_of(st) == self.resume_ident:
            if st.st_size >= self.resume_offset:
                return self.open_file(start_offset=self.resume_offset)
            if not self.open_file():
                return False
            self.frame("T", self.resume_offset, st.st_size)
            return True
        # The name points elsewhere: rotated while we were away. Finish the old file first.
        old = find_by_ident(self.dir, self.resume_ident)
        if old is not None:
            try:
                fd = os.open(old, os.O_RDONLY)
                ost = os.fstat(fd)
                if ident_of(ost) == self.resume_ident and ost.st_size >= self.resume_offset:
                    self.fd, self.ident = fd, self.resume_ident
                    os.lseek(fd, self.resume_offset, 0)
                    self.offset = self.resume_offset
                    self.frame("O", self.ident, self.offset, ost.st_size)
                    self.switch_to = "-"  # drained by the looks, then the name is opened
                    if not self.agent.follow:
                        self.limit = ost.st_size
                    return True
                os.close(fd)
            except (OSError, IOError):
                pass
        self.frame("W", "rotated while disconnected and the old file was not found: lines written to it after byte %d may be missing" % self.resume_offset)
        return self.open_file()

    # --- following ------------------------------------------------------------------
    def look(self, now):
        self.changed = False  # before reading: an event after this means another look
        self.last_look = now
        if self.in_history:
            self.look_history(now)
            return
        until = self.agent.until
        if until is not None and now >= until and not self.until_hit:
            # Following past until: what the file has before it, then the end.
            if self.fd is None:
                self.end()
                return
            size = os.fstat(self.fd).st_size
            self.limit = find_since(self.fd, size, until, now, self.agent.zone_offset, self.offset)
            self.until_hit = True
            os.lseek(self.fd, self.offset, 0)
        progressed = False
        if self.fd is None:
            progressed = self.open_file()
            if not progressed:
                self.schedule(now, False)
                return
        sent, eof = self.pump()
        progressed = progressed or sent
        if not eof:
            if self.blocked:
                self.next_look = NEVER  # until the client's credit comes
            else:
                self.next_look = now
            return
        if self.until_hit:
            self.end()  # the line at or after until is not sent
            return
        if self.switch_to is not None:
            self.switch()
            progressed = True
            if not self.agent.follow:
                if self.fd is None:
                    self.end()  # the name is gone: E said so
                else:
                    self.next_look = now
                return
        elif not self.agent.follow:
            self.end()  # the backlog is sent
            return
        elif not sent:
            progressed = self.check_file(now) or progressed
        self.schedule(now, progressed)

    def schedule(self, now, progressed):
        # With inotify on the name (and the file, when one is open), events bring the next
        # look (wake), and a look every WATCH_POLL catches what they might miss; polling, a
        # busy file is looked at every poll/4, a quiet one every poll. The times are on a
        # grid shared by every stream: busy files are looked at in the same loop, and their
        # frames leave in one write, one SSH packet, not one each.
        if progressed:
            self.busy_until = now + BUSY
        if self.dir_watched and (self.file_wd >= 0 or self.fd is None):
            self.next_look = tick(now, WATCH_POLL)
            if self.gone_since is not None and not self.gone:
                self.next_look = min(self.next_look, self.gone_since + GONE_GRACE)
        elif now < self.busy_until:
            self.next_look = tick(now, self.agent.poll / 4)
        else:
            self.next_look = tick(now, self.agent.poll)
        if self.agent.until is not None and not self.until_hit:
            self.next_look = min(self.next_look, self.agent.until)

    def pump(self):
        """Send what the open file has beyond our offset, as far as credit (and, without
        follow, the stream's end) allows. (sent anything, reached the end of the file)"""
        sent = False
        while True:
            if self.credit < self.chunk:
                self.blocked = True
                return sent, False
            n = min(self.chunk, self.credit)
            if self.limit is not None:
                n = min(n, self.limit - self.offset)
                if n <= 0:
                    return sent, True
            if self.src is not None:
                data = self.src.read(n)
                if not data:
                    return sent, True
            else:
                data = os.read(self.fd, n)
            k = len(data)
            if k:
                # The per-byte path of a busy log: one call, no formatting but the length.
                self.agent.emit2(self.dhead + str(k).encode() + b"\n", data)
                self.credit -= k
                self.offset += k
                sent = True
            if k < n and self.src is None:  # a short read of a regular file: its end, for now
                return sent, True

    def check_file(self, now):
        """At the end of the file: truncated, rotated, gone? True when something changed."""
        size = os.fstat(self.fd).st_size
        if size < self.offset:
            self.frame("T", self.offset, size)
            os.lseek(self.fd, 0, 0)
            self.offset = 0
            return True
        # With inotify the name is looked at when its directory says it changed (and every
        # WATCH_POLL in case an event went unnoticed); polling, at every look.
        if self.watched() and not self.name_changed and now - self.last_name_check < WATCH_POLL:
            return False
        self.name_changed = False
        self.last_name_check = now
        try:
            st = os.stat(self.path)
        except (OSError, IOError):
            st = None
        if st is None:
            # Rotation leaves the name missing for a moment (logrotate's rename then create,
            # glog's unlink then symlink), and inotify wakes us in that moment: only a name
            # still missing GONE_GRACE later is worth a notice.
            self.name_changed = True
            if self.gone_since is None:
                self.gone_since = now
            elif not self.gone and now - self.gone_since >= GONE_GRACE:
                self.gone = True
                self.frame("W", "file disappeared; following it when it comes back")
            return False
        self.gone = False
        self.gone_since = None
        if ident_of(st) != self.ident:
            # Rotated (renamed, or a glog symlink switched): drain the old file, then switch.
            self.switch_to = ident_of(st)
            sent, eof = self.pump()
            if eof:
                self.switch()
            return True
        return False

    def switch(self):
        self.frame("R", self.switch_to)
        self.switch_to = None
        os.close(self.fd)
        self.fd = None
        self.limit = None
        self.unwatch_file()
        if self.open_file() and not self.agent.follow:
            self.limit = os.fstat(self.fd).st_size

    # --- inotify --------------------------------------------------------------------
    def watched(self):
        return self.dir_watched

    def watch_name(self):
        w = self.agent.watch
        if w is not None:
            self.dir_watched = w.add_dir(self.dir, self)
            self.watch_file()

    def watch_file(self):
        w = self.agent.watch
        if w is not None:
            self.unwatch_file()
            self.file_wd = w.add_file(self.path, self)

    def unwatch_file(self):
        if self.file_wd >= 0 and self.agent.watch is not None:
            self.agent.watch.remove_file(self.file_wd, self)
        self.file_wd = -1


class Glob(object):
    """A glob stream (docs/agent-protocol.md, "Globs"): the names in one directory that
    match the path's last component, each followed as a Stream of its own and announced
    first with N and an id of the range the client gave. The directory is listed with
    os.listdir, never by a shell; the matches are its regular files (or symlinks to them)."""

    def __init__(self, agent, sid, path, window, lines, since, lo, nxt, hi):
        self.agent = agent
        self.id = sid
        self.path = path
        directory, pattern = os.path.split(path)
        self.dir = directory or "/"
        self.match = glob_matcher(fsbytes(pattern))
        self.dot = pattern.startswith(".")
        self.window = window
        self.lines = lines
        self.since = since
        self.lo, self.next_id, self.hi = lo, nxt, hi
        self.known = set()  # names (file system bytes) announced, in this session or before
        self.error = None  # the last error said (E), said again only when it changes
        self.said_full = False
        self.done = False
        self.blocked = False
        self.credit = self.chunk = 0
        self.changed = True
        self.name_changed = True
        self.dir_watched = False
        self.last_look = 0.0
        self.next_look = 0.0

    def frame(self, kind, *fields):
        self.agent.frame(kind, self.id, *fields)

    def start(self):
        self.expand(True)
        if not self.agent.follow:
            self.end()  # expanded once: its matches go on as streams of their own
        else:
            self.schedule(time.time(), False)

    def expand(self, first):
        try:
            names = os.listdir(fsbytes(self.dir))
        except (OSError, IOError) as e:
            code = errno.errorcode.get(e.errno, "E%d" % e.errno)
            if code != self.error:
                self.error = code
                self.frame("E", code, text(e.strerror or code))
            return
        found = []
        for name in names:
            if glob_name_ok(self.match, self.dot, name):
                found.append(name)
        found.sort()
        if not found and not self.known:
            if self.error != "ENOENT":
                self.error = "ENOENT"
                self.frame("E", "ENOENT", "no file matches")
            return
        self.error = None
        head = os.path.join(fsbytes(self.dir), b"")
        for name in found:
            if name in self.known:
                continue
            p = head + name
            try:
                st = os.stat(p)
            except (OSError, IOError):
                continue
            if st.st_mode & 0o170000 != 0o100000 or len(p) > 3000:  # a header holds it
                continue
            if self.next_id > self.hi:
                if not self.said_full:
                    self.said_full = True
                    n = self.hi - self.lo + 1
                    self.frame("W", "more than %d files match; following the first %d" % (n, n))
                return
            self.known.add(name)
            sid = self.next_id
            self.next_id += 1
            self.agent.emit(("N %d %d " % (sid, self.id)).encode() + p + b"\n")
            path = os.fsdecode(p) if hasattr(os, "fsdecode") else p
            # Matches of the first look start with the backlog; later ones appeared since:
            # from their start. A match an earlier run captured resumes where it stopped.
            resume = self.agent.globresume.get(self.id, {}).pop(p, None)
            if resume is not None:
                s = Stream(self.agent, sid, path, self.window, -1, None, resume[0], resume[1])
            else:
                s = Stream(self.agent, sid, path, self.window, self.lines if first else -1,
                           self.since if first else None, "", 0)
            self.agent.add(s)
            s.start()
            if self.agent.watch is not None and not s.done:
                s.watch_name()

    def unchanged(self, now):
        return self.dir_watched and not self.changed and now - self.last_look < WATCH_POLL

    def look(self, now):
        self.changed = False
        self.last_look = now
        if self.agent.until is not None and now >= self.agent.until:
            self.end()
            return
        self.expand(False)
        self.schedule(now, False)

    def schedule(self, now, progressed):
        # Listing a directory of thousands of logs is not for every poll: once a second,
        # or when inotify says a name of the directory changed.
        self.next_look = tick(now, WATCH_POLL)
        if self.agent.until is not None:
            self.next_look = min(self.next_look, self.agent.until)

    def wake(self, now, grid):
        if not self.done:
            self.next_look = min(self.next_look, now)

    def watch_name(self):
        w = self.agent.watch
        if w is not None:
            self.dir_watched = w.add_glob(self.dir, self)

    def close(self):
        self.done = True

    def end(self):
        self.frame("Z")
        self.close()


def glob_name_ok(match, dot, name):
    """Whether a directory entry is a match: a name starting with "." only for a pattern
    starting with "." (as in the shell), and never a name with a newline (a frame header
    could not carry it)."""
    return b"\n" not in name and (dot or name[:1] != b".") and match(name)


def glob_matcher(pattern):
    """The test of a glob's last component, over names as bytes: * any bytes, ? one byte,
    [abc] [a-z] [!abc] [^abc] one byte of (not of) the set, a [ without its ] is itself, no
    escapes; the pattern's own name matches too. tailer/glob.go's globMatch checks every
    match with the same rules.

    A CVM chooses its names, so no backtracking regular expression: one of "*a*a*a*b" tries
    every split of a long name of a's (hours of the CVM's CPU at ten stars). The parts
    between the stars each take a fixed number of bytes, so the first must start the name,
    the last end it, and the others are found leftmost, in order, in what is between:
    linear in the name for each part, whatever the pattern."""
    import re
    parts, cur, i, n = [], [], 0, len(pattern)
    while i < n:
        c = pattern[i:i + 1]
        i += 1
        if c == b"*":
            parts.append(cur)
            cur = []
        elif c == b"?":
            cur.append(b".")
        elif c == b"[":
            j = i
            neg = j < n and pattern[j:j + 1] in (b"!", b"^")
            if neg:
                j += 1
            start = j
            if j < n and pattern[j:j + 1] == b"]":
                j += 1
            while j < n and pattern[j:j + 1] != b"]":
                j += 1
            if j >= n:
                cur.append(re.escape(c))
                continue
            body, i = pattern[start:j], j + 1
            alts, k = [], 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1:k + 2] == b"-":
                    if body[k:k + 1] <= body[k + 2:k + 3]:
                        alts.append(re.escape(body[k:k + 1]) + b"-" + re.escape(body[k + 2:k + 3]))
                    k += 3
                else:
                    alts.append(re.escape(body[k:k + 1]))
                    k += 1
            if not alts:  # only empty ranges: no byte is in the set
                cur.append(b"." if neg else b"(?!)")
            else:
                cur.append(b"[" + (b"^" if neg else b"") + b"".join(alts) + b"]")
        else:
            cur.append(re.escape(c))
    parts.append(cur)
    # (regex, bytes it takes) of each part; no * inside, so no part backtracks.
    parts = [(re.compile(b"(?s)" + b"".join(p)), len(p)) for p in parts]
    first, last, middle = parts[0], parts[-1], [p for p in parts[1:-1] if p[1]]

    def match(name):
        # A name that is the pattern itself matches too, as a shell keeps a word that
        # matches nothing: a file really called "app[1].log" is still followed by its path.
        if name == pattern:
            return True
        if len(parts) == 1:
            return len(name) == first[1] and first[0].match(name) is not None
        end = len(name) - last[1]
        if end < first[1] or first[0].match(name) is None or last[0].match(name, end) is None:
            return False
        pos = first[1]
        for regex, _ in middle:
            m = regex.search(name, pos, end)
            if m is None:
                return False
            pos = m.end()
        return True
    return match


# inotify(7): the directories' names (a file created, renamed, deleted: rotation and glog's
# symlink switch) and the open files' changes (appended, truncated, renamed, deleted).
IN_MODIFY, IN_ATTRIB, IN_MOVED_FROM, IN_MOVED_TO = 0x2, 0x4, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_IGNORED = 0x8000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
EVENTS_READ = 16384  # bytes of events read at once
EVENT_MAX = 16 + 256  # the largest event: its header and a name of NAME_MAX bytes and a NUL
DIR_MASK = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE
FILE_MASK = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF


class Watch(object):
    """One inotify instance for every stream, through ctypes: a watch per directory (shared
    by the streams in it) and one per open file (shared by streams of the same file)."""

    @staticmethod
    def start():
        """A Watch, or None (no ctypes, no inotify, out of instances:
        fs.inotify.max_user_instances): the streams keep polling."""
        try:
            import ctypes, struct
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except Exception:
            return None
        if fd < 0:
            return None
        return Watch(libc, fd, struct)

    def __init__(self, libc, fd, struct):
        self.libc = libc
        self.fd = fd
        self.struct = struct
        self.dirs = {}  # directory -> wd
        self.dir_streams = {}  # wd -> {base name: [streams]}
        self.file_streams = {}  # wd -> [streams]
        self.dir_globs = {}  # wd -> [globs]: every name of the directory concerns them

    def add(self, path, mask):
        if hasattr(os, "fsencode"):  # Python 3: argv's str back to the name's bytes
            path = os.fsencode(path)
        return self.libc.inotify_add_watch(self.fd, path, mask)

    def add_dir(self, directory, stream):
        wd = self.dirs.get(directory)
        if wd is None:
            wd = self.add(directory, DIR_MASK)
            if wd < 0:
                return False
            self.dirs[directory] = wd
        base = stream.base
        if hasattr(os, "fsencode"):
            base = os.fsencode(base)
        self.dir_streams.setdefault(wd, {}).setdefault(base, []).append(stream)
        return True

    def add_glob(self, directory, glob):
        wd = self.dirs.get(directory)
        if wd is None:
            wd = self.add(directory, DIR_MASK)
            if wd < 0:
                return False
            self.dirs[directory] = wd
        self.dir_streams.setdefault(wd, {})
        self.dir_globs.setdefault(wd, []).append(glob)
        return True

    def add_file(self, path, stream):
        """Watch the file path names now (through a symlink: its target)."""
        wd = self.add(path, FILE_MASK)
        if wd >= 0:
            self.file_streams.setdefault(wd, []).append(stream)
        return wd

    def remove_file(self, wd, stream):
        ss = self.file_streams.get(wd)
        if ss is None:
            return
        if stream in ss:
            ss.remove(stream)
        if not ss:
            del self.file_streams[wd]
            if wd not in self.dir_streams:
                self.libc.inotify_rm_watch(self.fd, wd)

    def forget(self, wd):
        """The kernel dropped wd (its file is gone)."""
        self.file_streams.pop(wd, None)
        names = self.dir_streams.pop(wd, None)
        for g in self.dir_globs.pop(wd, []):
            g.dir_watched = False
        if names is not None:
            for d, w in list(self.dirs.items()):
                if w == wd:
                    del self.dirs[d]
            for ss in names.values():
                for s in ss:
                    s.dir_watched = False  # the directory is gone: poll

    def streams(self, wd, name):
        if name is not None:
            return self.dir_streams.get(wd, {}).get(name, []) + self.file_streams.get(wd, []) + self.dir_globs.get(wd, [])
        return self.file_streams.get(wd, [])

    def events(self, ready):
        """(wd, mask, name or None) of every event waiting; wd -1 when events were lost.
        ready: select said the descriptor is readable. Without that, a select that does not
        wait asks first: a read that finds nothing raises, and that costs more, at every
        look of a busy log."""
        out = []
        if not ready and not select.select([self.fd], [], [], 0)[0]:
            return out
        while True:
            try:
                buf = os.read(self.fd, EVENTS_READ)
            except (OSError, IOError):
                return out  # EAGAIN: nothing more
            if not buf:
                return out
            off = 0
            while off + 16 <= len(buf):
                wd, mask, _, n = self.struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + n].rstrip(b"\0") if n else None
                out.append((wd, mask, name))
                off += 16 + n
            if len(buf) <= EVENTS_READ - EVENT_MAX:
                return out  # the kernel gives all it has that fits: there was no more


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


def find_since(fd, size, since, ref, zone_offset, lo=0):
    """Offset of the first line stamped at or after since (size when there is none), reading
    a few blocks per halving instead of the file; lo is a line start to search from. Lines
    without a time belong to the record before them; records are taken to be in time order,
    as a log file's are."""
    hi, ans = size, size
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


# --- history: the file's rotated predecessors (docs/agent-protocol.md, "History") ---------
SKIP_BUDGET = 4 << 20  # decompressed bytes one look may skip before the other streams' turn
BLOCK = 256 * 1024  # decompressed bytes read at a time
XZ_MEMLIMIT = 128 << 20  # what xz may take to decompress (xz -9 needs 65 MiB)


def fsbytes(name):
    """A name as the file system has it (Python 3's str from argv or listdir to bytes)."""
    if hasattr(os, "fsencode"):
        return os.fsencode(name)
    return name


def history_files(path, current):
    """[(mtime, path, identity)] of the rotated generations of path in its directory, oldest first,
    leaving out the file whose identity is current. The schemes: genesis.out.20261201-101500
    (and Z), messages-20261201, messages.1, each maybe .gz or .xz; behind a glog symlink
    (stargate.INFO -> stargate.ntnx-X-cvm.nutanix.log.INFO.20261201-101500.3103) the other
    files of the same service and level."""
    import re
    directory, base = os.path.split(path)
    directory = directory or "."
    # (directory, pattern, latest): latest, when set, is the newest glog start stamp taken.
    looks = [(directory, re.compile(re.escape(base) + r"(?:\.\d{8}-\d{6}Z?|\.\d{1,3}|-\d{8}(?:\d{2})?)(?:\.gz|\.xz)?$"), None)]
    glog = re.compile(r"(.+\.(?:INFO|WARNING|ERROR|FATAL))\.(\d{8}-\d{6})\.\d+$")
    try:
        target = os.path.join(directory, os.readlink(path))
    except (OSError, IOError):
        target = None
    if target is not None:
        m = glog.match(os.path.basename(target))
        if m:
            looks.append((os.path.dirname(target), re.compile(re.escape(m.group(1)) + r"\.(\d{8}-\d{6})\.\d+(?:\.gz|\.xz)?$"), None))
    else:
        # One glog file followed by its full name: the files of the same service and level
        # that started before it; the later ones are its successors, not its history.
        m = glog.match(base)
        if m:
            looks.append((directory, re.compile(re.escape(m.group(1)) + r"\.(\d{8}-\d{6})\.\d+(?:\.gz|\.xz)?$"), m.group(2)))
    found, seen = [], set([current])
    for d, pattern, latest in looks:
        try:
            names = os.listdir(d)
        except (OSError, IOError):
            continue
        present = set(names)
        for name in names:
            # A name with a newline could not travel in a frame header; a compressed copy
            # next to its plain original is being written (xz, gzip): the original is whole.
            if "\n" in name or name[-3:] in (".gz", ".xz") and name[:-3] in present:
                continue
            m = pattern.match(name)
            if m is None or latest is not None and m.group(1) > latest:
                continue
            p = os.path.join(d, name)
            try:
                st = os.stat(p)
            except (OSError, IOError):
                continue
            ident = ident_of(st)
            if st.st_mode & 0o170000 != 0o100000 or ident in seen:
                continue
            seen.add(ident)
            found.append((st.st_mtime, name, p, ident))
    found.sort()
    return [(mtime, p, ident) for mtime, name, p, ident in found]


def find_program(name):
    """An executable by name, on PATH or where CVMs keep it: it is run with an argv list and
    the file on its stdin, never through a shell, never with a name from the CVM."""
    dirs = os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin", "/bin"]
    for d in dirs:
        p = os.path.join(d or ".", name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


class Gunzip(object):
    """gzip members, decompressed n bytes at a time: a small input block, a bounded output."""

    def __init__(self, fd):
        import zlib
        self.zlib = zlib
        self.fd = fd
        self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.pending = b""  # input not yet decompressed
        self.started = False  # the current member has had input
        self.flushed = False

    def read(self, n):
        while True:
            data, self.pending = self.pending, b""
            if not data:
                data = os.read(self.fd, 65536)
                if not data:
                    if self.flushed:
                        return b""
                    self.flushed = True
                    out = self.d.flush()
                    if not out and self.started and getattr(self.d, "eof", True) is False:
                        raise ValueError("unexpected end of the compressed data")
                    return out
            self.started = True
            out = self.d.decompress(data, n)
            self.pending = self.d.unconsumed_tail
            if self.d.unused_data:  # the next member, or padding
                rest = self.d.unused_data
                self.d = self.zlib.decompressobj(16 + self.zlib.MAX_WBITS)
                self.started = False
                self.pending = rest if rest.strip(b"\0") else b""
            if out:
                return out

    def close(self):
        os.close(self.fd)


class Unxz(object):
    """xz streams through the lzma module (Python 3.3+), n bytes at a time."""

    def __init__(self, fd, lzma):
        self.lzma = lzma
        self.fd = fd
        self.d = lzma.LZMADecompressor(memlimit=XZ_MEMLIMIT)
        self.pending = b""

    def read(self, n):
        while True:
            if self.d.eof:
                rest = self.d.unused_data or os.read(self.fd, 65536)
                if not rest.strip(b"\0"):
                    return b""
                self.d = self.lzma.LZMADecompressor(memlimit=XZ_MEMLIMIT)
                self.pending = rest
                continue
            data = b""
            if self.d.needs_input:
                data, self.pending = self.pending or os.read(self.fd, 65536), b""
                if not data:
                    raise ValueError("unexpected end of the compressed data")
            out = self.d.decompress(data, n)
            if out:
                return out

    def close(self):
        os.close(self.fd)


class XzChild(object):
    """xz -dc as a child of the agent (Python 2.7 has no lzma), the file on its stdin."""

    def __init__(self, fd, xz):
        import subprocess
        self.fd = fd
        self.p = subprocess.Popen([xz, "-dc", "--memlimit-decompress=%d" % XZ_MEMLIMIT], stdin=fd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)

    def read(self, n):
        data = os.read(self.p.stdout.fileno(), n)
        if data:
            return data
        if self.p.wait() != 0:
            raise ValueError(text(self.p.stderr.read(MAX_TEXT).decode("utf-8", "replace")) or "xz failed")
        return b""

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()
        os.close(self.fd)


class Unpacked(object):
    """A compressed history file read as its lines are needed: first skipped up to since (or
    a resume offset), then read up to its first line at or after until. It holds a block and
    the line being cut, never the file."""

    def __init__(self, dec, since, until, ref, zone_offset, skip):
        self.dec = dec
        self.since, self.until, self.ref, self.zone_offset = since, until, ref, zone_offset
        self.skip = skip  # resume: the decompressed offset to start at
        self.buf = b""
        self.pos = 0  # decompressed offset of buf[0]
        self.eof = False
        self.positioned = False
        self.first = None  # time of the first stamped line seen while skipping
        self.checked = 0  # bytes of buf that may be sent (checked against until)
        self.at_start = True  # buf[checked] starts a line
        self.until_hit = False

    def close(self):
        self.dec.close()

    def fill(self):
        data = self.dec.read(BLOCK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def drop(self, k):
        self.buf = self.buf[k:]
        self.pos += k

    def stamp(self, line):
        return stamp(line[:4096], self.ref, self.zone_offset)

    def position(self, budget):
        """Skip towards the start, at most budget bytes; True once there."""
        while budget > 0:
            if self.skip:
                if self.pos + len(self.buf) >= self.skip:
                    self.drop(self.skip - self.pos)
                    self.positioned = True
                    return True
                self.drop(len(self.buf))
                budget -= BLOCK
                if not self.fill():
                    self.positioned = True
                    return True
                continue
            if self.since is None:
                self.positioned = True
                return True
            budget -= BLOCK
            if not self.fill():
                if self.buf:  # a last line without newline
                    t = self.stamp(self.buf)
                    if self.first is None:
                        self.first = t
                    if t is None or t < self.since:
                        self.drop(len(self.buf))
                self.positioned = True
                return True
            end = self.buf.rfind(b"\n")
            if end < 0:
                if len(self.buf) > SCAN_LIMIT:  # a long line of no known time: skipped
                    self.drop(len(self.buf))
                    self.at_start = False
                continue
            first = 0 if self.at_start else self.buf.find(b"\n") + 1  # the first line start
            if self.first is None:
                self.first = self.first_time(first, end)
            last = self.last_time(first, end)
            if last is None or last >= self.since:
                # The first line at or after since is in this block (times are in order).
                at = self.first_at_or_after(first, end)
                if at is not None:
                    self.drop(at)
                    self.at_start = True
                    self.positioned = True
                    return True
            self.drop(end + 1)
            self.at_start = True
        return False

    def lines(self, first, end):
        """(start, line) of the whole lines of buf from first to the newline at end."""
        pos = first
        while pos <= end:
            nl = self.buf.find(b"\n", pos, end + 1)
            yield pos, self.buf[pos:nl]
            pos = nl + 1

    def first_time(self, first, end):
        for _, line in self.lines(first, end):
            t = self.stamp(line)
            if t is not None:
                return t
        return None

    def last_time(self, first, end):
        e = end
        while e >= first:
            s = max(self.buf.rfind(b"\n", first, e) + 1, first)
            t = self.stamp(self.buf[s:e])
            if t is not None:
                return t
            e = s - 1
        return None

    def first_at_or_after(self, first, end):
        for start, line in self.lines(first, end):
            t = self.stamp(line)
            if t is not None and t >= self.since:
                return start
        return None

    def read(self, n):
        """Up to n bytes at pos; b"" when the file, or its part before until, is done."""
        while self.checked == 0:
            if not self.buf and (self.eof or not self.fill()):
                return b""
            if self.until is None:
                self.checked = len(self.buf)
            else:
                self.check()
        k = min(n, self.checked)
        out = self.buf[:k]
        self.drop(k)
        self.checked -= k
        return out

    def check(self):
        """Move checked over the lines of buf stamped before until (reading more when a
        line's start is too short to tell); at the first one at or after it, the file ends."""
        buf = self.buf
        while self.checked < len(buf) and self.checked < BLOCK:
            nl = buf.find(b"\n", self.checked)
            if self.at_start:
                if nl < 0 and len(buf) - self.checked < 256 and not self.eof:
                    if self.checked == 0 and self.fill():
                        buf = self.buf
                        continue
                    return
                t = self.stamp(buf[self.checked:nl if nl >= 0 else len(buf)])
                if t is not None and t >= self.until:
                    self.buf = buf[:self.checked]
                    self.eof = self.until_hit = True
                    return
            if nl < 0:
                self.checked, self.at_start = len(buf), False
                return
            self.checked, self.at_start = nl + 1, True


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
