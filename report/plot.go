package report

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim/stats"
)

// Plot geometry. The PNG is rasterised at pngDPI.
const (
	plotWidth  = 16 * vg.Centimeter
	plotHeight = 10 * vg.Centimeter
	pngDPI     = 96
)

// minLatencyMs is where a zero latency is drawn: a log axis cannot show 0,
// so values below 1 ns are clamped to 1 ns.
const minLatencyMs = 1e-6

// palette is the Okabe-Ito colour-blind-safe palette. It is ours rather than
// plotutil.DefaultColors, a mutable global whose change elsewhere would
// change our bytes.
var palette = []color.Color{
	color.RGBA{R: 0x00, G: 0x72, B: 0xb2, A: 0xff}, // blue
	color.RGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff}, // vermillion
	color.RGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff}, // bluish green
	color.RGBA{R: 0xcc, G: 0x79, B: 0xa7, A: 0xff}, // reddish purple
	color.RGBA{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff}, // orange
	color.RGBA{R: 0x56, G: 0xb4, B: 0xe9, A: 0xff}, // sky blue
	color.RGBA{R: 0xf0, G: 0xe4, B: 0x42, A: 0xff}, // yellow
	color.RGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xff}, // black
}

// dashes distinguish workloads within a variant's colour.
var dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(2)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)},
}

// latencyCDF plots the pooled latency CDF of every (variant, workload) with
// data, in summary order: one colour per variant, one dash pattern per
// workload.
func latencyCDF(s *results.Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = s.Scenario + ": latency CDF"
	p.X.Label.Text = "latency (ms)"
	p.Y.Label.Text = "cumulative fraction"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	// A CDF on a log axis leaves the top-left corner empty: low latencies
	// have not reached high fractions yet.
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(4), -vg.Points(4)
	p.Add(plotter.NewGrid())
	lines := 0
	colours, styles := cdfStyles(s)
	for vi, v := range s.Variants {
		for wi, w := range v.Workloads {
			if w.Pooled == nil || w.Pooled.Count() == 0 {
				continue
			}
			l, err := plotter.NewLine(cdfPoints(w.Pooled))
			if err != nil {
				return nil, fmt.Errorf("report: latency CDF of %s/%s: %w", v.Name, w.Name, err)
			}
			l.Color = palette[colours[vi]%len(palette)]
			l.Dashes = dashes[(styles[vi]+wi)%len(dashes)]
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(v.Name+" / "+w.Name, l)
			lines++
		}
	}
	// Fix the y range after adding lines (which widen it to their data).
	p.Y.Min, p.Y.Max = 0, 1
	switch {
	case lines == 0:
		p.X.Min, p.X.Max = 1, 1000 // an empty but valid log axis
	case p.X.Min >= p.X.Max:
		// Every latency is in one bucket; gonum would widen the range by
		// ±1, below zero, which a log axis cannot show.
		p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
	}
	return p, nil
}

// cdfStyles returns each variant's colour and dash pattern index in the
// CDF: without a sweep, the variant's own colour and the solid line (the
// workloads then take the dash patterns); with one, the colour of its base
// variant (as in the sweep figures) and a dash pattern per sweep point.
func cdfStyles(s *results.Summary) (colours, styles []int) {
	colours, styles = make([]int, len(s.Variants)), make([]int, len(s.Variants))
	var bases []string
	var points [][]results.PointSummary
	for i, v := range s.Variants {
		if v.Sweep == nil {
			colours[i] = i
			continue
		}
		if !contains(bases, v.Base) {
			bases = append(bases, v.Base)
		}
		colours[i] = index(bases, v.Base)
		k := 0
		for k < len(points) && !samePoint(points[k], v.Sweep) {
			k++
		}
		if k == len(points) {
			points = append(points, v.Sweep)
		}
		styles[i] = k
	}
	return colours, styles
}

// cdfPoints turns h (nanoseconds) into the points of its CDF in
// milliseconds, starting from (first value, 0) so the curve rises from 0.
func cdfPoints(h *stats.Histogram) plotter.XYs {
	values, fractions := h.CDF()
	xys := make(plotter.XYs, 0, len(values)+1)
	for i, v := range values {
		x := max(float64(v)/1e6, minLatencyMs)
		if i == 0 {
			xys = append(xys, plotter.XY{X: x, Y: 0})
		}
		xys = append(xys, plotter.XY{X: x, Y: fractions[i]})
	}
	return xys
}

// renderSVG draws p as SVG. vgsvg writes no timestamp and, without
// EmbedFonts, only font names, so the bytes depend on p alone.
func renderSVG(p *plot.Plot) ([]byte, error) {
	c := vgsvg.New(plotWidth, plotHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: svg: %w", err)
	}
	return b.Bytes(), nil
}

// renderPNG rasterises p at pngDPI. image/png writes no timestamp or other
// metadata, so the bytes depend on p alone.
func renderPNG(p *plot.Plot) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(pngDPI),
		vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: png: %w", err)
	}
	return b.Bytes(), nil
}
