package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/meshsim/meshsim/results"
)

func TestPrecisionLine(t *testing.T) {
	hw, ratio := 0.011, 2.0
	tests := []struct {
		name string
		p    *results.Precision
		want string
	}{
		{"fixed replications", nil, ""},
		{
			"reached, relative",
			&results.Precision{Metric: "p99", Workload: "web", Relative: 0.05, MaxReplications: 100, Rounds: []int{5, 10, 14}, Reached: true},
			"precision: p99 of web known to ± 5% in every variant after 14 replications (rounds: 5, 10, 14)",
		},
		{
			"reached, absolute, every workload",
			&results.Precision{Metric: "mean", Absolute: 0.002, MaxReplications: 100, Rounds: []int{5}, Reached: true},
			"precision: mean known to ± 2 ms in every variant after 5 replications (rounds: 5)",
		},
		{
			"not reached",
			&results.Precision{Metric: "p99", Relative: 0.03, MaxReplications: 40, Rounds: []int{5, 10, 20, 40},
				Widest: results.PrecisionCheck{Variant: "random", Workload: "web", Mean: 0.185, HalfWidth: &hw, Ratio: &ratio}},
			"precision NOT reached: stopped at max_replications (40) with p99 of web in variant random at 185 ± 11 ms (± 5.95%), wider than the target ± 3%; raise max_replications or the duration, or accept a wider half_width",
		},
		{
			"not reached, no data",
			&results.Precision{Metric: "error_rate", Relative: 0.1, MaxReplications: 8, Rounds: []int{4, 8}},
			"precision NOT reached: no variant had data for error_rate after 8 replications (max_replications 8)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, PrecisionLine(tc.p))
		})
	}
}
