package report

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
)

// setInstances gives service name in variant vi of e the per-instance
// completions counts in every replication.
func setInstances(e *results.Experiment, vi int, name string, counts ...int64) {
	for ri := range e.Variants[vi].Replications {
		svcs := e.Variants[vi].Replications[ri].Services
		for si := range svcs {
			if svcs[si].Name == name {
				svcs[si].Instances = len(counts)
				svcs[si].InstanceCompleted = counts
			}
		}
	}
}

func TestInstanceLoadBars(t *testing.T) {
	type series struct {
		variant int
		pct     []float64
	}
	type panel struct {
		name   string
		groups []string
		series []series
		even   []int
	}
	single := testExperiment()
	setInstances(single, 0, "checkout", 1000)
	setInstances(single, 1, "checkout", 1010)
	differ := testExperiment()
	setInstances(differ, 1, "checkout", 600, 400)
	noneDone := testExperiment()
	setInstances(noneDone, 0, "checkout", 0, 0, 0)
	setInstances(noneDone, 1, "checkout", 0, 0, 0)
	payments := testExperiment()
	setInstances(payments, 1, "payments", 10, 30)
	for _, tc := range []struct {
		name string
		e    *results.Experiment
		want []panel
	}{
		{
			// Round robin: (903, 900, 1197) of 3000 completions; p2c:
			// (1008, 1011, 1011) of 3030. payments has one instance.
			name: "three instances",
			e:    testExperiment(),
			want: []panel{{"checkout", []string{"0", "1", "2"}, []series{
				{0, []float64{30.1, 30, 39.9}},
				{1, []float64{100 * 1008.0 / 3030, 100 * 1011.0 / 3030, 100 * 1011.0 / 3030}},
			}, []int{3}}},
		},
		{name: "every service has one instance: no panel", e: single},
		{name: "no completions: no share, no panel", e: noneDone},
		{
			name: "variants with different counts: groups up to the largest, an even share each",
			e:    differ,
			want: []panel{{"checkout", []string{"0", "1", "2"}, []series{
				{0, []float64{30.1, 30, 39.9}},
				{1, []float64{60, 40}},
			}, []int{3, 2}}},
		},
		{
			name: "a service with more than one instance in one variant only",
			e:    payments,
			want: []panel{
				{"checkout", []string{"0", "1", "2"}, []series{
					{0, []float64{30.1, 30, 39.9}},
					{1, []float64{100 * 1008.0 / 3030, 100 * 1011.0 / 3030, 100 * 1011.0 / 3030}},
				}, []int{3}},
				{"payments", []string{"0", "1"}, []series{{1, []float64{25, 75}}}, []int{2}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := instanceLoadBars(results.Summarize(tc.e))
			require.Len(t, got, len(tc.want))
			for pi, bp := range got {
				want := tc.want[pi]
				assert.Equal(t, want.name, bp.name)
				assert.Equal(t, want.groups, bp.groups)
				assert.Equal(t, want.even, bp.even)
				require.Len(t, bp.series, len(want.series), bp.name)
				for si, bs := range bp.series {
					assert.Equal(t, want.series[si].variant, bs.variant)
					assert.InDeltaSlice(t, want.series[si].pct, bs.values, 1e-9)
					assert.Nil(t, bs.lo, "shares are pooled: no interval")
				}
			}
		})
	}
}

func TestInstanceLoadOmittedWithSingleInstances(t *testing.T) {
	e := testExperiment()
	setInstances(e, 0, "checkout", 1000)
	setInstances(e, 1, "checkout", 1010)
	files, err := Render(e)
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	assert.NotContains(t, names, InstanceLoadSVG)
	assert.NotContains(t, names, InstanceLoadPNG)
	assert.Equal(t, []string{"latency-cdf.svg", "latency-cdf.png", "percentiles.svg", "percentiles.png", "timeline-web.svg"}, names[3:8],
		"the timelines follow the percentiles")
	for _, f := range files[1:3] { // report.md, report.html
		assert.False(t, strings.Contains(string(f.Data), "Load per instance"), f.Name)
		assert.False(t, strings.Contains(string(f.Data), "instance-load"), f.Name)
	}
}

func TestInstanceLoadWithManyInstancesRenders(t *testing.T) {
	e := testExperiment()
	counts := make([]int64, 40)
	for i := range counts {
		counts[i] = int64(20 + i)
	}
	setInstances(e, 0, "checkout", counts...)
	files := render(t, e)
	_, err := png.Decode(bytes.NewReader(files[InstanceLoadPNG]))
	require.NoError(t, err)
	svg := string(files[InstanceLoadSVG])
	assert.Contains(t, svg, ">39<", "the last of every third instance is labelled")
	assert.NotContains(t, svg, ">38<", "the others are not, so that labels do not overlap")
	assert.Contains(t, svg, ">even share 1/40<")
	assert.Contains(t, svg, ">even share 1/3<")
}
