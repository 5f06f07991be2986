package report

import (
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/meshsim/meshsim/results"
)

// Names of the instance-load figure's files. Render returns them only
// when some service has more than one instance.
const (
	InstanceLoadSVG = "instance-load.svg"
	InstanceLoadPNG = "instance-load.png"
)

// instanceLoadNote explains the instance-load figure.
const instanceLoadNote = "Per service with more than one instance, each instance's share of the " +
	"service's completions in the measured window (pooled over replications), one bar per variant; " +
	"the dashed line is the even share 1/n of n instances, which a perfectly balanced load would meet."

// evenColor draws the even-share line: dark enough to read on any bar.
var evenColor = color.Gray{Y: 0x30}

// instanceLoadBars returns one panel per service that has a completion
// share for more than one instance in some variant, in order of first
// appearance over the variants: one group per instance (0 to the largest
// count of any variant, minus one), one series per variant with shares,
// in percent. A variant's n instances add the even share 1/n to the
// panel's even list, each count once, in variant order.
func instanceLoadBars(s *results.Summary) []barPanel {
	var names []string
	for _, v := range s.Variants {
		for _, svc := range v.Services {
			if len(svc.InstanceShare) > 1 && !contains(names, svc.Name) {
				names = append(names, svc.Name)
			}
		}
	}
	var out []barPanel
	for _, name := range names {
		bp := barPanel{name: name}
		for vi, v := range s.Variants {
			for _, svc := range v.Services {
				n := len(svc.InstanceShare)
				if svc.Name != name || n == 0 {
					continue
				}
				pct := make([]float64, n)
				for i, share := range svc.InstanceShare {
					pct[i] = float64(share * 100)
				}
				bp.series = append(bp.series, barSeries{variant: vi, values: pct})
				for len(bp.groups) < n {
					bp.groups = append(bp.groups, strconv.Itoa(len(bp.groups)))
				}
				if !contains(bp.even, n) {
					bp.even = append(bp.even, n)
				}
			}
		}
		out = append(out, bp)
	}
	return out
}

// instanceLoadPlots draws the panels of instanceLoadBars, one per
// service, on linear y axes from 0; the top one carries the title and
// the variants' legend, and every panel names its even share(s). It
// returns no panel when no service has more than one instance.
func instanceLoadPlots(s *results.Summary) ([]*plot.Plot, error) {
	var out []*plot.Plot
	for i, bp := range instanceLoadBars(s) {
		p, err := barPlot(s, bp, i == 0)
		if err != nil {
			return nil, fmt.Errorf("report: instance load of %s: %w", bp.name, err)
		}
		if i == 0 {
			p.Title.Text = s.Scenario + ": load per instance, service " + bp.name
		} else {
			p.Title.Text = "service " + bp.name
		}
		p.Y.Label.Text = "share of completions (%)"
		p.X.Label.Text = "instance"
		p.Y.Tick.Marker = plainTicks{}
		for k, n := range bp.even {
			even := float64(100 / float64(n))
			l, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: even}, {X: p.X.Max, Y: even}})
			if err != nil {
				return nil, fmt.Errorf("report: instance load of %s: %w", bp.name, err)
			}
			l.LineStyle = draw.LineStyle{Color: evenColor, Width: vg.Points(1), Dashes: dashes[1+k%(len(dashes)-1)]}
			p.Add(l)
			p.Legend.Add("even share 1/"+strconv.Itoa(n), l)
		}
		// Shares are positive and sum to 100 %, so the highest is at least
		// the even share.
		p.Y.Min, p.Y.Max = 0, float64(p.Y.Max*barHeadroom(legendLines(s, bp, i == 0)))
		out = append(out, p)
	}
	return out, nil
}
