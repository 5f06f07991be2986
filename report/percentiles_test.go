package report

import (
	"bytes"
	"html/template"
	"image/png"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim/stats"
)

// oneReplication cuts testExperiment to its first replication.
func oneReplication() *results.Experiment {
	e := testExperiment()
	e.Replications = 1
	for i := range e.Variants {
		e.Variants[i].Replications = e.Variants[i].Replications[:1]
	}
	return e
}

func TestPercentileBars(t *testing.T) {
	type series struct {
		variant int
		ci      bool
	}
	noOK := testExperiment()
	for vi := range noOK.Variants {
		for ri := range noOK.Variants[vi].Replications {
			for wi := range noOK.Variants[vi].Replications[ri].Workloads {
				w := &noOK.Variants[vi].Replications[ri].Workloads[wi]
				w.Outcomes, w.Latency = results.Outcomes{Shed: 1}, stats.NewHistogram()
			}
		}
	}
	for _, tc := range []struct {
		name  string
		e     *results.Experiment
		order []string            // the panels' workloads, top to bottom
		want  map[string][]series // each panel's series, in order
	}{
		{
			name:  "three replications: whiskers",
			e:     testExperiment(),
			order: []string{"web", "batch"},
			// batch has no ok request under round robin: no bars, and its
			// slot stays empty.
			want: map[string][]series{"web": {{0, true}, {1, true}}, "batch": {{1, true}}},
		},
		{
			name:  "one replication: no whiskers",
			e:     oneReplication(),
			order: []string{"web", "batch"},
			want:  map[string][]series{"web": {{0, false}, {1, false}}, "batch": {{1, false}}},
		},
		{name: "no ok request: no panel", e: noOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := results.Summarize(tc.e)
			panels := percentileBars(s)
			require.Len(t, panels, len(tc.order))
			for pi, bp := range panels {
				assert.Equal(t, tc.order[pi], bp.name)
				assert.Equal(t, []string{"mean", "p50", "p90", "p99", "p99.9"}, bp.groups)
				require.Len(t, bp.series, len(tc.want[bp.name]), bp.name)
				for si, bs := range bp.series {
					want := tc.want[bp.name][si]
					require.Equal(t, want.variant, bs.variant, "%s series %d", bp.name, si)
					l := workload(t, s, bs.variant, bp.name).LatencyS
					assert.InDeltaSlice(t, []float64{l.Mean * 1000, l.P50 * 1000, l.P90 * 1000, l.P99 * 1000, l.P999 * 1000}, bs.values, 1e-9)
					if !want.ci {
						assert.Nil(t, bs.lo, "no whisker without an interval")
						assert.Nil(t, bs.hi, "no whisker without an interval")
						continue
					}
					ci := l.CI95
					require.NotNil(t, ci)
					assert.InDeltaSlice(t, []float64{ci.Mean.Lo * 1000, ci.P50.Lo * 1000, ci.P90.Lo * 1000, ci.P99.Lo * 1000, ci.P999.Lo * 1000}, bs.lo, 1e-9)
					assert.InDeltaSlice(t, []float64{ci.Mean.Hi * 1000, ci.P50.Hi * 1000, ci.P90.Hi * 1000, ci.P99.Hi * 1000, ci.P999.Hi * 1000}, bs.hi, 1e-9)
				}
			}
		})
	}
}

// TestPercentileBarsByHand checks the bars against numbers worked out from
// testExperiment rather than read back from the summary.
func TestPercentileBarsByHand(t *testing.T) {
	panels := percentileBars(results.Summarize(testExperiment()))
	require.Len(t, panels, 2)
	rr := panels[0].series[0]
	// Round robin's web latencies are (k + 10i) ms for k = 1..1000: mean
	// 510.5 ms, half-width t(0.975, 2) * 10 / sqrt(3) = 24.84 ms.
	half := 4.30265273 * 10 / math.Sqrt(3)
	assert.InDelta(t, 510.5, rr.values[0], 1e-9)
	assert.InDelta(t, 510.5-half, rr.lo[0], 1e-6)
	assert.InDelta(t, 510.5+half, rr.hi[0], 1e-6)
	assert.InEpsilon(t, 1000, rr.values[3], 0.005, "p99")
	// p2c's batch completes every request at 5 ms: a zero-width interval.
	batch := panels[1].series[0]
	assert.Equal(t, 1, batch.variant)
	for i := range batch.values {
		assert.InDelta(t, 5, batch.values[i], 1e-9)
		assert.InDelta(t, 5, batch.lo[i], 1e-9)
		assert.InDelta(t, 5, batch.hi[i], 1e-9)
	}
}

func workload(t *testing.T, s *results.Summary, variant int, name string) results.WorkloadSummary {
	t.Helper()
	for _, w := range s.Variants[variant].Workloads {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("variant %d has no workload %s", variant, name)
	return results.WorkloadSummary{}
}

func TestFitLogY(t *testing.T) {
	for _, tc := range []struct {
		name   string
		series []barSeries
		lines  int
		min    float64
		max    float64
	}{
		{"a decade below half the smallest bar", []barSeries{{values: []float64{25, 400}}}, 0, 10, 10 * math.Pow(40, 1.1)},
		{"a bar at a power of ten still shows", []barSeries{{values: []float64{10, 100}}}, 0, 1, math.Pow(100, 1.1)},
		{"a negative lower end does not move the axis", []barSeries{{values: []float64{25, 400}, lo: []float64{-3, 300}, hi: []float64{50, 1000}}}, 0, 10, 10 * math.Pow(100, 1.1)},
		{"room for the legend", []barSeries{{values: []float64{25, 400}}}, 2, 10, 10 * math.Pow(40, 1.4)},
		{"a zero latency is drawn at 1 ns", []barSeries{{values: []float64{0, 1}}}, 0, 1e-7, 1e-7 * math.Pow(1e7, 1.1)},
		{"no bars", nil, 0, 1, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plot.New()
			fitLogY(p, barPanel{series: tc.series}, tc.lines)
			assert.InEpsilon(t, tc.min, p.Y.Min, 1e-9)
			assert.InEpsilon(t, tc.max, p.Y.Max, 1e-9)
			assert.Equal(t, clampedLog{}, p.Y.Scale)
		})
	}
}

func TestClampedLog(t *testing.T) {
	for _, tc := range []struct {
		x, want float64
	}{
		{-5, 0}, {0, 0}, {1, 0}, {10, 0.5}, {100, 1},
	} {
		assert.InDelta(t, tc.want, clampedLog{}.Normalize(1, 100, tc.x), 1e-12, "x = %v", tc.x)
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		labels []string
		ticks  int
	}{
		{1, 1000, []string{"1", "10", "100", "1000"}, 28}, // 1..9 per decade, and 1000
		{10, 60, []string{"10", "20", "50"}, 6},           // one power of ten: 2 and 5 labelled too
		{0.001, 0.05, []string{"0.001", "0.01"}, 14},      // two powers of ten in range: only they are labelled
	} {
		ts := logTicks{}.Ticks(tc.lo, tc.hi)
		var labels []string
		for _, tk := range ts {
			assert.GreaterOrEqual(t, tk.Value, tc.lo*(1-1e-9), "no tick below the range")
			assert.LessOrEqual(t, tk.Value, tc.hi*(1+1e-9), "no tick above the range")
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		assert.Equal(t, tc.labels, labels, "[%v, %v]", tc.lo, tc.hi)
		assert.Len(t, ts, tc.ticks, "[%v, %v]", tc.lo, tc.hi)
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		k, e int
		want string
	}{
		{1, 0, "1"}, {2, 1, "20"}, {1, 5, "100000"}, {5, -1, "0.5"}, {1, -3, "0.001"}, {2, -6, "0.000002"},
	} {
		assert.Equal(t, tc.want, decimal(tc.k, tc.e))
	}
}

func TestGroupLabels(t *testing.T) {
	for _, tc := range []struct {
		groups, step int
		labelled     []float64
	}{
		{5, 1, []float64{0, 1, 2, 3, 4}},
		{16, 1, nil},
		{17, 2, nil},
		{40, 3, []float64{0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39}},
	} {
		require.Equal(t, tc.step, labelStep(tc.groups), "%d groups", tc.groups)
		if tc.labelled == nil {
			continue
		}
		labels := make([]string, tc.groups)
		for i := range labels {
			labels[i] = strconv.Itoa(i)
		}
		var got []float64
		ts := everyNth(labels, tc.step)
		assert.Len(t, ts, tc.groups, "a tick at every group")
		for _, tk := range ts {
			if tk.Label != "" {
				got = append(got, tk.Value)
			}
		}
		assert.Equal(t, tc.labelled, got, "%d groups", tc.groups)
	}
}

func TestSlotOffset(t *testing.T) {
	w := vg.Length(10)
	assert.Equal(t, []float64{-10, 0, 10}, []float64{float64(slotOffset(0, 3, w)), float64(slotOffset(1, 3, w)), float64(slotOffset(2, 3, w))})
	assert.Equal(t, []float64{-5, 5}, []float64{float64(slotOffset(0, 2, w)), float64(slotOffset(1, 2, w))})
	assert.Equal(t, 0.0, float64(slotOffset(0, 1, w)))
}

func TestBarFiguresInReports(t *testing.T) {
	files := render(t, testExperiment())
	md := string(files[ReportMarkdown])
	for _, want := range []string{
		"## Latency percentiles\n\n" + percentilesNote + "\n\n![slow-pod: latency percentiles](percentiles.svg)\n",
		"## Load per instance\n\n" + instanceLoadNote + "\n\n![slow-pod: load per instance](instance-load.svg)\n",
	} {
		assert.Contains(t, md, want)
	}
	// After the CDF, before the timelines.
	order := []string{"(latency-cdf.svg)", "(percentiles.svg)", "(instance-load.svg)", "## Timelines"}
	for i := 1; i < len(order); i++ {
		assert.Less(t, strings.Index(md, order[i-1]), strings.Index(md, order[i]), "%s before %s", order[i-1], order[i])
	}
	html := string(files[ReportHTML])
	for _, want := range []string{
		"<h2>Latency percentiles</h2>\n<p class=\"note\">" + template.HTMLEscapeString(percentilesNote) + "</p>\n<figure>\n<svg",
		"<h2>Load per instance</h2>\n<p class=\"note\">" + template.HTMLEscapeString(instanceLoadNote) + "</p>\n<figure>\n<svg",
	} {
		assert.True(t, strings.Contains(html, want), "report.html lacks %q", want)
	}
	assert.Less(t, strings.Index(html, "<h2>Load per instance</h2>"), strings.Index(html, "<h2>Timelines</h2>"))

	pct := string(files[PercentilesSVG])
	for _, want := range []string{"slow-pod: latency percentiles, workload web", "workload batch", "latency (ms)",
		">mean<", ">p99.9<", ">round-robin<", ">p2c<"} {
		assert.Contains(t, pct, want)
	}
	load := string(files[InstanceLoadSVG])
	for _, want := range []string{"slow-pod: load per instance, service checkout", "share of completions (%)", "instance",
		">even share 1/3<", ">round-robin<", ">p2c<"} {
		assert.Contains(t, load, want)
	}
	assert.NotContains(t, load, "payments", "a single instance has no panel")
	for _, name := range []string{PercentilesSVG, InstanceLoadSVG} {
		assert.NotContains(t, string(files[name]), "@font-face", "fonts are not embedded")
		assert.NotContains(t, string(files[name]), "NaN", name)
	}

	// 16 cm wide, 5.5 cm per panel at 96 dpi: two workloads, one service.
	for _, tc := range []struct {
		name   string
		height int
	}{{PercentilesPNG, 416}, {InstanceLoadPNG, 208}} {
		img, err := png.Decode(bytes.NewReader(files[tc.name]))
		require.NoError(t, err, tc.name)
		assert.InDelta(t, 605, img.Bounds().Dx(), 1, tc.name)
		assert.InDelta(t, tc.height, img.Bounds().Dy(), 1, tc.name)
	}
}

func TestBarFiguresWithOneReplicationRender(t *testing.T) {
	// The bars come without whiskers (TestPercentileBars); the figure
	// still renders.
	files := render(t, oneReplication())
	for _, name := range []string{PercentilesPNG, InstanceLoadPNG} {
		_, err := png.Decode(bytes.NewReader(files[name]))
		require.NoError(t, err, name)
	}
}

func TestPercentilesWithoutLatencyIsAnEmptyFigure(t *testing.T) {
	e := &results.Experiment{Scenario: "x", Duration: time.Second, Replications: 1,
		Variants: []results.Variant{{Name: "v", Replications: []results.Replication{{
			Workloads: []results.Workload{{Name: "w", Outcomes: results.Outcomes{Shed: 3}}},
		}}}}}
	files := render(t, e)
	require.Contains(t, files, PercentilesSVG, "the figure always exists")
	assert.Contains(t, string(files[PercentilesSVG]), "x: latency percentiles (no completed requests)")
	_, err := png.Decode(bytes.NewReader(files[PercentilesPNG]))
	require.NoError(t, err)
}

// TestBarFiguresAreByteIdentical renders twice, from two Experiments built
// alike, as TestRenderIsDeterministic does for every file, and names the
// bar figures so that a change in their file names cannot skip them.
func TestBarFiguresAreByteIdentical(t *testing.T) {
	first, second := render(t, testExperiment()), render(t, testExperiment())
	for _, name := range []string{PercentilesSVG, PercentilesPNG, InstanceLoadSVG, InstanceLoadPNG} {
		require.NotEmpty(t, first[name], name)
		assert.True(t, bytes.Equal(first[name], second[name]), "%s differs between two renders", name)
	}
}
