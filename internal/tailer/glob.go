package tailer

// Globs expanded on the CVM (docs/agent-protocol.md, "Globs"): the agent matches the names
// of a path's directory against its last component, and the client checks every match it
// announces with the same rules. agent.py's glob_matcher is the other half: change both.

import (
	"path"
	"strings"
)

// MaxGlobMatches is how many files one glob may follow on one CVM over a run: each match
// is a stream with an id of the glob's own range.
const MaxGlobMatches = 128

// HasGlobMeta tells whether the last component of an absolute path is a pattern: it holds
// *, ? or [.
func HasGlobMeta(p string) bool {
	return strings.ContainsAny(path.Base(p), "*?[")
}

// GlobMatches tells whether p is a file the glob path glob matches, as the client checks
// the agent's N frames: a name in its directory that matches its pattern.
func GlobMatches(glob, p string) bool {
	gdir, pattern := splitGlob(glob)
	dir, name := splitGlob(p)
	return dir == gdir && name != "" && name != "." && name != ".." && globMatch(pattern, name)
}

// splitGlob is a glob path's directory and pattern: the directory is taken literally.
func splitGlob(p string) (dir, pattern string) {
	i := strings.LastIndexByte(p, '/')
	dir = strings.TrimRight(p[:i], "/") // as the agent's os.path.split: "/a//b*" is in /a
	if dir == "" {
		dir = "/"
	}
	return dir, p[i+1:]
}

// globMatch tells whether name (one directory entry, bytes as the file system has them)
// matches pattern: * any bytes, ? one byte, [abc], [a-z], [!abc] or [^abc] one byte of (or
// not of) the set; a [ without its ] is itself; no escapes; the pattern itself, as a name.
// A name starting with "." is matched only by a pattern starting with ".", as in the shell.
func globMatch(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
		return false
	}
	// The pattern's own name matches too (agent.py: glob_matcher): a file really called
	// "app[1].log" is still followed by its path, as a shell keeps a word matching nothing.
	return name == pattern || matchFrom(pattern, name)
}

// matchFrom matches in O(len(pattern) × len(name)) whatever the pattern: after a * only the
// last * is ever retried, one byte further each time (every other token takes one byte),
// so a CVM's long names cannot make a pattern of many stars take exponential time.
func matchFrom(pattern, name string) bool {
	p, n := 0, 0
	star, retry := -1, 0 // the last *'s position in pattern, and where in name it resumes
	for n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				star, retry = p, n
				p++
				continue
			case '?':
				p, n = p+1, n+1
				continue
			case '[':
				if set, negated, rest, ok := globClass(pattern[p:]); ok {
					if classHas(set, name[n]) != negated {
						p, n = len(pattern)-len(rest), n+1
						continue
					}
				} else if name[n] == '[' { // a lone [ is a literal
					p, n = p+1, n+1
					continue
				}
			default:
				if name[n] == c {
					p, n = p+1, n+1
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		retry++
		p, n = star+1, retry
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// globClass splits a pattern starting with [ into its set (between the brackets, without
// the negation), whether it is negated, and what follows the ]. A ] first in the set is
// one of its bytes.
func globClass(pattern string) (set string, negated bool, rest string, ok bool) {
	j := 1
	if j < len(pattern) && (pattern[j] == '!' || pattern[j] == '^') {
		negated = true
		j++
	}
	start := j
	if j < len(pattern) && pattern[j] == ']' {
		j++
	}
	for j < len(pattern) && pattern[j] != ']' {
		j++
	}
	if j >= len(pattern) {
		return "", false, "", false
	}
	return pattern[start:j], negated, pattern[j+1:], true
}

// classHas tells whether byte c is in set: single bytes and ranges a-z (a range whose end
// is below its start holds nothing).
func classHas(set string, c byte) bool {
	for k := 0; k < len(set); {
		if k+2 < len(set) && set[k+1] == '-' {
			if set[k] <= c && c <= set[k+2] {
				return true
			}
			k += 3
			continue
		}
		if set[k] == c {
			return true
		}
		k++
	}
	return false
}
