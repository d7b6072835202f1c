// Package shquote quotes words for a POSIX shell: a remote login shell runs cvmtail's
// commands on a CVM, and a path or pattern in them must stay data, never syntax.
package shquote

import "strings"

// Quote makes s one word for a POSIX shell: every character literal, nothing expanded or
// split (single quotes, with each ' written as '\”).
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
