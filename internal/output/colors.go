package output

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// A CVM's colour is a list of SGR parameters, what goes between "\x1b[" and "m": "32;1"
// (bold green), "38;5;29;1" (bold colour 29 of 256). Palettes are lists of them.

// palette16 is for terminals with 16 colours. Red is left out: it is the colour of
// --highlight matches (as with grep --color), and a red CVM name would read as an error.
// Black and white are left out too: each is invisible on one kind of background.
var palette16 = []string{
	"32;1", "33;1", "34;1", "35;1", "36;1", // green, yellow, blue, magenta, cyan
	"92;1", "93;1", "94;1", "95;1", "96;1", // their bright versions
}

// palette256 is for terminals with 256 colours: colours of the xterm cube whose luminance
// gives a contrast of about 3:1 or more on both a black and a white background, none
// within 40° of hue of red (--highlight's), enough that 16 CVMs need no repeats. Neighbours
// differ in hue: a CVM whose slot is taken gets the next free one, which should not look
// like its neighbour's.
var palette256 = []string{
	"38;5;94;1", "38;5;29;1", "38;5;69;1", "38;5;129;1", "38;5;163;1", "38;5;64;1",
	"38;5;32;1", "38;5;135;1", "38;5;164;1", "38;5;136;1", "38;5;30;1", "38;5;63;1",
	"38;5;165;1", "38;5;169;1", "38;5;28;1", "38;5;27;1", "38;5;93;1", "38;5;170;1",
	"38;5;100;1", "38;5;31;1", "38;5;99;1", "38;5;127;1",
}

// DefaultPalette is the palette CVM names are coloured from: the larger one when the
// terminal shows 256 colours (or more).
func DefaultPalette(colors256 bool) []string {
	if colors256 {
		return slices.Clone(palette256)
	}
	return slices.Clone(palette16)
}

// AssignColors gives each CVM of a run its colour from palette (DefaultPalette when
// empty), so that the CVMs of one run differ while the palette lasts and the same set of
// names gets the same colours on every run, whatever order they come in. A hash alone
// maps names that differ in one digit onto few slots (stern/stern#347); instead, in name
// order, each name takes its hash's slot when free, then each name whose slot was taken
// takes the next free one after it. When there are more names than colours, the names
// left over are assigned the same way in another round.
//
// The map also holds each name as --template's .cvm shows it on a terminal (escaped),
// so that cvmcolor finds it.
func AssignColors(names []string, palette []string) map[string]string {
	if len(palette) == 0 {
		palette = palette16
	}
	left := slices.Clone(names)
	slices.Sort(left)
	left = slices.Compact(left)
	colors := make(map[string]string, len(left))
	for len(left) > 0 {
		taken := make([]bool, len(palette))
		var collided, next []string
		for _, name := range left {
			if slot := hashSlot(name, len(palette)); !taken[slot] {
				taken[slot] = true
				colors[name] = palette[slot]
			} else {
				collided = append(collided, name)
			}
		}
		for _, name := range collided {
			slot, ok := nextFree(taken, hashSlot(name, len(palette)))
			if !ok {
				next = append(next, name)
				continue
			}
			taken[slot] = true
			colors[name] = palette[slot]
		}
		left = next
	}
	for name, c := range colors {
		if shown := termsafe.String(name); shown != name {
			if _, ok := colors[shown]; !ok {
				colors[shown] = c
			}
		}
	}
	return colors
}

// hashSlot is where a name's colour sits in a palette of n when nothing is in the way:
// FNV-1a, as cvmtail has always hashed names, so that a CVM keeps its colour when no other
// one collides with it.
func hashSlot(name string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

func nextFree(taken []bool, from int) (int, bool) {
	for i := range taken {
		if slot := (from + i) % len(taken); !taken[slot] {
			return slot, true
		}
	}
	return 0, false
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
