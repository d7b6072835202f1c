package prism

import (
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cvmtail/cvmtail/internal/termsafe"
)

// What Prism says is checked before it is used: a CVM address goes to ssh (and, through
// `list-cvms -o address`, to users' shell loops), and a CVM name becomes an output prefix
// and a capture directory (DIR/<cvm>/<log>.log).

// maxHostName is RFC 1123's bound on a host name.
const maxHostName = 253

// validAddress tells whether s is an IP address or a plain host name: RFC 1123 labels of
// letters, digits and '-' (not first or last), 1-63 bytes each, at most 253 in all. Nothing
// else passes: no leading '-' (an ssh option), no spaces or shell characters, no IPv6 zone,
// no unspecified address (0.0.0.0 reaches this machine), and no name that a resolver would
// read as a number (inet_aton takes "10.1" or "0x7f.1" as IPv4 addresses).
func validAddress(s string) bool {
	if s == "" || len(s) > maxHostName {
		return false
	}
	if ip := net.ParseIP(s); ip != nil {
		return !ip.IsUnspecified()
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !numeric(labels[len(labels)-1])
}

// checkedAddress is s when it is a valid address, else "" (an address only shown).
func checkedAddress(s string) string {
	if validAddress(s) {
		return s
	}
	return ""
}

// numeric tells whether a last label would make inet_aton read the name as a number:
// decimal digits, or 0x and hex digits.
func numeric(l string) bool {
	digits := "0123456789"
	if len(l) > 1 && (l[:2] == "0x" || l[:2] == "0X") {
		l, digits = l[2:], "0123456789abcdefABCDEF"
	}
	for i := 0; i < len(l); i++ {
		if !strings.ContainsRune(digits, rune(l[i])) {
			return false
		}
	}
	return true
}

// Bounds of the parts of a name, in bytes, so that a name with both suffixes stays one
// path component (255 bytes on Linux).
const (
	maxNameBytes   = 128
	maxSuffixBytes = 48
)

// uniqueNames gives every CVM a safe name no other CVM of the list has, compared without
// regard to case (capture directories may live on a case-insensitive file system), in
// one deterministic pass over the list's order:
//
//  1. the name is made safe (termsafe.Name);
//  2. a name more than one CVM has gets "@<cluster>" appended;
//  3. one still shared gets "@<address>" appended too;
//  4. one still shared (or equal to another's suffixed name) gets "#2", "#3", ... in list
//     order, the first keeping it bare.
//
// RawName keeps the name as it was.
func uniqueNames(cvms []CVM) {
	names := make([]string, len(cvms))
	for i, c := range cvms {
		names[i] = termsafe.Name(c.RawName, maxNameBytes)
	}
	suffix := func(part func(CVM) string) {
		count := map[string]int{}
		for _, n := range names {
			count[strings.ToLower(n)]++
		}
		for i, n := range names {
			if count[strings.ToLower(n)] > 1 {
				names[i] = n + "@" + termsafe.Name(part(cvms[i]), maxSuffixBytes)
			}
		}
	}
	suffix(func(c CVM) string { return c.Cluster })
	suffix(func(c CVM) string { return c.Address })
	taken := map[string]bool{}
	for _, n := range names {
		taken[strings.ToLower(n)] = true
	}
	seen := map[string]bool{}
	for i, n := range names {
		name := n
		for k := 2; seen[strings.ToLower(name)] || (name != n && taken[strings.ToLower(name)]); k++ {
			name = n + "#" + strconv.Itoa(k)
		}
		seen[strings.ToLower(name)] = true
		cvms[i].Name = name
	}
}

// show is a value from Prism as it may appear in a message: as is when it is plain, else
// quoted with every control, non-printable or invalid byte escaped (\x1b, \u0085), so a
// message can never carry a raw escape sequence to a terminal.
func show(s string) string {
	if s != "" && plain(s) {
		return s
	}
	return strconv.Quote(s)
}

func plain(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r == '"' || r == '\\' || r == ' ' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
