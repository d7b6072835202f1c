// Package output renders log lines (text, json, raw; colour; terminal escaping) and writes
// them through one writer, so that every output line is one whole line of one file.
package output

import (
	"bytes"
	"regexp"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// Format is the -o value of `cvmtail tail`.
type Format string

const (
	Text Format = "text"
	JSON Format = "json"
	Raw  Format = "raw"
	None Format = "none"
)

// Options decide how lines look. Colour and escaping are decided by the caller (once, from
// the terminal and --color) and passed down as plain booleans.
type Options struct {
	Format     Format
	Color      bool // colour the prefix
	Escape     bool // stdout is a terminal: show control characters escaped
	Timestamps bool // put the received time first

	// LogTime puts each line's own parsed time first (after the received time), or adds
	// "log_time" in JSON; see AppendLines.
	LogTime bool
	// Highlight colours the matches of these expressions in text and raw when Color is on.
	Highlight []*regexp.Regexp
	// Template, when set, renders each line instead of Format (see NewTemplate).
	Template *template.Template

	// CVMColors is each CVM's colour (see AssignColors), decided at the start of the run.
	// The pipeline adds a CVM that joins later (AddColor); --template's cvmcolor gives a
	// name not in the map it was parsed with its hash's colour of the 16-colour palette.
	CVMColors map[string]string
	// Palette is what CVMColors was assigned from (AssignColors): a CVM that joins the run
	// later takes the colour the fewest CVMs have (AddColor).
	Palette []string
	// CVMWidth and LogWidth, when set (text on a terminal), pad the CVM and log names of
	// the prefix to these widths (see ColumnWidths), so that the lines of every stream
	// start in one column. Zero: one space between the fields, as into a pipe.
	CVMWidth, LogWidth int
}

// TimeLayout is RFC 3339 in UTC with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Renderer renders the lines of one stream. Its prefix is computed once.
type Renderer struct {
	opts   Options
	prefix []byte // text: "<cvm> <log> " (coloured); json: the fixed fields after "time"

	fields map[string]string // --template: the JSON fields of the line being rendered
	head   []byte            // json: the fields before "file"
	file   string            // the file the lines come from (see SetFile)
	spans  [][]int           // --highlight: reused match positions
}

// NewRenderer prepares the rendering of one stream's lines.
func NewRenderer(opts Options, cvm, address, log, path string) *Renderer {
	r := &Renderer{opts: opts, file: path}
	if opts.Template != nil {
		r.fields = map[string]string{"cvm": cvm, "address": address, "log": log, "path": path, "file": path}
		if opts.Escape { // names came from Prism or the user, and .path from the command line
			for k, v := range r.fields {
				r.fields[k] = termsafe.String(v)
			}
		}
		return r
	}
	switch opts.Format {
	case JSON:
		b := []byte(`,"cvm":`)
		b = appendJSONString(b, []byte(cvm))
		b = append(b, `,"address":`...)
		b = appendJSONString(b, []byte(address))
		b = append(b, `,"log":`...)
		b = appendJSONString(b, []byte(log))
		b = append(b, `,"path":`...)
		b = appendJSONString(b, []byte(path))
		r.head = b
		r.setFilePrefix()
	case Text:
		c, l := sanitizeName(cvm), sanitizeName(log)
		cPad, lPad := padding(c, opts.CVMWidth), padding(l, opts.LogWidth)
		if opts.Color {
			c = sgrOn(cvmSGR(opts.CVMColors, cvm)) + c + sgrOff
			l = faintOn + l + faintOff
		}
		r.prefix = []byte(c + cPad + " " + l + lPad + " ")
	}
	return r
}

// SetFile says which file the next lines come from: the followed path, or with --since a
// rotated predecessor of it (JSON "file", the template's .file).
func (r *Renderer) SetFile(file string) {
	if file == r.file {
		return
	}
	r.file = file
	switch {
	case r.fields != nil:
		r.fields["file"] = file
		if r.opts.Escape {
			r.fields["file"] = termsafe.String(file)
		}
	case r.head != nil:
		r.setFilePrefix()
	}
}

func (r *Renderer) setFilePrefix() {
	b := append(r.prefix[:0], r.head...)
	b = append(b, `,"file":`...)
	b = appendJSONString(b, []byte(r.file))
	r.prefix = append(b, `,"line":`...)
}

// The log name is faint: the CVM's colour is what the eye looks for.
const (
	faintOn  = "\x1b[2m"
	faintOff = "\x1b[22m"
)

// ColumnWidths are the widths of the CVM and log fields of text on a terminal: the widest
// of the run's names as the prefix shows them (made one field, see sanitizeName), in runes.
func ColumnWidths(cvms, logs []string) (cvmWidth, logWidth int) {
	widest := func(names []string) int {
		w := 0
		for _, n := range names {
			w = max(w, utf8.RuneCountInString(sanitizeName(n)))
		}
		return w
	}
	return widest(cvms), widest(logs)
}

// padding is the spaces that bring a name shown as s to width runes.
func padding(s string, width int) string {
	if n := width - utf8.RuneCountInString(s); n > 0 {
		return strings.Repeat(" ", n)
	}
	return ""
}

// sanitizeName keeps a name one field of the prefix (termsafe.Name): no spaces, control
// characters or invalid UTF-8.
func sanitizeName(s string) string { return termsafe.Name(s, maxPrefixName) }

// maxPrefixName bounds a name in the prefix, in bytes.
const maxPrefixName = 1024

// Append renders the lines in data (each ending in '\n') received at t, appending to dst.
func (r *Renderer) Append(dst, data []byte, t time.Time) []byte {
	if r.opts.LogTime || r.opts.Template != nil || len(r.opts.Highlight) > 0 && r.opts.Color && r.opts.Format != JSON {
		return r.AppendLines(dst, data, t, nil)
	}
	var ts []byte
	if r.opts.Timestamps || r.opts.Format == JSON {
		var tb [40]byte
		ts = t.UTC().AppendFormat(tb[:0], TimeLayout)
	}
	for len(data) > 0 {
		i := indexNL(data)
		line := data[:i]
		data = data[i+1:]
		switch r.opts.Format {
		case JSON:
			dst = append(dst, `{"time":"`...)
			dst = append(dst, ts...)
			dst = append(dst, '"')
			dst = append(dst, r.prefix...)
			dst = appendJSONString(dst, line)
			dst = append(dst, '}', '\n')
		default:
			if r.opts.Timestamps {
				dst = append(dst, ts...)
				dst = append(dst, ' ')
			}
			dst = append(dst, r.prefix...)
			if r.opts.Escape {
				dst = appendEscaped(dst, line)
			} else {
				dst = append(dst, line...)
			}
			dst = append(dst, '\n')
		}
	}
	return dst
}

// indexNL is the end of the first line in b: bytes.IndexByte is vectorised, and rendering
// is the per-byte cost of every line cvmtail prints.
func indexNL(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i
	}
	return len(b)
}

// appendEscaped shows control characters (but tab), DEL, C1 controls and invalid UTF-8 as
// \xNN, so that a log line cannot drive the terminal.
func appendEscaped(dst, line []byte) []byte { return termsafe.Append(dst, line, false) }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
