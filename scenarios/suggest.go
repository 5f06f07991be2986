package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// maxSuggestRunes bounds the inputs closest compares, since the distance
// costs O(len(a)*len(b)) and nobody mistypes a 200-character field name.
const maxSuggestRunes = 64

// distance returns the optimal string alignment distance between a and b:
// the number of rune insertions, deletions, substitutions and transpositions
// of adjacent runes that turn a into b (Damerau-Levenshtein, where no
// substring is edited twice). The complexity is O(len(a)*len(b)) time and
// O(len(b)) space.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the dynamic-programming table: two back, one back, now.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// closest returns the candidate that s was most likely meant to be, or ""
// if none is close. Comparison ignores case. A candidate is close when its
// distance to s is at most max(2, len(s)/3) and smaller than len(s), so that
// one-letter inputs are not "corrected" to unrelated one-letter names; if
// none is, the shortest candidate that s is a prefix of (for s of at least
// three runes: "expo" for "exponential") is taken. Ties go to the
// alphabetically first candidate, so the answer never depends on the order
// of candidates.
func closest(s string, candidates []string) string {
	ls := strings.ToLower(s)
	n := len([]rune(ls))
	if n == 0 || n > maxSuggestRunes {
		return ""
	}
	sorted := slices.Clone(candidates)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	best, bestD := "", max(2, n/3)+1
	for _, c := range sorted {
		if c == s {
			continue
		}
		lc := strings.ToLower(c)
		// The distance is at least the difference in length, so most
		// candidates are ruled out without computing it.
		if m := len([]rune(lc)); m > maxSuggestRunes || m-n >= bestD || n-m >= bestD {
			continue
		}
		if d := distance(ls, lc); d < bestD && d < n {
			best, bestD = c, d
		}
	}
	if best != "" || n < 3 {
		return best
	}
	for _, c := range sorted {
		if c != s && strings.HasPrefix(strings.ToLower(c), ls) && (best == "" || len(c) < len(best)) {
			best = c
		}
	}
	return best
}

// didYouMean returns `did you mean "x"?` for the closest candidate to s, or
// "" if none is close.
func didYouMean(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return ""
}

// sortedList returns names sorted and joined with ", ", for hints that list
// every valid choice.
func sortedList(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ", ")
}
