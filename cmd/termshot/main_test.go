package main

import (
	"strings"
	"testing"
)

func TestParseSGR(t *testing.T) {
	lines := parse("\x1b[1m\x1b[38;5;34mNTNX-A\x1b[0m\x1b[39m\x1b[49m \x1b[2mgenesis\x1b[22m  a <b> & c\n" +
		"\x1b[32;1mkept\n" + // a style lasts into the next line, as on a terminal
		"\x1b[0mplain \x1b[38;2;1;2;3mrgb\x1b[0m \x1b[93;41mhi\x1b[K\x1b[0m\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	want := [][]span{
		{{"NTNX-A", style{fg: "#00af00", bold: true}}, {" ", style{}}, {"genesis", style{faint: true}}, {"  a <b> & c", style{}}},
		{{"kept", style{fg: base16[2], bold: true}}},
		{{"plain ", style{}}, {"rgb", style{fg: "#010203"}}, {" ", style{}}, {"hi", style{fg: base16[11], bg: base16[1]}}},
	}
	for i := range want {
		if len(lines[i]) != len(want[i]) {
			t.Errorf("line %d: %+v, want %+v", i, lines[i], want[i])
			continue
		}
		for j := range want[i] {
			if lines[i][j] != want[i][j] {
				t.Errorf("line %d span %d: %+v, want %+v", i, j, lines[i][j], want[i][j])
			}
		}
	}
}

func TestRenderPlacesWordsByColumn(t *testing.T) {
	svg := string(render("\x1b[1;38;5;33mcvm1\x1b[0m    \x1b[2mgenesis\x1b[22m x<y\n\n\n", "t & u", 0))
	for _, want := range []string{
		`<tspan x="14.0" fill="#0087ff" font-weight="bold">cvm1</tspan>`,
		`<tspan x="76.4" opacity="0.6">genesis</tspan>`, // column 8
		`<tspan x="138.8">x&lt;y</tspan>`,               // column 16
		`>t &amp; u</text>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %s in\n%s", want, svg)
		}
	}
	if strings.Count(svg, "<text y=") != 1 {
		t.Errorf("trailing empty lines drawn:\n%s", svg)
	}
	if got := string(render("a\nb\nc\n", "", 2)); strings.Contains(got, ">c<") {
		t.Errorf("-rows 2 drew the third row:\n%s", got)
	}
}

func TestColor256(t *testing.T) {
	for n, want := range map[int]string{1: base16[1], 16: "#000000", 34: "#00af00", 231: "#ffffff", 232: "#080808", 255: "#eeeeee", 256: ""} {
		if got := color256(n); got != want {
			t.Errorf("color256(%d) = %q, want %q", n, got, want)
		}
	}
}
