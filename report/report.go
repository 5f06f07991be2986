package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meshsim/meshsim/results"
)

// File is one rendered output: a file name (no directory) and its contents.
type File struct {
	Name string
	Data []byte
}

// Names of the files Render returns, in the order it returns them.
const (
	SummaryJSON    = "summary.json"
	ReportMarkdown = "report.md"
	ReportHTML     = "report.html"
	LatencyCDFSVG  = "latency-cdf.svg"
	LatencyCDFPNG  = "latency-cdf.png"
)

// Render formats e as summary.json, report.md, report.html, latency-cdf.svg
// and latency-cdf.png, then, for a scenario with a sweep, for each
// workload sweep-<workload>.svg and sweep-<workload>.png (p99 and mean
// latency, throughput and error rate against the first swept field, with
// confidence whiskers), then, for each workload with a timeline (every
// workload of a run of the scenarios package), timeline-<workload>.svg and
// timeline-<workload>.png, in that order, workloads in order of first
// appearance over the variants, then, for each bus reader (consumer group,
// queue, subscription), lag-<reader>.svg and lag-<reader>.png. With a
// sweep, the timeline and lag figures are drawn per sweep point k (from
// 1), as timeline-<workload>-<k> and lag-<reader>-<k>, points in order,
// each with one line per variant; a sweep of more than 20 points gets
// none (timeline.csv has the series). A timeline
// figure stacks panels that share the time axis: p99 latency, throughput,
// error rate and, when a sidecar has outlier detection, ejected hosts; a
// reader's figure its consumer lag and, for a read model, its staleness;
// one line per variant, with the failure windows shaded. Last come the
// summary's tables as CSV: workloads.csv, services.csv, sidecars.csv,
// timeline.csv and events.csv (csv.go). It does no I/O: the caller writes
// the files. The same Experiment always gives byte-identical files.
//
// Between latency-cdf.png and the sweep figures come the bar figures
// (percentiles.go, instances.go): percentiles.svg and percentiles.png,
// always, with one panel per workload that has latency data and, in it,
// bars of the mean, p50, p90, p99 and p99.9 per variant with 95%
// confidence whiskers; then instance-load.svg and instance-load.png, with
// one panel per service that has more than one instance and, in it, each
// instance's share of the completions per variant against the even share,
// omitted when no service has more than one instance. Neither is drawn
// for more than six variants (as a sweep usually has).
func Render(e *results.Experiment) ([]File, error) {
	if e == nil {
		return nil, fmt.Errorf("report: nil experiment")
	}
	s := results.Summarize(e)
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("report: summary.json: %w", err)
	}
	js = append(js, '\n')

	svg, png, err := renderPlots(s)
	if err != nil {
		return nil, err
	}
	bars, err := renderBarFigures(s) // percentiles.go
	if err != nil {
		return nil, err
	}
	sweepFigs, err := renderSweeps(s)
	if err != nil {
		return nil, err
	}
	figs, err := renderTimelines(s)
	if err != nil {
		return nil, err
	}
	busFigs, err := renderBusFigures(s)
	if err != nil {
		return nil, err
	}

	p := newPage(e, s)
	p.Bars = bars
	html, err := htmlPage(p, svg, sweepFigs, figs, busFigs)
	if err != nil {
		return nil, err
	}
	files := []File{
		{Name: SummaryJSON, Data: js},
		{Name: ReportMarkdown, Data: markdown(p, LatencyCDFSVG, sweepFigs, figs, busFigs)},
		{Name: ReportHTML, Data: html},
		{Name: LatencyCDFSVG, Data: svg},
		{Name: LatencyCDFPNG, Data: png},
	}
	for _, f := range bars {
		files = append(files, File{Name: f.name + ".svg", Data: f.svg}, File{Name: f.name + ".png", Data: f.png})
	}
	for _, f := range slices.Concat(sweepFigs, figs, busFigs) {
		files = append(files, File{Name: f.name + ".svg", Data: f.svg}, File{Name: f.name + ".png", Data: f.png})
	}
	tables, err := csvFiles(s)
	if err != nil {
		return nil, err
	}
	return append(files, tables...), nil
}

// renderSweeps draws every workload's sweep figure as SVG and PNG,
// turning a gonum/plot panic into an error; nil without a sweep.
func renderSweeps(s *results.Summary) (figs []timelineFigure, err error) {
	defer func() {
		if r := recover(); r != nil {
			figs, err = nil, fmt.Errorf("report: sweep plot: %v", r)
		}
	}()
	tls, err := sweeps(s)
	if err != nil {
		return nil, err
	}
	for _, tl := range tls {
		f := timelineFigure{workload: tl.workload, name: SweepFile(tl.workload)}
		if f.svg, err = renderTimelineSVG(tl); err != nil {
			return nil, err
		}
		if f.png, err = renderTimelinePNG(tl); err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// renderBusFigures draws every bus reader's lag (and staleness) figure
// as SVG and PNG, turning a gonum/plot panic into an error.
func renderBusFigures(s *results.Summary) (figs []timelineFigure, err error) {
	defer func() {
		if r := recover(); r != nil {
			figs, err = nil, fmt.Errorf("report: bus plot: %v", r)
		}
	}()
	for _, part := range pointParts(s) {
		tls, names, err := busFigures(part.s)
		if err != nil {
			return nil, err
		}
		for i, tl := range tls {
			f := timelineFigure{workload: tl.workload + part.label, name: names[i] + part.suffix}
			if f.svg, err = renderTimelineSVG(tl); err != nil {
				return nil, err
			}
			if f.png, err = renderTimelinePNG(tl); err != nil {
				return nil, err
			}
			figs = append(figs, f)
		}
	}
	return figs, nil
}

// maxTimelinePoints bounds the sweep points that get timeline and lag
// figures of their own; a larger sweep gets none (timeline.csv has the
// series).
const maxTimelinePoints = 20

// pointPart is the part of a summary that one set of timeline figures
// shows.
type pointPart struct {
	s      *results.Summary
	suffix string // appended to file names: "" without a sweep, "-k" at point k (from 1)
	label  string // appended to headings: "" without a sweep, " at rate=400/s"
}

// pointParts splits a summary with a sweep into one part per sweep point,
// in order of first appearance, each with the variants at that point
// under their base names (so a figure has one line per policy in the
// sweep figures' colours) and the point in its title; a summary without a
// sweep is its only part. O(variants x points).
func pointParts(s *results.Summary) []pointPart {
	if len(s.Variants) == 0 || s.Variants[0].Sweep == nil {
		return []pointPart{{s: s}}
	}
	var points [][]results.PointSummary
	var groups [][]int
	for i, v := range s.Variants {
		k := 0
		for k < len(points) && !samePoint(points[k], v.Sweep) {
			k++
		}
		if k == len(points) {
			points, groups = append(points, v.Sweep), append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	if len(points) > maxTimelinePoints {
		return nil
	}
	parts := make([]pointPart, len(points))
	for k, pt := range points {
		labels := make([]string, len(pt))
		for j, p := range pt {
			labels[j] = p.Label + "=" + p.Value
		}
		label := strings.Join(labels, " ")
		sub := *s
		sub.Scenario = s.Scenario + " at " + label
		sub.Variants = nil
		for _, i := range groups[k] {
			v := s.Variants[i]
			v.Name = v.Base
			sub.Variants = append(sub.Variants, v)
		}
		parts[k] = pointPart{s: &sub, suffix: "-" + strconv.Itoa(k+1), label: " at " + label}
	}
	return parts
}

// samePoint reports whether two variants are at the same sweep point.
func samePoint(a, b []results.PointSummary) bool {
	return slices.EqualFunc(a, b, func(x, y results.PointSummary) bool { return x.Path == y.Path && x.Value == y.Value })
}

// timelineFigure is one workload's rendered timeline.
type timelineFigure struct {
	workload string
	name     string // file name without extension
	svg, png []byte
}

// renderTimelines draws every workload's timeline as SVG and PNG, turning a
// gonum/plot panic into an error as renderPlots does.
func renderTimelines(s *results.Summary) (figs []timelineFigure, err error) {
	defer func() {
		if r := recover(); r != nil {
			figs, err = nil, fmt.Errorf("report: timeline plot: %v", r)
		}
	}()
	for _, part := range pointParts(s) {
		tls, err := timelines(part.s)
		if err != nil {
			return nil, err
		}
		for _, tl := range tls {
			f := timelineFigure{workload: tl.workload + part.label, name: TimelineFile(tl.workload) + part.suffix}
			if f.svg, err = renderTimelineSVG(tl); err != nil {
				return nil, err
			}
			if f.png, err = renderTimelinePNG(tl); err != nil {
				return nil, err
			}
			figs = append(figs, f)
		}
	}
	return figs, nil
}

// renderPlots draws the latency CDF as SVG and PNG. gonum/plot reports some
// bad input (such as a non-positive value on a log axis) by panicking; that
// is turned into an error here so that a bad Experiment cannot crash the
// caller.
func renderPlots(s *results.Summary) (svg, png []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			svg, png, err = nil, nil, fmt.Errorf("report: plot: %v", r)
		}
	}()
	plt, err := latencyCDF(s)
	if err != nil {
		return nil, nil, err
	}
	if svg, err = renderSVG(plt); err != nil {
		return nil, nil, err
	}
	if png, err = renderPNG(plt); err != nil {
		return nil, nil, err
	}
	return svg, png, nil
}
