package output

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/fatih/color"
)

// AppendLines renders the lines in data (each ending in '\n') received at t, like Append,
// with what --log-time, --highlight and --template add. logTimes[i], when logTimes is not
// nil, is the parsed time of the i-th line, zero when the line has none of its own (a
// continuation line); it is shown normalised to UTC. In text and raw a line without a time
// shows "-" in its place, so that the fields keep their positions; JSON leaves log_time out.
func (r *Renderer) AppendLines(dst, data []byte, t time.Time, logTimes []time.Time) []byte {
	var tb [40]byte
	ts := t.UTC().AppendFormat(tb[:0], TimeLayout)
	for i := 0; len(data) > 0; i++ {
		n := indexNL(data)
		line := data[:n]
		data = data[n+1:]
		var lt time.Time
		if i < len(logTimes) {
			lt = logTimes[i]
		}
		dst = r.appendLine(dst, line, ts, lt)
	}
	return dst
}

func (r *Renderer) appendLine(dst, line, ts []byte, logTime time.Time) []byte {
	if r.opts.Template != nil {
		return r.appendTemplate(dst, line, ts, logTime)
	}
	switch r.opts.Format {
	case JSON:
		dst = append(dst, `{"time":"`...)
		dst = append(dst, ts...)
		dst = append(dst, '"')
		if r.opts.LogTime && !logTime.IsZero() {
			dst = append(dst, `,"log_time":"`...)
			dst = logTime.UTC().AppendFormat(dst, TimeLayout)
			dst = append(dst, '"')
		}
		dst = append(dst, r.prefix...)
		dst = appendJSONString(dst, line)
		return append(dst, '}', '\n')
	}
	if r.opts.Timestamps {
		dst = append(dst, ts...)
		dst = append(dst, ' ')
	}
	if r.opts.LogTime {
		if logTime.IsZero() {
			dst = append(dst, '-')
			if r.opts.CVMWidth > 0 || r.opts.LogWidth > 0 {
				// Aligned on a terminal: the prefix after it starts where it does after a time.
				dst = append(dst, noLogTimePad...)
			}
		} else {
			dst = logTime.UTC().AppendFormat(dst, TimeLayout)
		}
		dst = append(dst, ' ')
	}
	dst = append(dst, r.prefix...)
	if r.opts.Color && len(r.opts.Highlight) > 0 {
		dst = r.appendHighlighted(dst, line)
	} else {
		dst = r.appendText(dst, line)
	}
	return append(dst, '\n')
}

func (r *Renderer) appendText(dst, s []byte) []byte {
	if r.opts.Escape {
		return appendEscaped(dst, s)
	}
	return append(dst, s...)
}

// noLogTimePad follows the "-" of a line without a time of its own when the columns are
// aligned: a UTC time in TimeLayout is always this long.
var noLogTimePad = strings.Repeat(" ", len("2006-01-02T15:04:05.000Z")-1)

const (
	highlightOn  = "\x1b[1;31m" // bold red, as grep --color and stern do
	highlightOff = "\x1b[0m"
)

// appendHighlighted wraps the matches of every --highlight (and --grep) expression in
// colour. Overlapping matches merge into one coloured run.
func (r *Renderer) appendHighlighted(dst, line []byte) []byte {
	spans := r.spans[:0]
	for _, re := range r.opts.Highlight {
		spans = append(spans, re.FindAllIndex(line, -1)...)
	}
	if len(spans) == 0 {
		r.spans = spans
		return r.appendText(dst, line)
	}
	slices.SortFunc(spans, func(a, b []int) int { return a[0] - b[0] })
	pos := 0
	for k := 0; k < len(spans); {
		start, end := spans[k][0], spans[k][1]
		for k++; k < len(spans) && spans[k][0] <= end; k++ {
			end = max(end, spans[k][1])
		}
		if start < pos || end == start {
			continue
		}
		dst = r.appendText(dst, line[pos:start])
		dst = append(dst, highlightOn...)
		dst = r.appendText(dst, line[start:end])
		dst = append(dst, highlightOff...)
		pos = end
	}
	r.spans = spans[:0]
	return r.appendText(dst, line[pos:])
}

// appendWriter lets a template write straight into the output buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func (r *Renderer) appendTemplate(dst, line, ts []byte, logTime time.Time) []byte {
	r.fields["time"] = string(ts)
	r.fields["log_time"] = ""
	if !logTime.IsZero() {
		r.fields["log_time"] = logTime.UTC().Format(TimeLayout)
	}
	if r.opts.Escape {
		r.fields["line"] = string(appendEscaped(nil, line))
	} else {
		r.fields["line"] = string(line)
	}
	w := appendWriter{b: dst}
	start := len(dst)
	if err := r.opts.Template.Execute(&w, r.fields); err != nil {
		// A template that fails on some line (e.g. a bad helper argument) still shows the line.
		w.b = append(w.b[:start], fmt.Sprintf("cvmtail: template: %v: ", err)...)
		w.b = r.appendText(w.b, line)
	}
	// One log line, one output line: newlines the template produced become spaces.
	out := w.b[start:]
	for len(out) > 0 && out[len(out)-1] == '\n' {
		out = out[:len(out)-1]
	}
	for i, c := range out {
		if c == '\n' {
			out[i] = ' '
		}
	}
	return append(w.b[:start+len(out)], '\n')
}

// colorNames are the colours `color` accepts in --template.
var colorNames = map[string]color.Attribute{
	"black": color.FgBlack, "red": color.FgRed, "green": color.FgGreen, "yellow": color.FgYellow,
	"blue": color.FgBlue, "magenta": color.FgMagenta, "cyan": color.FgCyan, "white": color.FgWhite,
	"hired": color.FgHiRed, "higreen": color.FgHiGreen, "hiyellow": color.FgHiYellow, "hiblue": color.FgHiBlue,
	"himagenta": color.FgHiMagenta, "hicyan": color.FgHiCyan, "hiwhite": color.FgHiWhite,
	"bold": color.Bold, "faint": color.Faint, "underline": color.Underline,
}

// ColorNames lists the colour names --template's color helper knows.
func ColorNames() []string {
	var names []string
	for n := range colorNames {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func paint(on bool, s string, attrs ...color.Attribute) string {
	if !on {
		return s
	}
	c := color.New(attrs...)
	c.EnableColor()
	return c.Sprint(s)
}

// TemplateOption adds to what TemplateFuncs and NewTemplate know of the run.
type TemplateOption func(*templateOptions)

type templateOptions struct {
	cvmColors map[string]string
}

// WithCVMColors gives cvmcolor the run's colours (see AssignColors), so that it colours a
// CVM as the text prefix does. Without it, a CVM's colour comes from a hash of its name.
func WithCVMColors(colors map[string]string) TemplateOption {
	return func(o *templateOptions) { o.cvmColors = colors }
}

// TemplateFuncs are the helpers of --template. With colour off, color and cvmcolor return
// their text unchanged.
//
//	color "red" TEXT          TEXT in a colour (names: see ColorNames; "bold red" combines)
//	cvmcolor CVM [TEXT]       TEXT (default CVM) in CVM's colour, as in the text prefix
//	upper, lower TEXT         case
//	json TEXT                 TEXT as a JSON string; json . is the line's fields as one
//	                          JSON object, in -o json's order
//	pad N TEXT                TEXT padded with spaces to N columns
func TemplateFuncs(colorOn bool, opts ...TemplateOption) template.FuncMap {
	var o templateOptions
	for _, opt := range opts {
		opt(&o)
	}
	return template.FuncMap{
		"color": func(names, s string) (string, error) {
			var attrs []color.Attribute
			for _, n := range strings.Fields(names) {
				a, ok := colorNames[strings.ToLower(n)]
				if !ok {
					return "", fmt.Errorf("unknown colour %q (known: %s)", n, strings.Join(ColorNames(), ", "))
				}
				attrs = append(attrs, a)
			}
			return paint(colorOn, s, attrs...), nil
		},
		"cvmcolor": func(cvm string, text ...string) string {
			s := cvm
			if len(text) > 0 {
				s = strings.Join(text, " ")
			}
			if !colorOn {
				return s
			}
			return sgrOn(cvmSGR(o.cvmColors, cvm)) + s + sgrOff
		},
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		"json":  templateJSON,
		"pad": func(n int, s string) string {
			if len(s) >= n {
				return s
			}
			return s + strings.Repeat(" ", n-len(s))
		},
	}
}

// TemplateFields are the fields of --template, in -o json's order.
var TemplateFields = []string{"time", "log_time", "cvm", "address", "log", "path", "file", "line"}

// TemplateHelpers lists the helpers of --template, sorted.
func TemplateHelpers() []string {
	var names []string
	for n := range TemplateFuncs(false) {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// templateJSON is the json helper: a string as a JSON string, and the fields (json .) as
// the object -o json prints, log_time left out when the line has none.
func templateJSON(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return string(appendJSONString(nil, []byte(v))), nil
	case map[string]string:
		b := []byte{'{'}
		for _, k := range TemplateFields {
			val, ok := v[k]
			if !ok || k == "log_time" && val == "" {
				continue
			}
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendJSONString(b, []byte(k))
			b = append(b, ':')
			b = appendJSONString(b, []byte(val))
		}
		return string(append(b, '}')), nil
	}
	return "", fmt.Errorf("json: want a field (json .line) or the line's fields (json .), got %T", v)
}

// NewTemplate parses a --template text. The fields are those of -o json: .time, .cvm,
// .address, .log, .path, .file, .line, .log_time (each a string; log_time "" when the line
// has no time of its own; file is path, or with --since the rotated file the line is from).
func NewTemplate(text string, colorOn bool, opts ...TemplateOption) (*template.Template, error) {
	return template.New("template").Funcs(TemplateFuncs(colorOn, opts...)).Option("missingkey=error").Parse(text)
}

// ProbeTemplate runs t once on a sample line, so that an unknown field or a misused helper
// is reported when the flags are read rather than on every line.
func ProbeTemplate(t *template.Template) error {
	fields := map[string]string{"time": "2026-11-22T10:00:00.000Z", "cvm": "cvm", "address": "10.0.0.1",
		"log": "genesis", "path": "/home/nutanix/data/logs/genesis.out", "file": "/home/nutanix/data/logs/genesis.out",
		"line": "line", "log_time": ""}
	return t.Execute(io.Discard, fields)
}
