// Package tableprinter prints the tables of list-cvms and logs as gh does: aligned under a
// header on a terminal, tab-separated without a header into a pipe (for cut, awk and sort).
// Every field is escaped, so a name from Prism or a CVM can neither break the columns nor
// drive the terminal.
package tableprinter

import (
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// Table prints rows aligned under a header on a terminal, and as tab-separated lines
// without a header into a pipe (for cut, awk and sort).
type Table struct {
	w   io.Writer
	tw  *tabwriter.Writer
	tty bool
	err error
	// EmptyAs stands for an empty field ("-" keeps the columns in place for `read` and awk,
	// which merge empty tab-separated fields).
	EmptyAs string
}

// New starts a table on w; on a terminal (tty) the header comes first.
func New(w io.Writer, tty bool, header ...string) *Table {
	t := &Table{w: w, tty: tty}
	if tty {
		t.tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		t.Row(header...)
	}
	return t
}

// Row adds one row; every field is escaped (termsafe.Field) so it stays one column of one
// line; an empty field is EmptyAs when set.
func (t *Table) Row(fields ...string) {
	if t.err != nil {
		return
	}
	for i, f := range fields {
		if f = termsafe.Field(f); f == "" {
			f = t.EmptyAs
		}
		fields[i] = f
	}
	line := strings.Join(fields, "\t") + "\n"
	if t.tty {
		_, t.err = io.WriteString(t.tw, line)
	} else {
		_, t.err = io.WriteString(t.w, line)
	}
}

// Flush writes what a terminal table holds and returns the first write error.
func (t *Table) Flush() error {
	if t.err == nil && t.tty {
		t.err = t.tw.Flush()
	}
	return t.err
}

// tableGap is the space between two columns of a table on a terminal (New's padding).
const tableGap = 2

// minCutWidth is as narrow as FitWidth cuts a column: "stargate…3.log" still says which.
const minCutWidth = 16

// AlignRight pads column col of every row on the left to the column's width.
func AlignRight(rows [][]string, col int) {
	w := 0
	for _, r := range rows {
		w = max(w, utf8.RuneCountInString(r[col]))
	}
	for _, r := range rows {
		r[col] = strings.Repeat(" ", w-utf8.RuneCountInString(r[col])) + r[col]
	}
}

// FitWidth cuts the values of the columns cuttable in the middle, the widest column
// first and never below minCutWidth, until the rows fit in width columns of a terminal.
// The last column needs no gap after it.
func FitWidth(rows [][]string, width int, cuttable ...int) {
	if width <= 0 || len(rows) == 0 {
		return
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, v := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	total := tableGap * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	for total > width {
		widest := -1
		for _, c := range cuttable {
			if widths[c] > minCutWidth && (widest < 0 || widths[c] > widths[widest]) {
				widest = c
			}
		}
		if widest < 0 {
			break // as narrow as it goes: the terminal wraps the rest
		}
		// Down to the next widest first, so that one long column does not lose it all.
		next := minCutWidth
		for _, c := range cuttable {
			if c != widest && widths[c] > next {
				next = widths[c]
			}
		}
		cut := min(total-width, max(widths[widest]-next, 1))
		widths[widest] -= cut
		total -= cut
	}
	for _, r := range rows {
		for _, c := range cuttable {
			r[c] = CutMiddle(r[c], widths[c])
		}
	}
}

// CutMiddle shortens s to n runes by putting … in place of its middle: the start and the
// end of a log file's name (the service, the date and the pid) are what tell it apart.
func CutMiddle(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n || n < 3 {
		return s
	}
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(runes[:head]) + "…" + string(runes[len(runes)-tail:])
}
