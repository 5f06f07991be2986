package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"replicas", "replicas", 0},
		{"replica", "replicas", 1},
		{"mena", "mean", 1}, // one transposition, not two substitutions
		{"ca", "abc", 3},    // optimal string alignment: no edit of a transposed pair
		{"kitten", "sitting", 3},
		{"µs", "us", 1}, // runes, not bytes
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, distance(tc.a, tc.b), "%q %q", tc.a, tc.b)
		assert.Equal(t, tc.want, distance(tc.b, tc.a), "%q %q", tc.b, tc.a)
	}
}

func TestClosest(t *testing.T) {
	fields := []string{"version", "name", "description", "seed", "duration", "warmup", "replications", "limits", "workloads", "services", "variants"}
	tests := []struct {
		in         string
		candidates []string
		want       string
	}{
		{"replication", fields, "replications"},
		{"servces", fields, "services"},
		{"Duration", fields, "duration"},
		{"colour", fields, ""},
		{"x", []string{"k"}, ""}, // one letter is no evidence
		{"kk", []string{"k"}, "k"},
		{"expo", distNames(), "exponential"}, // prefix
		{"hyper", distNames(), "hyperexponential"},
		{"lognorm", distNames(), "lognormal"},
		{"uniformm", distNames(), "uniform"},
		{"roundrobin", []string{"random", "round_robin"}, "round_robin"},
		{"ab", []string{"ac", "aa"}, "aa"}, // a tie goes to the alphabetically first
		{"ab", []string{"aa", "ac"}, "aa"},
		{"same", []string{"same"}, ""},
		{"", fields, ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, closest(tc.in, tc.candidates), tc.in)
	}
	assert.Equal(t, `did you mean "replicas"?`, didYouMean("replica", []string{"replicas", "concurrency"}))
	assert.Equal(t, "", didYouMean("zzz", []string{"replicas"}))
}
