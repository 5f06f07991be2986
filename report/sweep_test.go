package report

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/plotter"

	"github.com/meshsim/meshsim/results"
)

// sweepExperiment is testExperiment's two variants at two sweep points,
// values as given (the replications are the same at both points).
func sweepExperiment(values ...string) *results.Experiment {
	e := testExperiment()
	var vs []results.Variant
	for _, v := range e.Variants {
		for i, val := range values {
			pv := results.PointValue{Path: "workloads.web.arrival.rate", Label: "rate", Value: val}
			if val == "100/s" || val == "300/s" {
				pv.X, pv.Unit, pv.Numeric = map[string]float64{"100/s": 100, "300/s": 300}[val], "/s", true
			}
			nv := results.Variant{Name: v.Name + " rate=" + val, Base: v.Name, Point: []results.PointValue{pv}}
			for _, r := range v.Replications {
				// Make the points differ: scale web's latencies at later points.
				r.Workloads = append([]results.Workload(nil), r.Workloads...)
				h := r.Workloads[0].Latency.Clone()
				for range i {
					h.Merge(r.Workloads[0].Latency)
				}
				r.Workloads[0].Latency = h
				nv.Replications = append(nv.Replications, r)
			}
			vs = append(vs, nv)
		}
	}
	e.Variants = vs
	return e
}

func TestSweepFiguresAndTable(t *testing.T) {
	e := sweepExperiment("100/s", "300/s")
	files, err := Render(e)
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"summary.json", "report.md", "report.html", "latency-cdf.svg", "latency-cdf.png",
		"percentiles.svg", "percentiles.png", "instance-load.svg", "instance-load.png",
		"sweep-web.svg", "sweep-web.png", "sweep-batch.svg", "sweep-batch.png",
		"timeline-web-1.svg", "timeline-web-1.png", "timeline-batch-1.svg", "timeline-batch-1.png",
		"timeline-web-2.svg", "timeline-web-2.png", "timeline-batch-2.svg", "timeline-batch-2.png"}, names[:21])

	// More than 20 points: no timeline figures.
	var many []string
	for i := range 21 {
		many = append(many, "v"+strconv.Itoa(i))
	}
	figs, err := renderTimelines(results.Summarize(sweepExperiment(many...)))
	require.NoError(t, err)
	assert.Empty(t, figs)

	// Seven variants or more: no bar figures.
	files, err = Render(sweepExperiment("100/s", "300/s", "a", "b"))
	require.NoError(t, err)
	for _, f := range files {
		assert.NotContains(t, []string{"percentiles.svg", "instance-load.svg"}, f.Name)
	}

	m := render(t, e)
	md := string(m[ReportMarkdown])
	assert.Contains(t, md, "## Sweep\n")
	assert.Contains(t, md, "![slow-pod: web by sweep point](sweep-web.svg)")
	assert.Contains(t, md, "| variant | rate | workload | throughput | error rate | latency mean | latency p99 |\n")
	assert.Contains(t, md, "| p2c | 300/s | batch |")
	// Each variant is paired with the first at its own point.
	assert.Contains(t, md, "## Paired differences against round-robin at the same sweep point")
	assert.Contains(t, md, "| p2c rate=100/s | round-robin rate=100/s | web |")
	assert.Contains(t, md, "| p2c rate=300/s | round-robin rate=300/s | web |")
	assert.NotContains(t, md, "| round-robin rate=300/s | round-robin rate=100/s |")
	assert.Contains(t, string(m[ReportHTML]), "<h2>Sweep</h2>")
	// One timeline per point, a line per policy named by its base name.
	assert.Contains(t, md, "![slow-pod: web at rate=300/s over time](timeline-web-2.svg)")
	assert.Contains(t, string(m["timeline-web-2.svg"]), "slow-pod at rate=300/s: web over time")
	assert.Contains(t, string(m["timeline-web-2.svg"]), ">p2c<")
	assert.NotContains(t, string(m["timeline-web-2.svg"]), "p2c rate=")
	assert.True(t, strings.HasPrefix(string(m["sweep-web.svg"]), "<?xml"))
	assert.Contains(t, string(m[SummaryJSON]), `"base": "p2c"`)

	again := render(t, sweepExperiment("100/s", "300/s"))
	for name, data := range m {
		assert.True(t, string(data) == string(again[name]), "%s is not byte-identical", name)
	}
}

func TestSweepLayout(t *testing.T) {
	s := results.Summarize(sweepExperiment("100/s", "300/s"))
	ax, curves, ok := sweepLayout(s)
	require.True(t, ok)
	assert.True(t, ax.numeric)
	assert.Equal(t, "rate (/s)", ax.label)
	assert.Equal(t, []sweepCurve{{name: "round-robin", variants: []int{0, 1}}, {name: "p2c", variants: []int{2, 3}}}, curves)

	// p99 of web, in ms, at x = the rate, with sweepWhiskers from the intervals.
	pts, w := curvePoints(s, ax, curves[1], "web", sweepStats[0])
	require.Len(t, pts, 2)
	for k, vi := range []int{2, 3} {
		l := s.Variants[vi].Workloads[0].LatencyS
		assert.Equal(t, plotter.XY{X: []float64{100, 300}[k], Y: l.P99 * 1000}, pts[k])
		assert.InDelta(t, (l.P99-l.CI95.P99.Lo)*1000, w.lo[k], 1e-9)
		assert.InDelta(t, (l.CI95.P99.Hi-l.P99)*1000, w.hi[k], 1e-9)
	}
	// batch has no ok request under round robin: no points, no error.
	pts, w = curvePoints(s, ax, curves[0], "batch", sweepStats[0])
	assert.Empty(t, pts)
	assert.Empty(t, w.XYs)

	// Values that are not numbers are categories, in order of appearance.
	s = results.Summarize(sweepExperiment("low", "high"))
	ax, _, ok = sweepLayout(s)
	require.True(t, ok)
	assert.False(t, ax.numeric)
	assert.Equal(t, "rate", ax.label)
	ticks := ax.Ticks(0, 1)
	assert.Equal(t, []string{"low", "high"}, []string{ticks[0].Label, ticks[1].Label})
	assert.Equal(t, 1.0, ax.x(s.Variants[1].Sweep[0]))

	// One replication: points without sweepWhiskers.
	e := sweepExperiment("100/s", "300/s")
	for i := range e.Variants {
		e.Variants[i].Replications = e.Variants[i].Replications[:1]
	}
	s = results.Summarize(e)
	ax, curves, _ = sweepLayout(s)
	pts, w = curvePoints(s, ax, curves[0], "web", sweepStats[0])
	assert.Len(t, pts, 2)
	assert.Empty(t, w.XYs)

	_, _, ok = sweepLayout(results.Summarize(testExperiment()))
	assert.False(t, ok, "no sweep, no layout")
}
