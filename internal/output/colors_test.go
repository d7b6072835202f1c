package output

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// nutanixNames are CVM names as Nutanix makes them: they differ in one digit, which a hash
// alone maps onto few colours (the lab's four shared two).
func nutanixNames(n int) []string {
	var names []string
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("NTNX-GEN01%03d-A-CVM", i))
	}
	return names
}

func TestAssignColorsDistinctWhileThePaletteLasts(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		palette []string
	}{
		{"the lab's four, 16 colours", nutanixNames(4), DefaultPalette(false)},
		{"ten, 16 colours", nutanixNames(10), DefaultPalette(false)},
		{"16 nodes, 256 colours", nutanixNames(16), DefaultPalette(true)},
		{"a full 256-colour palette", nutanixNames(len(palette256)), DefaultPalette(true)},
		{"addresses", []string{"10.1.1.11", "10.1.1.12", "10.1.1.13", "10.1.1.14", "10.1.1.15", "10.1.1.16"}, DefaultPalette(false)},
		{"short names", []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"}, DefaultPalette(false)},
		{"a user's three", []string{"a", "b", "c"}, []string{"32", "36", "1;35"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			colors := AssignColors(tc.names, tc.palette)
			seen := map[string]string{}
			for _, n := range tc.names {
				c, ok := colors[n]
				if !ok {
					t.Fatalf("%s has no colour", n)
				}
				if !slices.Contains(tc.palette, c) {
					t.Errorf("%s: %q is not in the palette", n, c)
				}
				if other, dup := seen[c]; dup {
					t.Errorf("%s and %s share %q", other, n, c)
				}
				seen[c] = n
			}
		})
	}
}

func TestAssignColorsBeyondThePaletteSharesEvenly(t *testing.T) {
	names := nutanixNames(25)
	colors := AssignColors(names, palette16)
	uses := map[string]int{}
	for _, n := range names {
		uses[colors[n]]++
	}
	// 25 names on 10 colours: every colour twice, five of them a third time.
	for c, n := range uses {
		if n < 2 || n > 3 {
			t.Errorf("%q used %d times: %v", c, n, uses)
		}
	}
	if len(uses) != len(palette16) {
		t.Errorf("%d colours used of %d", len(uses), len(palette16))
	}
}

func TestAssignColorsIsStableAndIndependentOfOrder(t *testing.T) {
	names := nutanixNames(16)
	for _, palette := range [][]string{palette16, palette256} {
		want := AssignColors(names, palette)
		rng := rand.New(rand.NewPCG(1, 2))
		for range 50 {
			shuffled := slices.Clone(names)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			// Streams start in any order, and a name may be given twice.
			shuffled = append(shuffled, shuffled[0])
			if got := AssignColors(shuffled, palette); !maps.Equal(got, want) {
				t.Fatalf("order %q gives\n%v\nwant\n%v", shuffled, got, want)
			}
		}
	}
}

func TestAssignColorsTakesThePaletteInNameOrder(t *testing.T) {
	// A small run gets the palette's first colours, the most unlike each other.
	colors := AssignColors([]string{"NTNX-C", "NTNX-A", "NTNX-B"}, palette256)
	for i, n := range []string{"NTNX-A", "NTNX-B", "NTNX-C"} {
		if colors[n] != palette256[i] {
			t.Errorf("%s: %q, want the palette's colour %d, %q", n, colors[n], i, palette256[i])
		}
	}
	// A name the run does not know (a literal in --template) gets its hash's colour.
	if got, want := cvmSGR(nil, "NTNX-A-CVM"), palette16[hashSlot("NTNX-A-CVM", len(palette16))]; got != want {
		t.Errorf("unassigned name: %q, want %q", got, want)
	}
}

func TestAssignColorsKnowsTheEscapedName(t *testing.T) {
	colors := AssignColors([]string{"cvm\x1b1", "cvm2"}, nil)
	if colors[`cvm\x1b1`] != colors["cvm\x1b1"] {
		t.Errorf("the name as --template shows it on a terminal has %q, the name %q", colors[`cvm\x1b1`], colors["cvm\x1b1"])
	}
}

// xterm256 is the RGB of a colour of the xterm 256-colour cube (16–231).
func xterm256(n int) (r, g, b float64) {
	levels := []float64{0, 95, 135, 175, 215, 255}
	n -= 16
	return levels[n/36], levels[n/6%6], levels[n%6]
}

func luminance(r, g, b float64) float64 {
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

func hue(r, g, b float64) float64 {
	hi, lo := max(r, g, b), min(r, g, b)
	if hi == lo {
		return 0
	}
	var h float64
	switch hi {
	case r:
		h = math.Mod((g-b)/(hi-lo), 6)
	case g:
		h = (b-r)/(hi-lo) + 2
	default:
		h = (r-g)/(hi-lo) + 4
	}
	h *= 60
	if h < 0 {
		h += 360
	}
	return h
}

// cielab is a colour's place in CIELAB (D65), where distance is how different colours look.
func cielab(r, g, b float64) [3]float64 {
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	R, G, B := lin(r), lin(g), lin(b)
	x := (0.4124*R + 0.3576*G + 0.1805*B) / 0.95047
	y := 0.2126*R + 0.7152*G + 0.0722*B
	z := (0.0193*R + 0.1192*G + 0.9505*B) / 1.08883
	f := func(t float64) float64 {
		if t > 0.008856 {
			return math.Cbrt(t)
		}
		return 7.787*t + 16.0/116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}

func TestPalette256FirstColoursLookUnlike(t *testing.T) {
	// Distinct codes are not enough: the lab's four once got 163, 164, 169 and 170, four
	// pinks. A run takes the palette's first colours, so those must look unlike each other.
	labs := make([][3]float64, len(palette256))
	for i, sgr := range palette256 {
		var n int
		if _, err := fmt.Sscanf(sgr, "38;5;%d;1", &n); err != nil {
			t.Fatalf("%q", sgr)
		}
		labs[i] = cielab(xterm256(n))
	}
	for _, tc := range []struct {
		first   int
		minDist float64 // CIELAB ΔE76; 2.3 is just noticeable
	}{{4, 60}, {8, 35}, {16, 20}} {
		for i := range tc.first {
			for j := range i {
				d := math.Sqrt(sq(labs[i][0]-labs[j][0]) + sq(labs[i][1]-labs[j][1]) + sq(labs[i][2]-labs[j][2]))
				if d < tc.minDist {
					t.Errorf("among the first %d: %q and %q are %.0f apart, want %.0f or more", tc.first, palette256[j], palette256[i], d, tc.minDist)
				}
			}
		}
	}
}

func sq(x float64) float64 { return x * x }

func TestPalette256IsReadableOnDarkAndLightAndFarFromRed(t *testing.T) {
	if len(palette256) < 16 {
		t.Fatalf("%d colours: 16 CVMs would repeat", len(palette256))
	}
	seen := map[string]bool{}
	for _, sgr := range palette256 {
		if seen[sgr] {
			t.Errorf("%q twice", sgr)
		}
		seen[sgr] = true
		var n int
		if _, err := fmt.Sscanf(sgr, "38;5;%d;1", &n); err != nil || n < 16 || n > 231 {
			t.Errorf("%q: want 38;5;N;1 with N in the colour cube", sgr)
			continue
		}
		r, g, b := xterm256(n)
		l := luminance(r, g, b)
		onBlack, onWhite := (l+0.05)/0.05, 1.05/(l+0.05)
		if onBlack < 2.9 || onWhite < 2.9 {
			t.Errorf("colour %d: contrast %.1f on black, %.1f on white", n, onBlack, onWhite)
		}
		h := hue(r, g, b)
		if d := min(h, 360-h); d < 40 {
			t.Errorf("colour %d: hue %.0f° is %.0f° from --highlight's red", n, h, d)
		}
	}
}

func TestPalette16LeavesOutRedBlackAndWhite(t *testing.T) {
	for _, sgr := range palette16 {
		for _, p := range strings.Split(sgr, ";") {
			switch p {
			case "31", "91":
				t.Errorf("%q: red is --highlight's", sgr)
			case "30", "37", "90", "97":
				t.Errorf("%q: black or white is invisible on one background", sgr)
			}
		}
	}
}

func TestParsePalette(t *testing.T) {
	good := []struct {
		spec string
		want []string
	}{
		{"32,36,1;35", []string{"32", "36", "1;35"}},
		{"38;5;208, 38;2;255;128;0", []string{"38;5;208", "38;2;255;128;0"}},
		{"green,bold hiblue,Magenta", []string{"32", "1;94", "35"}},
	}
	for _, tc := range good {
		got, err := ParsePalette(tc.spec)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, %v; want %q", tc.spec, got, err, tc.want)
		}
	}
	bad := []struct{ spec, want string }{
		{"", "empty colour"},
		{"32,,33", "empty colour"},
		{"32,", "empty colour"},
		{"256", "0 to 255"},
		{"32;", "0 to 255"},
		{"3x", "0 to 255"},
		{"purple", `unknown colour "purple"`},
		{"bold purple", `unknown colour "purple"`},
	}
	for _, tc := range bad {
		if _, err := ParsePalette(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.spec, err, tc.want)
		}
	}
}

func TestPrefixAndCvmcolorUseTheAssignment(t *testing.T) {
	names := nutanixNames(4)
	colors := AssignColors(names, palette16)
	tpl, err := NewTemplate("{{cvmcolor .cvm}}", true, WithCVMColors(colors))
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]bool{}
	for _, n := range names {
		want := "\x1b[" + colors[n] + "m" + n + "\x1b[0m"
		text := NewRenderer(Options{Format: Text, Color: true, CVMColors: colors}, n, "", "genesis", "")
		got := string(text.Append(nil, []byte("x\n"), t0))
		if !strings.HasPrefix(got, want+" ") {
			t.Errorf("text %q, want it to start with %q", got, want)
		}
		prefixes[got[:strings.Index(got, "m")]] = true
		tmpl := NewRenderer(Options{Format: Text, Color: true, Template: tpl, CVMColors: colors}, n, "", "genesis", "")
		if got := string(tmpl.Append(nil, []byte("x\n"), t0)); got != want+"\n" {
			t.Errorf("cvmcolor %q, want %q", got, want)
		}
	}
	if len(prefixes) != 4 {
		t.Errorf("four CVMs in %d colours", len(prefixes))
	}
}

// A CVM that joins a running follow (--refresh-interval) takes a colour no CVM has while
// the palette lasts, then the least used one; the map the renderers read is left alone.
func TestAddColorGivesAJoiningCVMAColourOfItsOwn(t *testing.T) {
	names := nutanixNames(4)
	colors := AssignColors(names, palette16)
	before := maps.Clone(colors)
	added := AddColor(colors, "NTNX-joined-CVM", palette16)
	if !maps.Equal(colors, before) {
		t.Error("AddColor changed the map it was given")
	}
	c := added["NTNX-joined-CVM"]
	for _, n := range names {
		if added[n] != colors[n] {
			t.Errorf("%s changed colour", n)
		}
		if colors[n] == c {
			t.Errorf("the joining CVM has %s's colour %q", n, c)
		}
	}
	if c != palette16[len(names)] {
		t.Errorf("joining CVM: %q, want the first unused colour %q", c, palette16[len(names)])
	}
	if again := AddColor(added, "NTNX-joined-CVM", palette16); again["NTNX-joined-CVM"] != c {
		t.Error("a CVM already in the map changed colour")
	}

	// Three colours, four CVMs (the first colour twice): the fifth takes the second.
	pal := []string{"31", "32", "33"}
	full := AssignColors([]string{"a", "b", "c", "d"}, pal)
	if got := AddColor(full, "e", pal)["e"]; got != "32" {
		t.Errorf("with the palette used up: %q, want the least used %q", got, "32")
	}
	// An escaped name is found by --template's cvmcolor under its shown form too.
	if got := AddColor(full, "x\x1by", pal); got["x\x1by"] != got[termsafe.String("x\x1by")] {
		t.Error("the shown form of an escaped name has another colour")
	}
}
