package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/meshsim/meshsim/results"
)

// LagFile returns the name of a bus reader's figure, without extension:
// lag-<reader>. Reader names (groups, queues, subscriptions, topics) are
// validated to [a-z0-9_-] and share one namespace, so the name is a safe
// file name and unique.
func LagFile(reader string) string { return "lag-" + reader }

// busFiguresNote explains the lag and staleness figures.
const busFiguresNote = "Per bus reader, over the whole run (warm-up included): the consumer lag at the end of " +
	"each of 64 slices of the run (a group's high watermark minus committed offset summed over partitions; " +
	"a queue's messages ready, in flight or backing off), mean over replications and, for a read model, " +
	"the mean read-your-write staleness of the commands acknowledged in each slice (pooled over " +
	"replications); one line per variant. Failure windows are shaded grey."

// busFigures returns one figure per bus reader that has a lag timeline
// in some variant, in order of first appearance over the variants: a lag
// panel and, for a read model, a staleness panel, one line per variant,
// failure windows shaded. The figure's name is the reader's label.
func busFigures(s *results.Summary) ([]timeline, []string, error) {
	type reader struct{ kind, name string }
	var readers []reader
	stale := map[reader]bool{}
	for _, v := range s.Variants {
		if v.Bus == nil {
			continue
		}
		for _, r := range v.Bus.Readers {
			k := reader{r.Kind, r.Name}
			if len(r.LagTimeline) > 0 && !contains(readers, k) {
				readers = append(readers, k)
			}
			stale[k] = stale[k] || r.ReadModel != ""
		}
	}
	events := failureEvents(s)
	var out []timeline
	var files []string
	for _, rd := range readers {
		label := rd.kind + " " + rd.name
		tl := timeline{workload: label}
		lag := newPanel(s, "lag (messages)", events, true)
		lag.Title.Text = s.Scenario + ": " + label + " over time"
		var st *plot.Plot
		if stale[rd] {
			st = newPanel(s, "staleness (ms)", events, false)
		}
		variants := 0
		for vi, v := range s.Variants {
			if v.Bus == nil {
				continue
			}
			for _, r := range v.Bus.Readers {
				if r.Kind != rd.kind || r.Name != rd.name {
					continue
				}
				variants++
				clr := palette[vi%len(palette)]
				if err := addSamples(lag, r.LagTimeline, r.LagStepS, clr, v.Name); err != nil {
					return nil, nil, fmt.Errorf("report: lag of %s/%s: %w", v.Name, label, err)
				}
				if st != nil && r.StalenessTimelineS != nil {
					if err := addSeries(st, s, r.LagStepS, r.StalenessTimelineS, 1000, clr, nil, ""); err != nil {
						return nil, nil, fmt.Errorf("report: staleness of %s/%s: %w", v.Name, label, err)
					}
				}
			}
		}
		tl.panels = append(tl.panels, lag)
		tl.lines = append(tl.lines, max(variants, len(events)))
		if st != nil {
			tl.panels = append(tl.panels, st)
			tl.lines = append(tl.lines, 0)
		}
		for _, p := range tl.panels[:len(tl.panels)-1] {
			p.X.Tick.Marker = unlabelled{plainTicks{}}
		}
		tl.panels[len(tl.panels)-1].X.Label.Text = "time (s)"
		for i, p := range tl.panels {
			fitY(p, tl.lines[i])
		}
		out = append(out, tl)
		files = append(files, LagFile(rd.name))
	}
	return out, files, nil
}

// addSamples draws values sampled at the end of each slice of stepS
// seconds (the lag timeline) as one line starting at 0 s, labelled in the
// legend.
func addSamples(p *plot.Plot, values []float64, stepS float64, clr color.Color, label string) error {
	pts := make(plotter.XYs, 0, len(values)+1)
	pts = append(pts, plotter.XY{X: 0, Y: 0}) // nothing published before the run
	for k, v := range values {
		pts = append(pts, plotter.XY{X: float64(float64(k+1) * stepS), Y: v})
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color, l.Width = clr, vg.Points(1.2)
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}
