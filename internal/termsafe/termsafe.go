// Package termsafe keeps bytes that came from outside (a CVM, Prism, a certificate) from
// driving the terminal: control characters are shown as \xNN instead of acting.
package termsafe

import (
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Append appends s to dst with control characters (but tab), DEL, C1 controls
// (U+0080–U+009F) and invalid UTF-8 shown as \xNN. With keepNewline, '\n' passes too.
func Append(dst, s []byte, keepNewline bool) []byte { return appendEscaped(dst, s, keepNewline, true) }

func appendEscaped(dst, s []byte, keepNewline, keepTab bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\t' && keepTab || c == '\n' && keepNewline {
			i++
			continue
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRune(s[i:])
			if r != utf8.RuneError && (r < 0x80 || r > 0x9f) {
				i += size
				continue
			}
			if r == utf8.RuneError && size == 3 { // a real U+FFFD
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			for k := 0; k < size; k++ {
				b := s[i+k]
				dst = append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&15])
			}
			i += size
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// String is Append for one string, newlines escaped too.
func String(s string) string {
	if clean(s) {
		return s
	}
	return string(Append(nil, []byte(s), false))
}

// Field is String with tabs escaped too: a value that must stay one column of a table.
func Field(s string) string {
	if clean(s) && !strings.Contains(s, "\t") {
		return s
	}
	return string(appendEscaped(nil, []byte(s), false, false))
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Writer escapes what is written through it, newlines apart: every status line cvmtail
// writes to a terminal's stderr goes through one, whatever part of it came from outside.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriter escapes what is written to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write escapes p and writes it in one write; it reports len(p) on success.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = Append(w.buf[:0], p, true)
	if _, err := w.w.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Name makes s one safe field and path component: every '/', '\', space, control
// character (C0, DEL, C1), other non-printable rune (bidi overrides, zero-width marks) and
// invalid UTF-8 byte becomes '_'; so does a '.' after another '.' and a leading '.' (no
// "..", no hidden or "." directory). At most max bytes are kept.
func Name(s string, max int) string {
	var b strings.Builder
	prevDot := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1, r == '/', r == '\\', r == ' ', !unicode.IsPrint(r):
			r = '_'
		case r == '.' && (prevDot || b.Len() == 0):
			r = '_'
		}
		prevDot = r == '.'
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
