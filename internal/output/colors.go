package output

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// A CVM's colour is a list of SGR parameters, what goes between "\x1b[" and "m": "32;1"
// (bold green), "38;5;29;1" (bold colour 29 of 256). Palettes are lists of them.

// palette16 is for terminals with 16 colours, in the order a run takes them: the five
// hues, then their bright versions. Red is left out: it is the colour of --highlight
// matches (as with grep --color), and a red CVM name would read as an error. Black and
// white are left out too: each is invisible on one kind of background.
var palette16 = []string{
	"32;1", "33;1", "34;1", "35;1", "36;1", // green, yellow, blue, magenta, cyan
	"92;1", "93;1", "94;1", "95;1", "96;1", // their bright versions
}

// palette256 is for terminals with 256 colours: colours of the xterm cube whose luminance
// gives a contrast of about 3:1 (2.9 at the least) on both a black and a white background,
// none within 40° of hue of red (--highlight's), enough that 16 CVMs need no repeats. Their
// order matters: a run of n CVMs takes the first n, so each colour is the one farthest (in
// CIELAB) from those before it: green, blue, gold, magenta, teal, ...
var palette256 = []string{
	"38;5;34;1", "38;5;33;1", "38;5;136;1", "38;5;164;1", "38;5;30;1", "38;5;133;1",
	"38;5;99;1", "38;5;64;1", "38;5;199;1", "38;5;67;1", "38;5;129;1", "38;5;61;1",
	"38;5;29;1", "38;5;32;1", "38;5;62;1", "38;5;170;1", "38;5;28;1", "38;5;171;1",
	"38;5;94;1", "38;5;27;1", "38;5;100;1", "38;5;201;1",
}

// DefaultPalette is the palette CVM names are coloured from: the larger one when the
// terminal shows 256 colours (or more).
func DefaultPalette(colors256 bool) []string {
	if colors256 {
		return slices.Clone(palette256)
	}
	return slices.Clone(palette16)
}

// AssignColors gives each CVM of a run its colour from palette (the 16-colour one when
// empty): the names in sorted order take the palette's colours in its order, starting
// again at its first when there are more names than colours. So the CVMs of one run
// differ while the palette lasts, the same set of names gets the same colours on every run
// whatever order they come in (Prism's, or the order streams start), and a small run gets
// the palette's first colours, which are the most unlike each other. A hash of each name
// would not do: Nutanix names differ in one digit, and hashes of such names fall on few
// slots (stern/stern#347) or, spread apart, on slots whose colours look alike.
//
// The map also holds each name as --template's .cvm shows it on a terminal (escaped),
// so that cvmcolor finds it.
func AssignColors(names []string, palette []string) map[string]string {
	if len(palette) == 0 {
		palette = palette16
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	colors := make(map[string]string, len(sorted))
	for i, name := range sorted {
		colors[name] = palette[i%len(palette)]
	}
	for _, name := range sorted {
		if shown := termsafe.String(name); shown != name {
			if _, ok := colors[shown]; !ok {
				colors[shown] = colors[name]
			}
		}
	}
	return colors
}

// AddColor is colors with name added, for a CVM that joins the run after AssignColors (a
// node added while --refresh-interval follows the cluster): the palette's colour that the
// fewest CVMs have, the first of them in palette order, so that it differs from the others
// while the palette lasts. colors is not changed (renderers and --template may be reading
// it): the result is a new map.
func AddColor(colors map[string]string, name string, palette []string) map[string]string {
	if _, ok := colors[name]; ok {
		return colors
	}
	if len(palette) == 0 {
		palette = palette16
	}
	uses := make(map[string]int, len(palette))
	for k, c := range colors {
		if termsafe.String(k) == k { // not the escaped twin of another name
			uses[c]++
		}
	}
	pick := palette[0]
	for _, c := range palette {
		if uses[c] < uses[pick] {
			pick = c
		}
	}
	out := make(map[string]string, len(colors)+2)
	maps.Copy(out, colors)
	out[name] = pick
	if shown := termsafe.String(name); shown != name {
		if _, ok := out[shown]; !ok {
			out[shown] = pick
		}
	}
	return out
}

// hashSlot is where a name outside the run's assignment takes its colour in a palette of
// n: FNV-1a, as cvmtail has always hashed names.
func hashSlot(name string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// cvmSGR is the colour of a CVM: its assigned one, or for a name outside the run (a
// literal in --template) its hash's colour in the 16-colour palette.
func cvmSGR(colors map[string]string, name string) string {
	if c, ok := colors[name]; ok {
		return c
	}
	return palette16[hashSlot(name, len(palette16))]
}

// sgrOn and sgrOff wrap text in a colour given as SGR parameters. The reset is a full one:
// a user's palette may hold any attribute (underline, a background, 24-bit colour).
func sgrOn(sgr string) string { return "\x1b[" + sgr + "m" }

const sgrOff = "\x1b[0m"

// ParsePalette reads a --cvm-colors list: colours separated by commas, each either SGR
// parameters ("32", "1;35", "38;5;208", "38;2;255;128;0") or colour names separated by
// spaces ("green", "bold hiblue"; see ColorNames). Each is used exactly as given: add 1
// (or "bold") for a bold name.
func ParsePalette(spec string) ([]string, error) {
	var palette []string
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, errors.New("an empty colour between commas")
		}
		sgr, err := parseColor(entry)
		if err != nil {
			return nil, err
		}
		palette = append(palette, sgr)
	}
	return palette, nil
}

func parseColor(entry string) (string, error) {
	if entry[0] >= '0' && entry[0] <= '9' {
		for _, p := range strings.Split(entry, ";") {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 255 {
				return "", fmt.Errorf("%q: SGR parameters are numbers from 0 to 255 separated by ';', as in 32 or 38;5;208", entry)
			}
		}
		return entry, nil
	}
	var params []string
	for _, name := range strings.Fields(entry) {
		a, ok := colorNames[strings.ToLower(name)]
		if !ok {
			return "", fmt.Errorf("unknown colour %q (known: %s)", name, strings.Join(ColorNames(), ", "))
		}
		params = append(params, strconv.Itoa(int(a)))
	}
	return strings.Join(params, ";"), nil
}
