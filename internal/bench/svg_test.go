//go:build linux

package bench

import (
	"fmt"
	"html"
	"strings"
)

// A small horizontal bar chart, written by hand: no dependency for two pictures.
type bar struct {
	label string
	value float64
	text  string // shown at the bar's end
	color string
}

type group struct {
	label string
	bars  []bar
}

func barChart(title, unit string, groups []group, marker float64, markerText string) string {
	const (
		width  = 860
		left   = 210
		right  = 150
		barH   = 16
		gap    = 4
		groupG = 14
		top    = 48
	)
	maxV := marker
	rows := 0
	for _, g := range groups {
		for _, b := range g.bars {
			maxV = max(maxV, b.value)
		}
		rows += len(g.bars)
	}
	if maxV <= 0 {
		maxV = 1
	}
	height := top + rows*(barH+gap) + len(groups)*(groupG+barH) + 40
	plotW := float64(width - left - right)
	x := func(v float64) float64 { return left + plotW*v/maxV }

	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&s, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	y := top
	for _, g := range groups {
		fmt.Fprintf(&s, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+barH-3, html.EscapeString(g.label))
		y += barH
		for _, b := range g.bars {
			fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end" fill="#444">%s</text>`+"\n", left-6, y+barH-3, html.EscapeString(b.label))
			fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, x(b.value)-left, barH, b.color)
			fmt.Fprintf(&s, `<text x="%.1f" y="%d">%s</text>`+"\n", x(b.value)+4, y+barH-3, html.EscapeString(b.text))
			y += barH + gap
		}
		y += groupG
	}
	if marker > 0 {
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c00" stroke-dasharray="4 3"/>`+"\n", x(marker), top-8, x(marker), y)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" fill="#c00" text-anchor="middle">%s</text>`+"\n", x(marker), top-12, html.EscapeString(markerText))
	}
	fmt.Fprintf(&s, `<text x="%d" y="%d" fill="#666">%s</text>`+"\n", left, y+14, html.EscapeString(unit))
	s.WriteString("</svg>\n")
	return s.String()
}

func (r *report) throughputSVG() string {
	_, lc, lines := r.limit()
	limitRate := 0.0
	if lc > 0 {
		limitRate = float64(lines) / lc.Seconds()
	}
	var groups []group
	for _, t := range r.bulk {
		col := "#888"
		switch {
		case t.tool == "cvmtail":
			col = "#1f77b4"
		case strings.HasPrefix(t.tool, "ssh tail"):
			col = "#555"
		case t.check.corrupt > 0:
			col = "#d62728"
		}
		label := t.tool
		txt := func(checker bool) string {
			s := fmt.Sprintf("%.0fk lines/s, %.2f×", t.rate(pick(checker, t.checked, t.null))/1000, r.ratio(t, checker))
			if checker && t.check.corrupt > 0 {
				s += fmt.Sprintf(", %d corrupted", t.check.corrupt)
			}
			return s
		}
		groups = append(groups, group{label: label, bars: []bar{
			{label: "to /dev/null", value: t.rate(t.null), text: txt(false), color: col},
			{label: "to a line checker", value: t.rate(t.checked), text: txt(true), color: col},
		}})
	}
	return barChart("Bulk backlog throughput (higher is better; red: corrupts lines)", "lines per second; ratio to raw ssh into the same sink",
		groups, targetThroughput*limitRate, "0.9 × raw ssh (checker)")
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func (r *report) latencySVG() string {
	var groups []group
	for _, l := range r.latency {
		groups = append(groups, group{label: l.kind, bars: []bar{
			{label: "p50", value: ms(l.p50), text: fmt.Sprintf("%.1f ms", ms(l.p50)), color: "#1f77b4"},
			{label: "p99", value: ms(l.p99), text: fmt.Sprintf("%.1f ms", ms(l.p99)), color: "#ff7f0e"},
		}})
	}
	return barChart(fmt.Sprintf("cvmtail follow latency, append to stdout (%d lines/s over %d files)", latRate, latCVMs*latFiles),
		"milliseconds (lower is better)", groups, ms(targetP99), "target p99 50 ms")
}
