package output

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// benchBatch is what one agent frame typically holds: a few hundred 150-byte lines.
func benchBatch() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 64<<10; i++ {
		fmt.Fprintf(&b, "I1122 08:00:00.%06d 4242 stargate.cc:%d] %s\n", i, i%900, bytes.Repeat([]byte("x"), 100))
	}
	return b.Bytes()
}

func benchmarkRender(b *testing.B, opts Options) {
	data := benchBatch()
	r := NewRenderer(opts, "ntnx-cvm-1", "10.1.1.11", "stargate.INFO", "/home/nutanix/data/logs/stargate.INFO")
	dst := make([]byte, 0, 2*len(data))
	now := time.Now()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dst = r.Append(dst[:0], data, now)
	}
}

func BenchmarkRenderText(b *testing.B) { benchmarkRender(b, Options{Format: Text}) }
func BenchmarkRenderTextEscaped(b *testing.B) {
	benchmarkRender(b, Options{Format: Text, Escape: true})
}
func BenchmarkRenderJSON(b *testing.B) { benchmarkRender(b, Options{Format: JSON}) }

func BenchmarkWriter(b *testing.B) {
	data := benchBatch()
	w := NewWriter(discard{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf := append(w.Buffer(), data...)
		if err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
