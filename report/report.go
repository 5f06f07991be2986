package report

import (
	"encoding/json"
	"fmt"

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
// and latency-cdf.png, in that order. It does no I/O: the caller writes the
// files. The same Experiment always gives byte-identical files.
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

	p := newPage(e, s)
	html, err := htmlPage(p, svg)
	if err != nil {
		return nil, err
	}
	return []File{
		{Name: SummaryJSON, Data: js},
		{Name: ReportMarkdown, Data: markdown(p, LatencyCDFSVG)},
		{Name: ReportHTML, Data: html},
		{Name: LatencyCDFSVG, Data: svg},
		{Name: LatencyCDFPNG, Data: png},
	}, nil
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
