// Command termshot draws a terminal capture as an SVG picture: the text that
// `tmux capture-pane -e -p` prints, with its colour escapes (SGR: 16, 256 and 24-bit
// colours, bold, faint), becomes text in a dark terminal window that GitHub shows in
// the README. `make screenshot` captures the lab in tmux and runs it:
//
//	go run ./cmd/termshot [-title T] [-rows N] < docs/terminal.ansi > docs/terminal.svg
//
// The picture depends on the capture alone, so drawing it twice gives the same bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

func main() {
	title := flag.String("title", "cvmtail", "the window's title")
	rows := flag.Int("rows", 0, "draw only the first N rows (0: all but trailing empty ones)")
	flag.Parse()
	in, err := io.ReadAll(os.Stdin)
	if err == nil {
		_, err = os.Stdout.Write(render(string(in), *title, *rows))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "termshot: %v\n", err)
		os.Exit(1)
	}
}

// style is what SGR sets for the text after it.
type style struct {
	fg, bg      string // "" for the default
	bold, faint bool
}

// span is text in one style.
type span struct {
	text string
	st   style
}

// Geometry of the picture, in pixels, for a 13 px monospace font.
const (
	fontSize  = 13
	charWidth = 7.8
	lineStep  = 17
	margin    = 14
	titleBar  = 28
	defaultFG = "#cccccc"
	defaultBG = "#1e1e1e"
)

// render draws the capture; rows > 0 keeps only that many rows from the top.
func render(capture, title string, rows int) []byte {
	lines := parse(capture)
	if rows > 0 && len(lines) > rows {
		lines = lines[:rows]
	}
	for len(lines) > 0 && width(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	cols := 0
	for _, l := range lines {
		cols = max(cols, width(l))
	}
	w := int(float64(cols)*charWidth) + 2*margin
	h := titleBar + len(lines)*lineStep + 2*margin - lineStep/2

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" rx="8" fill="%s"/>`+"\n", w, h, defaultBG)
	for i, c := range []string{"#ff5f57", "#febc2e", "#28c840"} {
		fmt.Fprintf(&b, `<circle cx="%d" cy="14" r="6" fill="%s"/>`+"\n", 18+i*20, c)
	}
	fmt.Fprintf(&b, `<text x="%d" y="18" fill="#8a8a8a" font-family="sans-serif" font-size="12" text-anchor="middle">%s</text>`+"\n", w/2, escapeXML(title))
	fmt.Fprintf(&b, `<g font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="%d" fill="%s">`+"\n", fontSize, defaultFG)
	for i, l := range lines {
		y := titleBar + margin + i*lineStep + fontSize/2
		col := 0
		for _, s := range l {
			n := utf8.RuneCountInString(s.text)
			if s.st.bg != "" {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
					margin+float64(col)*charWidth, y-fontSize+2, float64(n)*charWidth, lineStep, s.st.bg)
			}
			col += n
		}
		if len(l) == 0 {
			continue
		}
		// Each word at its own column: a font a little wider or narrower than charWidth
		// then shifts no column, and spaces need no xml:space.
		fmt.Fprintf(&b, `<text y="%d">`, y)
		col = 0
		for _, s := range l {
			for _, w := range words(s.text) {
				fmt.Fprintf(&b, `<tspan x="%.1f"%s>%s</tspan>`, margin+float64(col+w.col)*charWidth, attrs(s.st), escapeXML(w.text))
			}
			col += utf8.RuneCountInString(s.text)
		}
		b.WriteString("</text>\n")
	}
	b.WriteString("</g>\n</svg>\n")
	return []byte(b.String())
}

type word struct {
	col  int // in runes from the start of its span
	text string
}

// words are the runs of s without spaces, with where they start.
func words(s string) []word {
	var ws []word
	col, start := 0, -1
	var cur strings.Builder
	for _, r := range s {
		if r == ' ' {
			if start >= 0 {
				ws = append(ws, word{start, cur.String()})
				cur.Reset()
				start = -1
			}
		} else {
			if start < 0 {
				start = col
			}
			cur.WriteRune(r)
		}
		col++
	}
	if start >= 0 {
		ws = append(ws, word{start, cur.String()})
	}
	return ws
}

func attrs(st style) string {
	var a strings.Builder
	if st.fg != "" {
		fmt.Fprintf(&a, ` fill="%s"`, st.fg)
	}
	if st.bold {
		a.WriteString(` font-weight="bold"`)
	}
	if st.faint {
		a.WriteString(` opacity="0.6"`)
	}
	return a.String()
}

// width is a line's length in columns (one per rune).
func width(l []span) int {
	n := 0
	for _, s := range l {
		n += utf8.RuneCountInString(s.text)
	}
	return n
}

// parse splits the capture into lines of styled spans. A style lasts across lines, as on
// a terminal; escape sequences other than SGR are dropped. Spaces are kept as text: they
// place what follows them.
func parse(capture string) [][]span {
	var lines [][]span
	var st style
	sc := bufio.NewScanner(strings.NewReader(capture))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var line []span
		text := sc.Text()
		var cur strings.Builder
		flush := func() {
			if cur.Len() > 0 {
				line = append(line, span{cur.String(), st})
				cur.Reset()
			}
		}
		for i := 0; i < len(text); {
			if text[i] != 0x1b {
				r, n := utf8.DecodeRuneInString(text[i:])
				if r == '\t' {
					r = ' '
				}
				if r >= ' ' {
					cur.WriteRune(r)
				}
				i += n
				continue
			}
			// ESC [ params final
			j := i + 1
			if j < len(text) && text[j] == '[' {
				j++
				start := j
				for j < len(text) && (text[j] < 0x40 || text[j] > 0x7e) {
					j++
				}
				if j < len(text) && text[j] == 'm' {
					flush()
					st = applySGR(st, text[start:j])
				}
				j++
			} else {
				j++
			}
			i = j
		}
		flush()
		lines = append(lines, line)
	}
	return lines
}

// applySGR applies the parameters of one SGR sequence ("1;38;5;34").
func applySGR(st style, params string) style {
	if params == "" {
		return style{}
	}
	ps := strings.Split(params, ";")
	num := func(k int) int {
		if k >= len(ps) {
			return -1
		}
		n, err := strconv.Atoi(ps[k])
		if err != nil {
			return -1
		}
		return n
	}
	for k := 0; k < len(ps); k++ {
		switch n := num(k); {
		case n == 0:
			st = style{}
		case n == 1:
			st.bold = true
		case n == 2:
			st.faint = true
		case n == 22:
			st.bold, st.faint = false, false
		case n >= 30 && n <= 37:
			st.fg = base16[n-30]
		case n >= 90 && n <= 97:
			st.fg = base16[n-90+8]
		case n == 39:
			st.fg = ""
		case n >= 40 && n <= 47:
			st.bg = base16[n-40]
		case n >= 100 && n <= 107:
			st.bg = base16[n-100+8]
		case n == 49:
			st.bg = ""
		case n == 38 || n == 48:
			var c string
			switch num(k + 1) {
			case 5:
				c = color256(num(k + 2))
				k += 2
			case 2:
				c = fmt.Sprintf("#%02x%02x%02x", clamp(num(k+2)), clamp(num(k+3)), clamp(num(k+4)))
				k += 4
			}
			if n == 38 {
				st.fg = c
			} else {
				st.bg = c
			}
		}
	}
	return st
}

func clamp(n int) int { return min(max(n, 0), 255) }

// base16 are the 16 colours of a dark terminal theme (VS Code's).
var base16 = [16]string{
	"#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
	"#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#e5e5e5",
}

// color256 is a colour of the xterm palette: the 16, the 6×6×6 cube, the grey ramp.
func color256(n int) string {
	switch {
	case n < 0 || n > 255:
		return ""
	case n < 16:
		return base16[n]
	case n < 232:
		levels := [6]int{0, 95, 135, 175, 215, 255}
		n -= 16
		return fmt.Sprintf("#%02x%02x%02x", levels[n/36], levels[n/6%6], levels[n%6])
	default:
		g := 8 + (n-232)*10
		return fmt.Sprintf("#%02x%02x%02x", g, g, g)
	}
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
