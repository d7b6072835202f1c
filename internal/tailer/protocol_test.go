package tailer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// linesSink records lines per stream and checks that every chunk is whole lines.
type linesSink struct {
	mu    sync.Mutex
	lines map[string][]string
	bad   []string
}

func (r *linesSink) Lines(info *StreamInfo, data []byte, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(data) == 0 || data[len(data)-1] != '\n' {
		r.bad = append(r.bad, fmt.Sprintf("%s: chunk without final newline: %.40q", info.Log, data))
	}
	if r.lines == nil {
		r.lines = map[string][]string{}
	}
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l != "" {
			r.lines[info.Log] = append(r.lines[info.Log], strings.TrimSuffix(l, "\n"))
		}
	}
	return nil
}

func (r *linesSink) get(log string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines[log], ",")
}

// transcript is an agent's output after its greeting, for streams 1 and 2.
func transcript(parts ...string) string { return strings.Join(parts, "") }

func data(id int, s string) string { return fmt.Sprintf("D %d %d\n%s", id, len(s), s) }

// TestFrameReaderTranscripts feeds crafted agent output to the client and checks what each
// protocol breach costs: the stream alone, or that CVM's agent, never the process.
func TestFrameReaderTranscripts(t *testing.T) {
	open1, open2 := "O 1 64768:11 0 100\n", "O 2 64768:22 0 100\n"
	const huge = "99999999999999999999999"
	tests := []struct {
		name    string
		follow  bool
		in      string
		end     sessionEnd
		f1, f2  string // lines of f1 and f2
		events  []string
		noEvent bool
	}{
		{name: "every frame type", follow: true,
			in: transcript(open1, data(1, "a1\na2\npart"), "W 1 file appeared\n", data(1, "ial\n"), "T 1 100 0\n",
				data(1, "t1\nno newline"), "R 1 64768:12\n", "O 1 64768:12 0 3\n", data(1, "n1\n"), "R 1 -\n",
				"E 1 ENOENT No such file or directory\n", "O 1 64768:13 0 0\n", data(1, "m1\n"),
				open2, data(2, "b1\n"), "Z 1\n", "Z 2\n"),
			end: endDone, f1: "a1,a2,partial,t1,no newline,n1,m1", f2: "b1",
			events: []string{"f1: file appeared", "f1: file truncated", "f1: rotated", "f1: /f1: no such file (waiting for it to appear)"}},
		{name: "without follow an error fails the stream alone",
			in:  transcript("E 1 EACCES Permission denied\n", "Z 1\n", open2, data(2, "b1\n"), "Z 2\n"),
			end: endDone, f2: "b1", events: []string{"failed cvm: f1: /f1: permission denied"}},
		{name: "truncated header is a lost connection", in: transcript(open1, data(1, "a1\n"), "D 1"),
			end: endLost, f1: "a1", noEvent: true},
		{name: "truncated payload is a lost connection", in: transcript(open1, "D 1 10\nabc"),
			end: endLost, noEvent: true},
		{name: "oversized header fails the agent", in: transcript(open1, "W 1 "+strings.Repeat("x", 5000)+"\n"),
			end: endFailed, events: []string{"frame header longer than 4096 bytes"}},
		{name: "absurd length fails the stream and restarts the rest",
			in:  transcript(open1, open2, data(2, "b1\n"), "D 1 "+huge+"\n", "garbage"),
			end: endRestart, f2: "b1", events: []string{"failed cvm: f1: agent protocol: data frame length"}},
		{name: "credit violation fails the stream alone, the session goes on",
			in:  transcript(open1, open2, "D 1 300000\n"+strings.Repeat("x", 300000), data(2, "b1\n"), "Z 2\n", "Z 1\n"),
			end: endDone, f2: "b1", events: []string{"failed cvm: f1: agent protocol: data frame of 300000 bytes with only 262144 bytes of credit"}},
		{name: "data before open", in: transcript(data(1, "x\n"), open2, data(2, "b1\n"), "Z 2\n"),
			end: endDone, f2: "b1", events: []string{"f1: agent protocol: data before the file was opened"}},
		{name: "unknown type fails the stream", in: transcript(open1, open2, "X 1 whatever\n", data(2, "b1\n")),
			end: endRestart, events: []string{"f1: agent protocol: unknown frame type \"X\""}},
		{name: "a new stream of a stream not asked for fails the agent", in: transcript(open1, "N 3 7 /x\n"),
			end: endFailed, events: []string{"failed cvm: agent protocol: new stream of stream 7, which was not asked for"}},
		{name: "a new stream of a stream that is no glob", in: transcript(open1, "N 3 1 /f1\n"),
			end: endRestart, events: []string{"f1: agent protocol: new stream 3 of a stream that is no glob"}},
		{name: "unknown stream id fails the agent", in: transcript(open1, data(1, "a1\n"), "D 9 3\nabc"),
			end: endFailed, f1: "a1", events: []string{"failed cvm: agent protocol: frame for stream 9, which was not asked for"}},
		{name: "stream id with a leading zero", in: transcript("O 01 1:2 0 0\n"),
			end: endFailed, events: []string{"agent protocol: bad stream id"}},
		{name: "header without id", in: transcript("Z\n"), end: endFailed, events: []string{"agent protocol: malformed frame header"}},
		{name: "bad ident", in: transcript("O 1 12:ab 0 0\n", open2, data(2, "b1\n"), "Z 2\n"),
			end: endDone, f2: "b1", events: []string{"f1: agent protocol: malformed open frame"}},
		{name: "ident that could be a shell word", in: transcript("O 1 1:2;reboot 0 0\n"),
			end: endLost, events: []string{"f1: agent protocol: malformed open frame"}},
		{name: "negative offset", in: transcript("O 1 1:2 -5 0\n"), end: endLost, events: []string{"malformed open frame"}},
		{name: "offset beyond 2^62", in: transcript("O 1 1:2 4611686018427387904 0\n"), end: endLost, events: []string{"malformed open frame"}},
		{name: "truncation with one field", in: transcript(open1, "T 1 5\n"), end: endLost, events: []string{"malformed truncation frame"}},
		{name: "rotation to a bad ident", in: transcript(open1, "R 1 x\n"), end: endLost, events: []string{"malformed rotation frame"}},
		{name: "notice too long", in: transcript(open1, "W 1 "+strings.Repeat("y", 1025)+"\n"), end: endLost,
			events: []string{"notice frame without text or with more than 1024 bytes"}},
		{name: "error code in lower case", in: transcript("E 1 enoent x\n"), end: endLost, events: []string{"malformed error frame"}},
		{name: "end with fields", in: transcript("Z 1 2\n"), end: endLost, events: []string{"malformed end frame"}},
		{name: "negative length", in: transcript(open1, "D 1 -1\n"), end: endRestart, events: []string{"data frame length"}},
		{name: "history files, then the followed file",
			in: transcript("H 1 64768:5 10 300 /logs/f1.20261201-010000 with space.gz\n", data(1, "h1\nno newline"),
				"H 1 64768:6 0 40 /logs/f1.1\n", data(1, "h2\n"), open1, data(1, "a1\n"), "Z 1\n", open2, "Z 2\n"),
			end: endDone, f1: "h1,no newline,h2,a1", noEvent: true},
		{name: "history without a path", in: transcript("H 1 64768:5 0 300\n"), end: endLost, events: []string{"malformed history frame"}},
		{name: "history with a bad ident", in: transcript("H 1 1:2;x 0 300 /a\n"), end: endLost, events: []string{"malformed history frame"}},
		{name: "history with a relative path", in: transcript("H 1 1:2 0 300 logs/f1.1\n"), end: endLost, events: []string{"not an absolute path"}},
		{name: "history path with a NUL", in: transcript("H 1 1:2 0 300 /logs/f1\x00.1\n"), end: endLost, events: []string{"not an absolute path"}},
		{name: "history with an empty path", in: transcript("H 1 1:2 0 300 \n"), end: endLost, events: []string{"malformed history frame"}},
		{name: "history path beyond the header bound", in: transcript("H 1 1:2 0 300 /" + strings.Repeat("p", 5000) + "\n"),
			end: endFailed, events: []string{"frame header longer than 4096 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &linesSink{}
			var mu sync.Mutex
			var events []string
			cfg := Config{Targets: []Target{{}}, Files: []File{{}, {}}, Follow: tc.follow, Window: 256 << 10}
			cfg.Events = func(ev Event) {
				mu.Lock()
				defer mu.Unlock()
				kind := ""
				if ev.Kind == EventFailed {
					kind = "failed "
				}
				where := ev.CVM
				if ev.Log != "" {
					where += ": " + ev.Log
				}
				events = append(events, kind+where+": "+ev.Err.Error())
			}
			g, live := testGroup(&cfg, sink, 2)
			credits := &bytes.Buffer{}
			ch := &channel{stdin: nopCloser{credits}, stop: func() {}}
			end, wait, err := g.demux(bufio.NewReader(strings.NewReader(tc.in)), ch, live)
			wait()
			if end == endFailed { // as agentGroup.run does
				g.cvm.fail(g.cvm.live(live), err)
			}
			if end != tc.end {
				t.Errorf("session end %v, want %v", end, tc.end)
			}
			if got := sink.get("f1"); got != tc.f1 {
				t.Errorf("f1 lines %q, want %q", got, tc.f1)
			}
			if got := sink.get("f2"); got != tc.f2 {
				t.Errorf("f2 lines %q, want %q", got, tc.f2)
			}
			all := strings.Join(events, "\n")
			for _, w := range tc.events {
				if !strings.Contains(all, w) {
					t.Errorf("events lack %q:\n%s", w, all)
				}
			}
			if tc.noEvent && all != "" {
				t.Errorf("events %s, want none", all)
			}
			if n := strings.Count(all, "failed "); n > 1 {
				t.Errorf("%d failures reported, want at most one:\n%s", n, all)
			}
			if len(sink.bad) > 0 {
				t.Errorf("bad chunks: %v", sink.bad)
			}
		})
	}
}

// TestFrameReaderGlobTranscripts: stream 1 is the glob /logs/svc*.log, whose matches may
// take ids 3 to 5; stream 2 a file. Every N frame is checked before a stream exists for it:
// a bad one fails the glob (and the session starts again for the others), never the run.
func TestFrameReaderGlobTranscripts(t *testing.T) {
	open2 := "O 2 64768:22 0 100\n"
	tests := []struct {
		name   string
		in     string
		end    sessionEnd
		lines  map[string]string // by log: the matches are named by their base names
		events []string
	}{
		{name: "two matches, each a stream of its own",
			in: transcript("N 3 1 /logs/svc.a.log\n", "O 3 1:3 0 3\n", data(3, "a1\n"), "N 4 1 /logs/svc b;$(x).log\n",
				"O 4 1:4 0 3\n", data(4, "b1\n"), "Z 1\n", data(3, "a2\n"), "Z 3\n", "Z 4\n", open2, data(2, "f\n"), "Z 2\n"),
			end: endDone, lines: map[string]string{"svc.a.log": "a1,a2", "svc b;$(x).log": "b1", "f2": "f"}},
		{name: "an id beyond the glob's range", in: transcript("N 6 1 /logs/svc.a.log\n"),
			end: endRestart, events: []string{"failed svc*.log: agent protocol: new stream id 6 is not one of the glob's free ids 3-5"}},
		{name: "an id of the request's files", in: transcript("N 2 1 /logs/svc.a.log\n"),
			end: endRestart, events: []string{"new stream id 2 is not one of the glob's free ids 3-5"}},
		{name: "an id used already", in: transcript("N 3 1 /logs/svc.a.log\n", "N 3 1 /logs/svc.b.log\n"),
			end: endRestart, events: []string{"new stream id 3 is not one of the glob's free ids 4-5"}},
		{name: "a path announced already", in: transcript("N 3 1 /logs/svc.a.log\n", "N 4 1 /logs/svc.a.log\n"),
			end: endRestart, events: []string{"names \"/logs/svc.a.log\", announced already"}},
		{name: "a path outside the directory", in: transcript("N 3 1 /etc/svc.a.log\n"),
			end: endRestart, events: []string{"names \"/etc/svc.a.log\", which is not a name in /logs matching \"svc*.log\""}},
		{name: "a path that climbs out of the directory", in: transcript("N 3 1 /logs/../svc.a.log\n"),
			end: endRestart, events: []string{"which is not a name in /logs"}},
		{name: "a path below the directory", in: transcript("N 3 1 /logs/sub/svc.a.log\n"),
			end: endRestart, events: []string{"which is not a name in /logs"}},
		{name: "a doubled slash is the same directory", in: transcript("N 3 1 /logs//svc.a.log\n", "Z 1\n", "Z 3\n", open2, "Z 2\n"),
			end: endDone},
		{name: "a name that does not match", in: transcript("N 3 1 /logs/other.log\n"),
			end: endRestart, events: []string{"which is not a name in /logs matching"}},
		{name: "a hidden name the pattern does not start with a dot for", in: transcript("N 3 1 /logs/.svc.log\n"),
			end: endRestart, events: []string{"which is not a name in /logs matching"}},
		{name: "a relative path", in: transcript("N 3 1 logs/svc.a.log\n"),
			end: endRestart, events: []string{"not an absolute path"}},
		{name: "a path with a NUL", in: transcript("N 3 1 /logs/svc\x00.log\n"),
			end: endRestart, events: []string{"not an absolute path"}},
		{name: "no path", in: transcript("N 3 1\n"), end: endFailed, events: []string{"malformed new stream frame"}},
		{name: "frames of an id the reader refused", in: transcript("N 6 1 /logs/svc.a.log\n", "O 6 1:3 0 0\n"),
			end: endRestart, events: []string{"new stream id 6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &linesSink{}
			var mu sync.Mutex
			var events []string
			cfg := Config{Targets: []Target{{}}, Files: []File{{}, {}}, Window: 256 << 10}
			cfg.Events = func(ev Event) {
				mu.Lock()
				defer mu.Unlock()
				kind := ""
				if ev.Kind == EventFailed {
					kind = "failed "
				}
				events = append(events, kind+ev.Log+": "+ev.Err.Error())
			}
			g, live := testGroup(&cfg, sink, 2)
			glob := live[0]
			glob.file = File{Name: "svc*.log", Path: "/logs/svc*.log", Glob: true, Optional: true}
			glob.info.Log, glob.info.Path = glob.file.Name, glob.file.Path
			glob.globFirst, glob.globNext, glob.globLast, glob.globPaths = 3, 3, 5, map[string]bool{}
			ch := &channel{stdin: nopCloser{&bytes.Buffer{}}, stop: func() {}}
			end, wait, err := g.demux(bufio.NewReader(strings.NewReader(tc.in)), ch, live)
			wait()
			if end == endFailed { // as agentGroup.run does
				g.cvm.fail(g.cvm.live(live), err)
			}
			if end != tc.end {
				t.Errorf("session end %v, want %v", end, tc.end)
			}
			for log, want := range tc.lines {
				if got := sink.get(log); got != want {
					t.Errorf("%s lines %q, want %q", log, got, want)
				}
			}
			all := strings.Join(events, "\n")
			for _, w := range tc.events {
				if !strings.Contains(all, w) {
					t.Errorf("events lack %q:\n%s", w, all)
				}
			}
			if tc.events == nil && all != "" {
				t.Errorf("events %s, want none", all)
			}
			if len(sink.bad) > 0 {
				t.Errorf("bad chunks: %v", sink.bad)
			}
		})
	}
}

// After a session that expanded a glob, the next request gives its matches as streams that
// resume where they stopped, the ended ones as done, and the ids from the first not used:
// the agent announces only what matches anew.
func TestGlobRequestAfterASession(t *testing.T) {
	cfg := Config{Targets: []Target{{}}, Files: []File{{}}, Follow: true, Window: 64 << 10, Lines: 10}
	g, live := testGroup(&cfg, &linesSink{}, 1)
	glob := live[0]
	glob.file = File{Name: "svc*", Path: "/logs/svc*", Glob: true, Optional: true}
	glob.globFirst, glob.globNext, glob.globLast, glob.globPaths = 2, 2, 129, map[string]bool{}
	in := transcript("N 2 1 /logs/svc.a\n", "O 2 1:2 0 3\n", data(2, "a1\n"), "N 3 1 /logs/svc.b\n", "O 3 1:3 0 0\n", "Z 3\n")
	ch := &channel{stdin: nopCloser{&bytes.Buffer{}}, stop: func() {}}
	end, wait, _ := g.demux(bufio.NewReader(strings.NewReader(in)), ch, live)
	wait()
	if end != endLost {
		t.Fatalf("session end %v, want lost", end)
	}
	args := g.request(g.cvm.live(g.streams)).args()
	for _, want := range []string{"glob=1:2:4:129", "'globdone=1:/logs/svc.b'", " 1 '/logs/svc*' 65536 -1 '' '' 0",
		" 2 '/logs/svc.a' 65536 -1 '' '1:2' 3"} {
		if !strings.Contains(args, want) {
			t.Errorf("request %s\nlacks %q", args, want)
		}
	}
	if strings.Contains(args, " 3 '/logs/svc.b' ") {
		t.Errorf("request %s asks again for the match that ended", args)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestGreeting(t *testing.T) {
	for _, tc := range []struct {
		in, version, rest string
		agentErr          bool
	}{
		{in: "\x00CVMTAIL2\n", version: "2"},
		{in: "Welcome to the CVM\r\nlast login\n\x00CVMTAIL2\n", version: "2"},
		{in: "\x00CVMTAIL0 64768:12\n", version: "0", rest: "64768:12"},
		{in: "\x00CVMTAIL1\n", version: "1"},
		{in: strings.Repeat("motd line\n", 10000), agentErr: true},
		{in: "\x00CVMTAIL" + strings.Repeat("9", 20) + "\n", agentErr: true},
	} {
		v, rest, err := readGreeting(bufio.NewReaderSize(strings.NewReader(tc.in), 4096))
		var ape *agentProtocolError
		if tc.agentErr != errors.As(err, &ape) || v != tc.version || rest != tc.rest {
			t.Errorf("%.30q: version %q rest %q err %v", tc.in, v, rest, err)
		}
	}
}

func TestValidIdent(t *testing.T) {
	for s, ok := range map[string]bool{
		"64768:12": true, "0:0": true, "18446744073709551615:1": true,
		"18446744073709551616:1": false, "1:2:3": false, ":1": false, "1:": false, "": false,
		"1:2 ": false, "-1:2": false, "1:2;rm": false, "１:2": false,
	} {
		if ValidIdent(s) != ok {
			t.Errorf("ValidIdent(%q) = %v", s, !ok)
		}
	}
}

// FuzzFrameReader feeds arbitrary agent output to the frame reader and the line cutting
// behind it: nothing may panic, allocate beyond the bounds or let an invalid number or
// identity through, and every chunk handed to the sink is whole lines.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("O 1 64768:11 0 100\nD 1 3\na1\nZ 1\n"))
	f.Add([]byte("O 2 1:2 0 0\nD 2 5\nab\ncdT 2 5 0\nR 2 -\nW 2 hello\nE 2 ENOENT gone\n"))
	f.Add([]byte("D 1 99999999999999999999\n"))
	f.Add([]byte("O 3 1:1 0 0\nD 3 70000\n" + strings.Repeat("z", 70000)))
	f.Add([]byte("H 1 1:1 0 9 /a b.gz\nD 1 3\nh1\nO 1 1:2 0 0\nZ 1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := Config{Targets: []Target{{}}, Files: []File{{}, {}, {}}, Follow: true, Window: 64 << 10}
		sink := &linesSink{}
		_, streams := testGroup(&cfg, sink, 3)
		wires := map[int]*wireStream{}
		for _, s := range streams {
			s.framed = true
			w := &wireStream{}
			w.credit.Store(64 << 10)
			wires[s.id] = w
		}
		fr := newFrameReader(bufio.NewReaderSize(bytes.NewReader(in), 4096), wires)
		for {
			credit := map[int]int64{}
			for id, w := range wires {
				credit[id] = w.credit.Load()
			}
			fm, err := fr.next()
			var spe *streamProtocolError
			if errors.As(err, &spe) && !spe.framingLost {
				continue
			}
			if err != nil {
				break
			}
			s := streams[fm.id-1]
			if fm.offset < 0 || fm.offset > maxNumber || fm.size < 0 || fm.size > maxNumber {
				t.Fatalf("number out of bounds: %+v", fm)
			}
			if fm.ident != "" && !validIdent(fm.ident) {
				t.Fatalf("bad ident passed: %q", fm.ident)
			}
			if fm.kind != frameData {
				if _, err := s.control(fm); err != nil {
					var ff *fileFailure
					if !errors.As(err, &ff) {
						t.Fatal(err)
					}
				}
				continue
			}
			if int64(fm.n) > credit[fm.id] {
				t.Fatalf("D of %d bytes passed with %d of credit", fm.n, credit[fm.id])
			}
			buf := make([]byte, fm.n)
			if fr.readPayload(buf) != nil {
				break
			}
			if err := s.data(buf); err != nil {
				t.Fatal(err)
			}
			wires[fm.id].credit.Add(int64(fm.n)) // the client gives it back
		}
		if len(sink.bad) > 0 {
			t.Fatalf("bad chunks: %v", sink.bad)
		}
	})
}

// testGroup is one CVM's agent group of n streams over sink, outside any connection.
func testGroup(cfg *Config, sink Sink, n int) (*agentGroup, []*stream) {
	cfg.defaults()
	run := &runState{cancel: func() {}}
	t := Target{Name: "cvm", Address: "cvm"}
	c := &cvmRun{run: run, cfg: cfg, target: t, pool: newPool(t, nil, cfg)}
	budget := newLineBudget(LineBudget)
	for i := 1; i <= n; i++ {
		s := &stream{cfg: cfg, cvm: c, id: i, sink: sink, file: File{Name: fmt.Sprint("f", i), Path: fmt.Sprint("/f", i)}}
		s.info = StreamInfo{CVM: "cvm", Address: "cvm", Log: s.file.Name, Path: s.file.Path}
		s.lb.budget = budget
		c.streams = append(c.streams, s)
	}
	return &agentGroup{cvm: c, streams: c.streams}, c.streams
}
