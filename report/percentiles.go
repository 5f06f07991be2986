package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/meshsim/meshsim/results"
)

// Names of the percentile figure's files. Render always returns them.
const (
	PercentilesSVG = "percentiles.svg"
	PercentilesPNG = "percentiles.png"
)

// percentilesNote explains the percentile figure.
const percentilesNote = "Per workload, the mean, p50, p90, p99 and p99.9 latency of ok requests " +
	"(each the mean over replications of that replication's statistic) on a log scale, one bar per " +
	"variant in the colours of the CDF; a whisker is the 95% confidence interval across replications, " +
	"and there is none with a single replication."

// percentileGroups label the groups of a percentile panel, left to right,
// in the order in which percentileBars reads the statistics.
var percentileGroups = []string{"mean", "p50", "p90", "p99", "p99.9"}

// Bar figure geometry: stacked panels of the CDF's width, each with its
// own title and group labels.
const (
	barPanelHeight = 5.5 * vg.Centimeter
	// barDataWidth approximates the width of a panel's data area (the
	// figure less the y axis), from which the bars' widths follow.
	barDataWidth = plotWidth - 2.5*vg.Centimeter
	// maxGroupWidth caps the width of a group of bars, so that a figure
	// with few groups has room between them.
	maxGroupWidth = 2.4 * vg.Centimeter
)

// barFigure is a rendered bar figure (percentiles, instance load): its
// files' name without extension, its section heading and note in
// report.md and report.html, and its bytes.
type barFigure struct {
	name, title, note string
	svg, png          []byte
}

// barSeries is one variant's bars in a panel: one value per group, in
// the axis' unit, and, when the summary has them, the 95% intervals of
// the values as whiskers.
type barSeries struct {
	variant int // index in Summary.Variants: the colour and the slot in every group
	values  []float64
	lo, hi  []float64 // nil without intervals
}

// barPanel is one panel of a bar figure: groups of bars along x, one
// bar per variant with data, in variant order.
type barPanel struct {
	name   string   // the workload or service
	groups []string // group labels, left to right
	series []barSeries
	even   []int // instance-load panels: the instance counts whose even share 1/n is drawn
}

// percentileBars returns one panel per workload with latency data in
// some variant, in order of first appearance over the variants: groups
// mean, p50, p90, p99 and p99.9 in milliseconds, one series per variant
// that completed a request ok, with the confidence intervals as whiskers
// when the summary has them (two or more replications with data).
func percentileBars(s *results.Summary) []barPanel {
	var names []string
	for _, v := range s.Variants {
		for _, w := range v.Workloads {
			if w.LatencyS != nil && !contains(names, w.Name) {
				names = append(names, w.Name)
			}
		}
	}
	var out []barPanel
	for _, name := range names {
		bp := barPanel{name: name, groups: percentileGroups}
		for vi, v := range s.Variants {
			for _, w := range v.Workloads {
				if w.Name != name || w.LatencyS == nil {
					continue
				}
				l := w.LatencyS
				bs := barSeries{variant: vi, values: msOf(l.Mean, l.P50, l.P90, l.P99, l.P999)}
				if ci := l.CI95; ci != nil {
					bs.lo = msOf(ci.Mean.Lo, ci.P50.Lo, ci.P90.Lo, ci.P99.Lo, ci.P999.Lo)
					bs.hi = msOf(ci.Mean.Hi, ci.P50.Hi, ci.P90.Hi, ci.P99.Hi, ci.P999.Hi)
				}
				bp.series = append(bp.series, bs)
			}
		}
		out = append(out, bp)
	}
	return out
}

// msOf converts seconds to milliseconds.
func msOf(seconds ...float64) []float64 {
	ms := make([]float64, len(seconds))
	for i, x := range seconds {
		ms[i] = float64(x * 1000)
	}
	return ms
}

// percentilePlots draws the panels of percentileBars, one per workload,
// on log y axes; the top one carries the title and the legend. With no
// latency data at all it returns one empty panel, so that the figure,
// like the CDF, always exists.
func percentilePlots(s *results.Summary) ([]*plot.Plot, error) {
	panels := percentileBars(s)
	if len(panels) == 0 {
		p := plot.New()
		p.Title.Text = s.Scenario + ": latency percentiles (no completed requests)"
		p.Y.Label.Text = "latency (ms)"
		p.Y.Scale, p.Y.Tick.Marker = clampedLog{}, logTicks{}
		p.NominalX(percentileGroups...)
		p.X.Min, p.X.Max = -0.5, float64(len(percentileGroups))-0.5
		p.Y.Min, p.Y.Max = 1, 1000
		return []*plot.Plot{p}, nil
	}
	var out []*plot.Plot
	for i, bp := range panels {
		p, err := barPlot(s, bp, i == 0)
		if err != nil {
			return nil, fmt.Errorf("report: percentiles of %s: %w", bp.name, err)
		}
		if i == 0 {
			p.Title.Text = s.Scenario + ": latency percentiles, workload " + bp.name
		} else {
			p.Title.Text = "workload " + bp.name
		}
		p.Y.Label.Text = "latency (ms)"
		p.Legend.Left = true // the bars grow to the right
		fitLogY(p, bp, legendLines(s, bp, i == 0))
		out = append(out, p)
	}
	return out, nil
}

// barPlot draws a panel's bars, grouped by variant slot, and their
// whiskers; with legend, every variant of the summary is named in its
// colour, so that all panels and the CDF read alike. The caller sets the
// y axis.
func barPlot(s *results.Summary, bp barPanel, legend bool) (*plot.Plot, error) {
	p := plot.New()
	p.Legend.Top = true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(4), -vg.Points(4)
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // groups are categories: no vertical lines between them
	p.Add(grid)
	p.NominalX(bp.groups...)
	if n := labelStep(len(bp.groups)); n > 1 {
		p.X.Tick.Marker = everyNth(bp.groups, n)
	}
	p.X.Min, p.X.Max = -0.5, float64(len(bp.groups))-0.5
	slots := max(len(s.Variants), 1)
	width := groupWidth(len(bp.groups)) / vg.Length(slots)
	for _, bs := range bp.series {
		b, err := plotter.NewBarChart(plotter.Values(bs.values), width)
		if err != nil {
			return nil, err
		}
		b.Color = palette[bs.variant%len(palette)]
		b.LineStyle = draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}
		b.Offset = slotOffset(bs.variant, slots, width)
		p.Add(b)
		if bs.lo != nil {
			p.Add(whiskers{lo: bs.lo, hi: bs.hi, offset: b.Offset, cap: min(width*0.6, vg.Points(6))})
		}
	}
	if legend {
		for vi, v := range s.Variants {
			p.Legend.Add(v.Name, swatch{palette[vi%len(palette)]})
		}
	}
	return p, nil
}

// groupWidth is the width of a group of bars when there are groups of
// them side by side: most of each group's share of the data area, and at
// most maxGroupWidth.
func groupWidth(groups int) vg.Length {
	return min(barDataWidth*0.8/vg.Length(max(groups, 1)), maxGroupWidth)
}

// slotOffset places the bar of slot i of n, each width wide, so that the
// n bars sit side by side centred on their group.
func slotOffset(i, n int, width vg.Length) vg.Length {
	return vg.Length(float64(i)-float64(n-1)/2) * width
}

// legendLines is the number of legend entries of a panel: the variants in
// the top one, the even shares in every instance-load panel.
func legendLines(s *results.Summary, bp barPanel, top bool) int {
	n := len(bp.even)
	if top {
		n += len(s.Variants)
	}
	return n
}

// fitLogY sets a log y axis that starts at a power of ten below half the
// smallest bar (so that the smallest bar still shows) and leaves room
// above the highest bar or whisker for lines of legend (barHeadroom). Lower whisker ends at or below the axis'
// minimum (a wide interval's lower end may be negative) are drawn at the
// minimum without a cap.
func fitLogY(p *plot.Plot, bp barPanel, lines int) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, bs := range bp.series {
		for i, v := range bs.values {
			v = max(v, minLatencyMs)
			lo, hi = min(lo, v), max(hi, v)
			if bs.hi != nil {
				hi = max(hi, bs.hi[i])
			}
		}
	}
	p.Y.Scale, p.Y.Tick.Marker = clampedLog{}, logTicks{}
	if math.IsInf(lo, 0) {
		p.Y.Min, p.Y.Max = 1, 1000
		return
	}
	p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo/2)))
	span := math.Log10(hi / p.Y.Min)
	p.Y.Max = p.Y.Min * math.Pow(10, float64(span*barHeadroom(lines)))
}

// barHeadroom is the height of a bar panel's y axis as a multiple of its
// data's (on a log axis, of its decades): a little above the highest bar
// and a line of text per legend entry, which takes about an eighth of a
// panel's data area of barPanelHeight.
func barHeadroom(lines int) float64 {
	return float64(1.1 + 0.15*float64(lines))
}

// clampedLog is a log scale on which values at or below the axis' minimum
// are drawn at the minimum. gonum draws bars up from 0, which
// plot.LogScale cannot place (it panics); here they rise from the bottom
// of the axis.
type clampedLog struct{}

// Normalize implements plot.Normalizer.
func (clampedLog) Normalize(min, max, x float64) float64 {
	return plot.LogScale{}.Normalize(min, max, math.Max(x, min))
}

// logTicks are the ticks of a log axis: at 1 to 9 times each power of ten
// within the range, labelled at the powers of ten and, when fewer than
// two of those are in range, at 2 and 5 times them too, so that a
// narrow axis still reads. Unlike plot.LogTicks it returns no tick out of
// range: clampedLog would draw one at the axis' minimum.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	e0 := int(math.Floor(math.Log10(lo) + 1e-9))
	e1 := int(math.Ceil(math.Log10(hi) - 1e-9))
	in := func(v float64) bool { return v >= lo*(1-1e-9) && v <= hi*(1+1e-9) }
	decades := 0
	for e := e0; e <= e1; e++ {
		if in(math.Pow10(e)) {
			decades++
		}
	}
	var ts []plot.Tick
	for e := e0; e <= e1; e++ {
		for k := 1; k <= 9; k++ {
			v := float64(float64(k) * math.Pow10(e))
			if !in(v) {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 || (decades < 2 && (k == 2 || k == 5)) {
				t.Label = decimal(k, e)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// decimal writes k times 10^e in plain decimal notation (20, 0.005),
// which reads more easily than 2e+01 on an axis of milliseconds, and
// without the float noise of computing the product.
func decimal(k, e int) string {
	digits := strconv.Itoa(k)
	if e >= 0 {
		return digits + strings.Repeat("0", e)
	}
	return "0." + strings.Repeat("0", -e-1) + digits
}

// labelStep is the step between labelled groups: every group up to 16 of
// them, so that labels of many instances do not overlap.
func labelStep(groups int) int {
	return (groups + 15) / 16
}

// everyNth returns ticks at every group, labelled at every nth.
func everyNth(labels []string, n int) plot.ConstantTicks {
	ts := make(plot.ConstantTicks, len(labels))
	for i, l := range labels {
		ts[i].Value = float64(i)
		if i%n == 0 {
			ts[i].Label = l
		}
	}
	return ts
}

// whiskers draws the 95% interval of each bar of a series as a vertical
// black line with caps at the bar's centre.
type whiskers struct {
	lo, hi []float64
	offset vg.Length // the bars' offset from their group's centre
	cap    vg.Length // width of a cap
}

// Plot implements plot.Plotter.
func (w whiskers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}
	for i := range w.lo {
		x := trX(float64(i)) + w.offset
		y0, y1 := trY(w.lo[i]), trY(w.hi[i])
		c.StrokeLines(sty, c.ClipLinesY([]vg.Point{{X: x, Y: y0}, {X: x, Y: y1}})...)
		if w.lo[i] > p.Y.Min {
			c.StrokeLine2(sty, x-w.cap/2, y0, x+w.cap/2, y0)
		}
		if w.hi[i] < p.Y.Max {
			c.StrokeLine2(sty, x-w.cap/2, y1, x+w.cap/2, y1)
		}
	}
}

// swatch is a legend thumbnail: a square of a variant's colour, for a
// variant whether or not it has bars in the panel.
type swatch struct{ color color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	side := min(c.Max.Y-c.Min.Y, c.Max.X-c.Min.X)
	x0, y0 := c.Min.X, c.Min.Y
	c.FillPolygon(s.color, []vg.Point{{X: x0, Y: y0}, {X: x0 + side, Y: y0}, {X: x0 + side, Y: y0 + side}, {X: x0, Y: y0 + side}})
}

// renderBarFigures draws the bar figures in file order: the latency
// percentiles, always, then the load per instance when some service has
// more than one instance. A gonum/plot panic becomes an error, as in
// renderPlots.
// maxBarVariants is the most variants the bar figures are drawn for: one
// colour each, and a legend that still leaves the bars room.
const maxBarVariants = 6

func renderBarFigures(s *results.Summary) (figs []barFigure, err error) {
	defer func() {
		if r := recover(); r != nil {
			figs, err = nil, fmt.Errorf("report: bar plot: %v", r)
		}
	}()
	if len(s.Variants) > maxBarVariants {
		// Bars of more variants than colours (a sweep, typically) cannot
		// be told apart; the sweep figures and the tables show the same.
		return nil, nil
	}
	pct, err := percentilePlots(s)
	if err != nil {
		return nil, err
	}
	load, err := instanceLoadPlots(s)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, title, note string
		panels            []*plot.Plot
	}{
		{"percentiles", "Latency percentiles", percentilesNote, pct},
		{"instance-load", "Load per instance", instanceLoadNote, load},
	} {
		if len(f.panels) == 0 {
			continue
		}
		fig := barFigure{name: f.name, title: f.title, note: f.note}
		if fig.svg, fig.png, err = renderStacked(f.panels, barPanelHeight); err != nil {
			return nil, err
		}
		figs = append(figs, fig)
	}
	return figs, nil
}

// renderStacked draws panels of panelH each in one column with aligned
// data areas, as SVG and PNG, as renderSVG and renderPNG do for one plot.
func renderStacked(panels []*plot.Plot, panelH vg.Length) (svg, png []byte, err error) {
	tl := timeline{panels: panels}
	w, h := plotWidth, vg.Length(len(panels))*panelH
	sc := vgsvg.New(w, h)
	drawTimeline(tl, draw.New(sc))
	var b bytes.Buffer
	if _, err := sc.WriteTo(&b); err != nil {
		return nil, nil, fmt.Errorf("report: svg: %w", err)
	}
	svg = bytes.Clone(b.Bytes())
	ic := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	drawTimeline(tl, draw.New(ic))
	b.Reset()
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&b); err != nil {
		return nil, nil, fmt.Errorf("report: png: %w", err)
	}
	return svg, b.Bytes(), nil
}

// Title is the figure's section heading in report.html.
func (f barFigure) Title() string { return f.title }

// Note is the figure's note on how to read it, in report.html.
func (f barFigure) Note() string { return f.note }

// InlineSVG is the figure's SVG ready to sit inside report.html (see
// inlineSVG).
func (f barFigure) InlineSVG() (template.HTML, error) { return inlineSVG(f.svg) }

// writeBarFigures writes a section per bar figure to report.md: its
// heading, its note and its SVG, linked relative to the report.
func writeBarFigures(b *strings.Builder, p *page) {
	for _, f := range p.Bars {
		b.WriteString("\n## " + f.title + "\n\n" + f.note + "\n\n")
		b.WriteString("![" + inline(p.Title) + ": " + strings.ToLower(f.title) + "](" + f.name + ".svg)\n")
	}
}
