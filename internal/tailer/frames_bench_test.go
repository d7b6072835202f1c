package tailer

import (
	"bytes"
	"context"
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
	out.WriteString(magicPrefix + "1\n")
	fmt.Fprintf(&out, "O 1:2 0 %d\n", file.Len())
	data := file.Bytes()
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&out, "D %d\n", n)
		out.Write(data[:n])
		data = data[n:]
	}
	out.WriteString("Z\n")
	return out.Bytes(), lines
}

// BenchmarkReadFrames is the client's per-byte path: frame parsing, line splitting and the
// hand-over to the sink, credits included.
func BenchmarkReadFrames(b *testing.B) {
	for _, chunk := range []int{4 << 10, 16 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunk>>10), func(b *testing.B) {
			out, lines := agentOutput(8<<20, chunk)
			cfg := Config{}
			cfg.defaults()
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				sink := &countSink{}
				s := &stream{cfg: &cfg, sink: sink}
				end, err := s.read(context.Background(), bytes.NewReader(out), io.Discard)
				if end != endDone || err != nil || sink.lines != lines {
					b.Fatalf("end %v, err %v, %d lines, want %d", end, err, sink.lines, lines)
				}
			}
		})
	}
}
