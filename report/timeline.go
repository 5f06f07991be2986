package report

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/meshsim/meshsim/results"
)

// Timeline geometry: panels share the width of the CDF plot and stack
// with a fixed height each, plus room for the title and the time axis.
const (
	panelHeight    = 4 * vg.Centimeter
	timelineMargin = 1.5 * vg.Centimeter
)

// Colours of the failure windows: a light grey that lines stay visible
// on, and a darker one for their labels.
var (
	shadeColor      = color.Gray{Y: 0xe4}
	shadeLabelColor = color.Gray{Y: 0x50}
)

// TimelineFile returns the name of the timeline figure of a workload,
// without extension: timeline-<workload>. Workload names are validated to
// [a-z0-9_-], so the name is a safe file name.
func TimelineFile(workload string) string { return "timeline-" + workload }

// timeline is one workload's figure: its panels, top to bottom.
type timeline struct {
	workload string
	panels   []*plot.Plot
	lines    []int // per panel, the legend entries or failure labels at its top, whichever are more
}

// timelines returns one figure per workload that has a series in some
// variant, in order of first appearance over the variants.
func timelines(s *results.Summary) ([]timeline, error) {
	var names []string
	ejections := false
	for _, v := range s.Variants {
		if v.Timeline == nil {
			continue
		}
		for _, w := range v.Timeline.Workloads {
			if !contains(names, w.Name) {
				names = append(names, w.Name)
			}
		}
		ejections = ejections || len(v.Timeline.Sidecars) > 0
	}
	events := failureEvents(s)
	var out []timeline
	for _, name := range names {
		tl, err := workloadTimeline(s, name, events, ejections)
		if err != nil {
			return nil, err
		}
		out = append(out, tl)
	}
	return out, nil
}

// failureEvents returns the failures of every variant's timeline without
// repeats, in order of first appearance: variants may change the
// failures, and usually share them.
func failureEvents(s *results.Summary) []results.FailureEvent {
	var out []results.FailureEvent
	for _, v := range s.Variants {
		if v.Timeline == nil {
			continue
		}
		for _, ev := range v.Timeline.Events {
			seen := false
			for _, o := range out {
				seen = seen || o == ev
			}
			if !seen {
				out = append(out, ev)
			}
		}
	}
	return out
}

// panelSpec is one panel of a workload's figure: its axis label, and how
// to read its values (nil for a window without data) from a variant.
type panelSpec struct {
	metric string // as an SLO names it, "" for none
	label  string
	scale  float64 // from the summary's unit to the axis'
	values func(w *results.WorkloadTimeline) []*float64
}

var workloadPanels = []panelSpec{
	{"p99", "p99 latency (ms)", 1000, func(w *results.WorkloadTimeline) []*float64 { return w.P99S }},
	{"", "throughput (ok/s)", 1, func(w *results.WorkloadTimeline) []*float64 { return pointers(w.ThroughputPerS) }},
	{"error_rate", "error rate (%)", 100, func(w *results.WorkloadTimeline) []*float64 { return w.ErrorRate }},
}

// workloadTimeline builds the panels of one workload: p99 latency,
// throughput and error rate, one line per variant in the CDF's colours,
// then the ejected hosts of every sidecar with outlier detection when
// there is one (one dash pattern per sidecar). Every panel shades the
// failure windows; the top one labels them and holds the legend.
func workloadTimeline(s *results.Summary, name string, events []results.FailureEvent, ejections bool) (timeline, error) {
	tl := timeline{workload: name}
	for i, spec := range workloadPanels {
		p := newPanel(s, spec.label, events, i == 0)
		if i == 0 {
			p.Title.Text = s.Scenario + ": " + name + " over time"
		}
		for vi, v := range s.Variants {
			if v.Timeline == nil {
				continue
			}
			for _, w := range v.Timeline.Workloads {
				if w.Name != name {
					continue
				}
				err := addSeries(p, s, v.Timeline.WindowS, spec.values(&w), spec.scale, palette[vi%len(palette)], nil, legendName(i == 0, v.Name))
				if err != nil {
					return tl, fmt.Errorf("report: timeline of %s/%s: %w", v.Name, name, err)
				}
			}
		}
		lines := 0
		if bound, ok := sloBound(s, name, spec.metric); ok {
			addSLOLine(p, bound*spec.scale)
			lines = 1
		}
		tl.panels = append(tl.panels, p)
		tl.lines = append(tl.lines, lines)
	}
	variants := 0
	for _, v := range s.Variants {
		if v.Timeline != nil {
			variants++
		}
	}
	var labels []string
	for _, ev := range events {
		if text := ev.Kind + " " + ev.Target; !contains(labels, text) {
			labels = append(labels, text)
		}
	}
	tl.lines[0] = max(variants+tl.lines[0], len(labels))
	if ejections {
		p := newPanel(s, "ejected hosts", events, false)
		var sidecars [][2]string
		for _, v := range s.Variants {
			if v.Timeline == nil {
				continue
			}
			for _, sc := range v.Timeline.Sidecars {
				if key := [2]string{sc.Caller, sc.Service}; !contains(sidecars, key) {
					sidecars = append(sidecars, key)
				}
			}
		}
		for vi, v := range s.Variants {
			if v.Timeline == nil {
				continue
			}
			for _, sc := range v.Timeline.Sidecars {
				si := index(sidecars, [2]string{sc.Caller, sc.Service})
				err := addSeries(p, s, v.Timeline.WindowS, pointers(sc.EjectedHosts), 1, palette[vi%len(palette)], dashes[si%len(dashes)], "")
				if err != nil {
					return tl, fmt.Errorf("report: ejected hosts of %s/%s→%s: %w", v.Name, sc.Caller, sc.Service, err)
				}
			}
		}
		// The colours are the variants' (top legend); this legend names the
		// proxies, by dash pattern.
		for si, key := range sidecars {
			l := &plotter.Line{LineStyle: draw.LineStyle{Color: color.Black, Width: vg.Points(1.2), Dashes: dashes[si%len(dashes)]}}
			p.Legend.Add(key[0]+" → "+key[1], l)
		}
		tl.panels = append(tl.panels, p)
		tl.lines = append(tl.lines, len(sidecars))
	}
	if p, n, err := podsPanel(s, events, false); err != nil {
		return tl, err
	} else if p != nil {
		tl.panels = append(tl.panels, p)
		tl.lines = append(tl.lines, n)
	}
	if p, n, err := podsPanel(s, events, true); err != nil {
		return tl, err
	} else if p != nil {
		tl.panels = append(tl.panels, p)
		tl.lines = append(tl.lines, n)
	}
	// Only the bottom panel labels the shared time axis.
	for _, p := range tl.panels[:len(tl.panels)-1] {
		p.X.Tick.Marker = unlabelled{plainTicks{}}
	}
	tl.panels[len(tl.panels)-1].X.Label.Text = "time (s)"
	for i, p := range tl.panels {
		fitY(p, tl.lines[i])
	}
	return tl, nil
}

// newPanel returns a panel over the whole run with the failure windows
// shaded (and labelled if label), under a grid.
func newPanel(s *results.Summary, ylabel string, events []results.FailureEvent, label bool) *plot.Plot {
	p := plot.New()
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = 0, max(s.DurationS, 1e-9)
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(4), -vg.Points(4)
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // the upper panels' time ticks are unlabelled, so they would have none
	p.Add(shade{events: events, label: label}, grid)
	return p
}

// legendName is the variant's name in the top panel's legend, "" below.
func legendName(top bool, variant string) string {
	if top {
		return variant
	}
	return ""
}

// addSeries draws values (one per window, nil for none) at the windows'
// midpoints, scaled, as one line broken at the windows without data; a
// run of a single point is drawn as a dot. label, if not "", goes into
// the legend.
func addSeries(p *plot.Plot, s *results.Summary, windowS float64, values []*float64, scale float64, clr color.Color, dash []vg.Length, label string) error {
	var runs []plotter.XYs
	var run plotter.XYs
	for k, v := range values {
		if v == nil {
			if len(run) > 0 {
				runs = append(runs, run)
				run = nil
			}
			continue
		}
		from := float64(float64(k) * windowS)
		to := min(float64(float64(k+1)*windowS), s.DurationS)
		run = append(run, plotter.XY{X: (from + to) / 2, Y: float64(*v * scale)})
	}
	if len(run) > 0 {
		runs = append(runs, run)
	}
	for i, r := range runs {
		l, err := plotter.NewLine(r)
		if err != nil {
			return err
		}
		l.Color, l.Dashes, l.Width = clr, dash, vg.Points(1.2)
		p.Add(l)
		if len(r) == 1 {
			dot, err := plotter.NewScatter(r)
			if err != nil {
				return err
			}
			dot.GlyphStyle.Color, dot.GlyphStyle.Radius, dot.GlyphStyle.Shape = clr, vg.Points(1.5), draw.CircleGlyph{}
			p.Add(dot)
		}
		if i == 0 && label != "" {
			p.Legend.Add(label, l)
		}
	}
	if len(runs) == 0 && label != "" { // still name the variant, in its colour
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: clr, Width: vg.Points(1.2), Dashes: dash}}
		p.Legend.Add(label, l)
	}
	return nil
}

// fitY makes a panel's y axis start at 0 and leaves room above the data
// for lines of text at its top (legend entries or failure labels). A
// panel without positive data gets the range [0, 1].
func fitY(p *plot.Plot, lines int) {
	top := 1.0
	if p.Y.Max > 0 {
		top = float64(p.Y.Max * (1.1 + 0.22*float64(lines)))
	}
	p.Y.Min, p.Y.Max = 0, top
}

// unlabelled is a Ticker whose ticks carry no labels: the panels above the
// bottom one share its time axis.
type unlabelled struct{ plot.Ticker }

// Ticks returns the wrapped ticker's ticks without their labels.
func (u unlabelled) Ticks(lo, hi float64) []plot.Tick {
	ts := u.Ticker.Ticks(lo, hi)
	for i := range ts {
		ts[i].Label = ""
	}
	return ts
}

// plainTicks are gonum's default ticks with labels written without
// trailing zeros: 2500 rather than 2500.00.
type plainTicks struct{}

// Ticks returns plot.DefaultTicks' ticks with their labels trimmed.
func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ts {
		if strings.Contains(t.Label, ".") && !strings.ContainsAny(t.Label, "eE") {
			ts[i].Label = strings.TrimSuffix(strings.TrimRight(t.Label, "0"), ".")
		}
	}
	return ts
}

// shade is a plotter that fills each failure window across the panel's
// height in light grey and, if label, writes its kind and target at its
// top left, one line lower for each earlier failure so that labels of
// simultaneous failures do not overlap. It has no data range: the panel's
// x range is the run.
type shade struct {
	events []results.FailureEvent
	label  bool
}

// Plot implements plot.Plotter.
func (sh shade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := p.Legend.TextStyle
	sty.Color = shadeLabelColor
	sty.Font.Size = vg.Points(7)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	span := func(ev results.FailureEvent) (x0, x1 vg.Length) {
		return max(trX(ev.FromS), c.Min.X), min(trX(ev.ToS), c.Max.X)
	}
	for _, ev := range sh.events {
		x0, x1 := span(ev)
		switch {
		case x0 < x1:
			c.FillPolygon(shadeColor, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		case x0 == x1 && ev.FromS == ev.ToS:
			// An instant (a config push, a scaling step): a thin dashed line.
			c.StrokeLine2(draw.LineStyle{Color: shadeLabelColor, Width: vg.Points(0.5), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}},
				x0, c.Min.Y, x0, c.Max.Y)
		}
	}
	if !sh.label {
		return
	}
	// Labels after every rectangle, so that no rectangle covers one. An
	// event that variants end at different times (a deploy) is labelled
	// once.
	var seen []string
	for _, ev := range sh.events {
		text := ev.Kind + " " + ev.Target
		if ev.Kind == "scale" || contains(seen, text) {
			continue // scaling steps are many: their lines speak for them
		}
		i := len(seen)
		seen = append(seen, text)
		if x0, x1 := span(ev); x0 <= x1 {
			y := c.Max.Y - vg.Points(2) - vg.Length(i)*sty.Font.Size*1.2
			c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: y}, text)
		}
	}
}

// renderTimelineSVG draws a figure's panels stacked on one SVG canvas.
func renderTimelineSVG(tl timeline) ([]byte, error) {
	w, h := timelineSize(tl)
	c := vgsvg.New(w, h)
	drawTimeline(tl, draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: svg: %w", err)
	}
	return b.Bytes(), nil
}

// renderTimelinePNG rasterises a figure at pngDPI.
func renderTimelinePNG(tl timeline) ([]byte, error) {
	w, h := timelineSize(tl)
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	drawTimeline(tl, draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: png: %w", err)
	}
	return b.Bytes(), nil
}

func timelineSize(tl timeline) (w, h vg.Length) {
	return plotWidth, vg.Length(len(tl.panels))*panelHeight + timelineMargin
}

// drawTimeline draws the panels in one column with aligned data areas, so
// that a time is at the same x in every panel.
func drawTimeline(tl timeline, dc draw.Canvas) {
	plots := make([][]*plot.Plot, len(tl.panels))
	for i, p := range tl.panels {
		plots[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(4), PadTop: vg.Points(2), PadBottom: vg.Points(2), PadLeft: vg.Points(2), PadRight: vg.Points(6)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
}

func pointers(xs []float64) []*float64 {
	out := make([]*float64, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out
}

func contains[T comparable](xs []T, x T) bool { return index(xs, x) >= 0 }

func index[T comparable](xs []T, x T) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

// podsPanel returns the panel of the pods of the services that scale or
// roll out, or nil when there are none: with byVersion false, the ready
// pods of each service (one dash pattern per service, the variants'
// colours); with byVersion true, the running pods of each version (one
// dash pattern per service and version), only when some service has more
// than one version. It also returns the number of legend lines.
func podsPanel(s *results.Summary, events []results.FailureEvent, byVersion bool) (*plot.Plot, int, error) {
	var keys []string // services, or "service version"
	for _, v := range s.Variants {
		if v.Timeline == nil {
			continue
		}
		for _, st := range v.Timeline.Services {
			if !byVersion {
				if !contains(keys, st.Name) {
					keys = append(keys, st.Name)
				}
				continue
			}
			if len(st.Versions) < 2 {
				continue
			}
			for _, ver := range st.Versions {
				if k := st.Name + " " + ver.Name; !contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	if len(keys) == 0 {
		return nil, 0, nil
	}
	label := "pods ready"
	if byVersion {
		label = "pods by version"
	}
	p := newPanel(s, label, events, false)
	for vi, v := range s.Variants {
		if v.Timeline == nil {
			continue
		}
		for _, st := range v.Timeline.Services {
			clr := palette[vi%len(palette)]
			if !byVersion {
				si := index(keys, st.Name)
				if err := addSeries(p, s, v.Timeline.WindowS, pointers(st.Ready), 1, clr, dashes[si%len(dashes)], ""); err != nil {
					return nil, 0, fmt.Errorf("report: pods of %s/%s: %w", v.Name, st.Name, err)
				}
				continue
			}
			for _, ver := range st.Versions {
				si := index(keys, st.Name+" "+ver.Name)
				if si < 0 {
					continue
				}
				if err := addSeries(p, s, v.Timeline.WindowS, pointers(ver.Running), 1, clr, dashes[si%len(dashes)], ""); err != nil {
					return nil, 0, fmt.Errorf("report: pods of %s/%s %s: %w", v.Name, st.Name, ver.Name, err)
				}
			}
		}
	}
	for si, k := range keys {
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: color.Black, Width: vg.Points(1.2), Dashes: dashes[si%len(dashes)]}}
		p.Legend.Add(k, l)
	}
	return p, len(keys), nil
}
