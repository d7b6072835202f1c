// Package suggest finds the names a user probably meant: the did-you-mean of every
// message about an unknown name.
package suggest

import (
	"sort"
	"strings"
)

// Distance is the Levenshtein edit distance, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest returns up to n of candidates within a typo budget of word (case-insensitive;
// the budget grows with the word, so "ab" does not match half the list), closest first,
// ties in the candidates' order.
func Nearest(word string, candidates []string, n int) []string {
	word = strings.ToLower(word)
	if word == "" {
		return nil
	}
	budget := 1 + len(word)/4
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, c := range candidates {
		if d := Distance(word, strings.ToLower(c)); d <= budget {
			cs = append(cs, cand{c, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].name)
	}
	return out
}
