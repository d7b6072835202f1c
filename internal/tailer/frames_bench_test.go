package tailer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

type countSink struct{ lines int }

func (c *countSink) Lines(_ *StreamInfo, data []byte, _ time.Time) error {
	c.lines += bytes.Count(data, []byte{'\n'})
	return nil
}

// fileOf is a backlog of size bytes of 150-byte glog lines.
func fileOf(size int) ([]byte, int) {
	var file bytes.Buffer
	lines := 0
	for file.Len() < size {
		fmt.Fprintf(&file, "I1122 08:00:00.%06d 4242 stargate.cc:%d] %s\n", lines, lines%900, strings.Repeat("x", 100))
		lines++
	}
	return file.Bytes(), lines
}

// fakeAgent sends data as stream 1 the way the agent does: frames of chunk bytes (cutting
// lines anywhere) while the credit read from credits allows, then Z.
func fakeAgent(out io.WriteCloser, credits io.Reader, data []byte, window, chunk int) {
	defer out.Close()
	credit := window
	got := make(chan int, 1024)
	go func() {
		sc := bufio.NewScanner(credits)
		for sc.Scan() {
			var id, n int
			if _, err := fmt.Sscanf(sc.Text(), "%d %d", &id, &n); err == nil {
				got <- n
			}
		}
		close(got)
	}()
	bw := bufio.NewWriterSize(out, 64<<10)
	fmt.Fprintf(bw, "O 1 1:2 0 %d\n", len(data))
	for len(data) > 0 {
		for credit < min(chunk, len(data)) {
			_ = bw.Flush()
			n, ok := <-got
			if !ok {
				return
			}
			credit += n
		}
	drain:
		for {
			select {
			case n := <-got:
				credit += n
			default:
				break drain
			}
		}
		n := min(chunk, len(data), credit)
		fmt.Fprintf(bw, "D 1 %d\n", n)
		_, _ = bw.Write(data[:n])
		data, credit = data[n:], credit-n
	}
	_, _ = bw.WriteString("Z 1\n")
	_ = bw.Flush()
}

// BenchmarkReadFrames is the client's per-byte path: frame parsing, line splitting and the
// hand-over to the sink, credits included, against an agent that waits for them.
func BenchmarkReadFrames(b *testing.B) {
	data, lines := fileOf(8 << 20)
	for _, window := range []int{16 << 10, 64 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("window=%dKiB", window>>10), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				sink := &countSink{}
				cfg := Config{Targets: []Target{{}}, Files: []File{{}}, Window: window}
				g, live := testGroup(&cfg, sink, 1)
				outR, outW := io.Pipe()
				credR, credW := io.Pipe()
				go fakeAgent(outW, credR, data, window, agentChunk(window))
				ch := &channel{stdin: credW, stop: func() {}}
				end, wait, err := g.demux(bufio.NewReaderSize(outR, 32<<10), ch, live)
				_ = credW.Close()
				wait()
				if end != endDone || sink.lines != lines {
					b.Fatalf("end %v, err %v, %d lines, want %d", end, err, sink.lines, lines)
				}
			}
		})
	}
}
