package tailer

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

type countSink struct{ lines int }

func (c *countSink) Lines(_ *StreamInfo, data []byte, _ time.Time) error {
	c.lines += bytes.Count(data, []byte{'\n'})
	return nil
}

// agentOutput is what the agent sends for a backlog of size bytes of 150-byte lines, in
// chunks of chunk bytes (frames cut lines anywhere, as the agent does).
func agentOutput(size, chunk int) ([]byte, int) {
	var file bytes.Buffer
	lines := 0
	for file.Len() < size {
		fmt.Fprintf(&file, "I1122 08:00:00.%06d 4242 stargate.cc:%d] %s\n", lines, lines%900, strings.Repeat("x", 100))
		lines++
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "O 1 1:2 0 %d\n", file.Len())
	data := file.Bytes()
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&out, "D 1 %d\n", n)
		out.Write(data[:n])
		data = data[n:]
	}
	out.WriteString("Z 1\n")
	return out.Bytes(), lines
}

// nopWriteCloser takes the credits.
type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

// testGroup is one CVM's agent group of n streams over sink, outside any connection.
func testGroup(cfg *Config, sink Sink, n int) (*agentGroup, []*stream) {
	cfg.defaults()
	run := &runState{cancel: func() {}}
	c := &cvmRun{run: run, cfg: cfg, target: Target{Name: "cvm", Address: "cvm"}}
	budget := newLineBudget(LineBudget)
	for i := 1; i <= n; i++ {
		s := &stream{cfg: cfg, cvm: c, id: i, sink: sink, file: File{Name: fmt.Sprint("f", i), Path: fmt.Sprint("/f", i)}}
		s.info = StreamInfo{CVM: "cvm", Log: s.file.Name, Path: s.file.Path}
		s.lb.budget = budget
		c.streams = append(c.streams, s)
	}
	return &agentGroup{cvm: c, streams: c.streams}, c.streams
}

// BenchmarkReadFrames is the client's per-byte path: frame parsing, line splitting and the
// hand-over to the sink, credits included.
func BenchmarkReadFrames(b *testing.B) {
	for _, chunk := range []int{4 << 10, 16 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunk>>10), func(b *testing.B) {
			out, lines := agentOutput(8<<20, chunk)
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				sink := &countSink{}
				cfg := Config{Targets: []Target{{}}, Files: []File{{}}, Window: maxWindow}
				g, live := testGroup(&cfg, sink, 1)
				cfg.Window = 1 << 40 // the transcript is sent at once, not as credit comes back
				// Unbounded credit: the benchmark feeds the whole transcript at once.
				ch := &channel{stdin: nopWriteCloser{}, stop: func() {}}
				end, err, wait := g.demux(bufio.NewReaderSize(bytes.NewReader(out), 32<<10), ch, live)
				wait()
				if end != endDone || sink.lines != lines {
					b.Fatalf("end %v, err %v, %d lines, want %d", end, err, sink.lines, lines)
				}
			}
		})
	}
}
