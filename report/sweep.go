package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/meshsim/meshsim/results"
)

// SweepFile returns the name of the sweep figure of a workload, without
// extension: sweep-<workload>.
func SweepFile(workload string) string { return "sweep-" + workload }

// sweepNote explains the sweep figures.
const sweepNote = "Each statistic against the sweep's first field, one line per variant (and per value of " +
	"any other swept field): means across replications, with the 95% confidence interval as whiskers when " +
	"there are at least two replications."

// sweepStat is one panel of a sweep figure: how to read a statistic and
// its interval (in the summary's unit) from a workload, and the scale to
// the axis' unit.
type sweepStat struct {
	metric string // as an SLO names it
	label  string
	scale  float64
	value  func(w *results.WorkloadSummary) (y float64, ci *results.Interval, ok bool)
}

var sweepStats = []sweepStat{
	{"p99", "p99 latency (ms)", 1000, func(w *results.WorkloadSummary) (float64, *results.Interval, bool) {
		if w.LatencyS == nil {
			return 0, nil, false
		}
		if w.LatencyS.CI95 == nil {
			return w.LatencyS.P99, nil, true
		}
		return w.LatencyS.P99, &w.LatencyS.CI95.P99, true
	}},
	{"mean", "mean latency (ms)", 1000, func(w *results.WorkloadSummary) (float64, *results.Interval, bool) {
		if w.LatencyS == nil {
			return 0, nil, false
		}
		if w.LatencyS.CI95 == nil {
			return w.LatencyS.Mean, nil, true
		}
		return w.LatencyS.Mean, &w.LatencyS.CI95.Mean, true
	}},
	{"throughput", "throughput (ok/s)", 1, func(w *results.WorkloadSummary) (float64, *results.Interval, bool) {
		return estimateValue(w.ThroughputPerS)
	}},
	{"error_rate", "error rate (%)", 100, func(w *results.WorkloadSummary) (float64, *results.Interval, bool) {
		return estimateValue(w.ErrorRate)
	}},
}

// estimateValue reads an estimate for a sweep panel; false when e is nil.
func estimateValue(e *results.Estimate) (float64, *results.Interval, bool) {
	if e == nil {
		return 0, nil, false
	}
	return e.Mean, e.CI95, true
}

// sweepCurve is one line of a sweep figure: the variants (points) that
// share a base variant and the values of the sweep fields after the first.
type sweepCurve struct {
	name     string
	variants []int // indices into the summary's variants, in summary order
}

// sweepAxis is the x axis of the sweep figures: the first sweep field.
// Numeric values are placed at their value; otherwise each distinct value
// gets a position 0, 1, ... in order of first appearance and a tick
// labelled with it.
type sweepAxis struct {
	label   string
	numeric bool
	values  []string // distinct values in order of first appearance
}

// x returns the position of a variant's point on the axis.
func (a *sweepAxis) x(p results.PointSummary) float64 {
	if a.numeric {
		return *p.X
	}
	return float64(index(a.values, p.Value))
}

// Ticks implements plot.Ticker for a categorical axis.
func (a *sweepAxis) Ticks(lo, hi float64) []plot.Tick {
	ts := make([]plot.Tick, len(a.values))
	for i, v := range a.values {
		ts[i] = plot.Tick{Value: float64(i), Label: v}
	}
	return ts
}

// sweepLayout returns the axis and the curves of a summary with a sweep,
// or false without one. O(variants^2) for the grouping.
func sweepLayout(s *results.Summary) (*sweepAxis, []sweepCurve, bool) {
	if len(s.Variants) == 0 || len(s.Variants[0].Sweep) == 0 {
		return nil, nil, false
	}
	first := s.Variants[0].Sweep[0]
	ax := &sweepAxis{label: first.Label, numeric: true}
	if first.Unit != "" {
		ax.label += " (" + first.Unit + ")"
	}
	var curves []sweepCurve
	for i, v := range s.Variants {
		if len(v.Sweep) == 0 {
			return nil, nil, false // a mixed summary: not a sweep
		}
		p := v.Sweep[0]
		ax.numeric = ax.numeric && p.X != nil && p.Unit == first.Unit
		if !contains(ax.values, p.Value) {
			ax.values = append(ax.values, p.Value)
		}
		name := v.Base
		for _, o := range v.Sweep[1:] {
			name += " " + o.Label + "=" + o.Value
		}
		k := 0
		for k < len(curves) && curves[k].name != name {
			k++
		}
		if k == len(curves) {
			curves = append(curves, sweepCurve{name: name})
		}
		curves[k].variants = append(curves[k].variants, i)
	}
	if !ax.numeric {
		ax.label = first.Label
	}
	return ax, curves, true
}

// sweeps returns one figure per workload, in order of first appearance
// over the variants, for a summary with a sweep; nil without one.
func sweeps(s *results.Summary) ([]timeline, error) {
	ax, curves, ok := sweepLayout(s)
	if !ok {
		return nil, nil
	}
	var names []string
	for _, v := range s.Variants {
		for _, w := range v.Workloads {
			if !contains(names, w.Name) {
				names = append(names, w.Name)
			}
		}
	}
	var out []timeline
	for _, name := range names {
		tl := timeline{workload: name}
		for si, st := range sweepStats {
			p := plot.New()
			p.Y.Label.Text = st.label
			p.Y.Tick.Marker = plainTicks{}
			p.Legend.Top = true
			p.Legend.XOffs, p.Legend.YOffs = -vg.Points(4), -vg.Points(4)
			p.Add(plotter.NewGrid())
			if si == 0 {
				p.Title.Text = s.Scenario + ": " + name + " by " + ax.label
			}
			for ci, c := range curves {
				if err := addSweepCurve(p, s, ax, c, name, st, ci, si == 0); err != nil {
					return nil, fmt.Errorf("report: sweep of %s/%s: %w", c.name, name, err)
				}
			}
			lines := 0
			if si == 0 {
				lines = len(curves)
			}
			if bound, ok := sloBound(s, name, st.metric); ok {
				addSLOLine(p, bound*st.scale)
				lines++
			}
			if ax.numeric {
				p.X.Tick.Marker = plainTicks{}
				// Keep the first and last points and their sweepWhiskers off the
				// frame.
				pad := max((p.X.Max-p.X.Min)*0.04, 1e-9)
				p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
			} else {
				p.X.Tick.Marker = ax
				p.X.Min, p.X.Max = -0.5, float64(len(ax.values))-0.5
			}
			tl.panels = append(tl.panels, p)
			tl.lines = append(tl.lines, lines)
		}
		for _, p := range tl.panels[:len(tl.panels)-1] {
			p.X.Tick.Marker = unlabelled{p.X.Tick.Marker}
		}
		tl.panels[len(tl.panels)-1].X.Label.Text = ax.label
		for i, p := range tl.panels {
			fitY(p, tl.lines[i])
		}
		out = append(out, tl)
	}
	return out, nil
}

// sweepWhiskers are points with asymmetric y errors, for plotter.YErrorBars.
type sweepWhiskers struct {
	plotter.XYs
	lo, hi []float64 // distances below and above each point
}

// YError implements plotter.YErrorer.
func (w sweepWhiskers) YError(i int) (float64, float64) { return w.lo[i], w.hi[i] }

// addSweepCurve draws one curve of one panel: its points joined by a line,
// with sweepWhiskers where the summary has an interval; legend names it if
// label.
func addSweepCurve(p *plot.Plot, s *results.Summary, ax *sweepAxis, c sweepCurve, workload string, st sweepStat, ci int, label bool) error {
	clr := palette[ci%len(palette)]
	pts, w := curvePoints(s, ax, c, workload, st)
	style := draw.LineStyle{Color: clr, Width: vg.Points(1.2)}
	if len(pts) > 0 {
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.LineStyle = style
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = clr, vg.Points(2), draw.CircleGlyph{}
		p.Add(l, sc)
	}
	if len(w.XYs) > 0 {
		eb, err := plotter.NewYErrorBars(w)
		if err != nil {
			return err
		}
		eb.LineStyle = style
		eb.CapWidth = vg.Points(5)
		p.Add(eb)
	}
	if label {
		p.Legend.Add(c.name, &plotter.Line{LineStyle: style})
	}
	return nil
}

// curvePoints returns the points of one curve for one statistic, in the
// axis' unit, and the sweepWhiskers of those with an interval. A point whose
// workload has no such statistic is left out. O(points x workloads).
func curvePoints(s *results.Summary, ax *sweepAxis, c sweepCurve, workload string, st sweepStat) (plotter.XYs, sweepWhiskers) {
	var pts plotter.XYs
	var w sweepWhiskers
	for _, vi := range c.variants {
		v := &s.Variants[vi]
		for k := range v.Workloads {
			wl := &v.Workloads[k]
			if wl.Name != workload {
				continue
			}
			y, iv, ok := st.value(wl)
			if !ok {
				continue
			}
			xy := plotter.XY{X: ax.x(v.Sweep[0]), Y: y * st.scale}
			pts = append(pts, xy)
			if iv != nil {
				w.XYs = append(w.XYs, xy)
				w.lo = append(w.lo, max(xy.Y-iv.Lo*st.scale, 0))
				w.hi = append(w.hi, max(iv.Hi*st.scale-xy.Y, 0))
			}
		}
	}
	return pts, w
}

// sweepTable is the sweep at a glance: one row per variant and workload,
// with the point's values in columns of their own. Its Rows are empty
// without a sweep.
func sweepTable(s *results.Summary) table {
	var t table
	if len(s.Variants) == 0 || len(s.Variants[0].Sweep) == 0 {
		return t
	}
	t.Header = []string{"variant"}
	for _, p := range s.Variants[0].Sweep {
		t.Header = append(t.Header, p.Label)
	}
	t.Header = append(t.Header, "workload", "throughput", "error rate", "latency mean", "latency p99")
	for _, v := range s.Variants {
		for k := range v.Workloads {
			w := &v.Workloads[k]
			row := []string{v.Base}
			for _, p := range v.Sweep {
				row = append(row, p.Value)
			}
			row = append(row, w.Name, estimate(w.ThroughputPerS, 1, "/s"), estimate(w.ErrorRate, 100, "%"))
			if l := w.LatencyS; l != nil {
				var mean, p99 *results.Interval
				if l.CI95 != nil {
					mean, p99 = &l.CI95.Mean, &l.CI95.P99
				}
				row = append(row, ms(l.Mean, mean), ms(l.P99, p99))
			} else {
				row = append(row, noData, noData)
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

// sloBound returns the summary's SLO bound on metric for workload, if it
// has one.
func sloBound(s *results.Summary, workload, metric string) (float64, bool) {
	if s.SLO == nil || (s.SLO.Workload != "" && s.SLO.Workload != workload) {
		return 0, false
	}
	for _, o := range s.SLO.Objectives {
		if o.Metric == metric {
			return o.Max, true
		}
	}
	return 0, false
}

// addSLOLine draws an SLO bound across a panel as a dashed black line,
// and widens the panel's y range to show it.
func addSLOLine(p *plot.Plot, y float64) {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	p.Add(f)
	p.Y.Max = max(p.Y.Max, y)
	p.Legend.Add("SLO", f)
}
