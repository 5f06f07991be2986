package report

import (
	"bytes"
	"fmt"
	"html/template"
)

// htmlTemplate lays out a page as one self-contained HTML file: the style
// sheet is inline and the plot is an inline <svg>, so the file references
// nothing outside itself. html/template escapes every user-supplied string.
var htmlTemplate = template.Must(template.New("report.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Page.Title}}: meshsim report</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1b1b; max-width: 64rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; line-height: 1.45; }
header { border-bottom: 2px solid #d0d7de; margin-bottom: 1rem; }
h1 { margin: 0.5rem 0 0.25rem; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem; margin-top: 2rem; }
h3 { margin: 1.25rem 0 0.5rem; }
.meta { color: #57606a; margin: 0.25rem 0 0.75rem; }
.note { color: #57606a; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td { white-space: nowrap; }
.scroll { overflow-x: auto; }
.description { white-space: pre-line; }
th { background: #f6f8fa; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
ul.conservation { padding-left: 1.25rem; }
</style>
</head>
<body>
<header>
<h1>{{.Page.Title}}</h1>
<p class="meta">{{.Page.Meta}}</p>
{{if .Page.Precision}}<p class="meta"><strong>{{.Page.Precision}}</strong></p>
{{end}}{{if .Page.WarmupWarn}}<p class="meta"><strong>{{.Page.Warmup}}</strong></p>
{{else if .Page.Warmup}}<p class="meta">{{.Page.Warmup}}</p>
{{end}}</header>
{{if .Page.Description}}<p class="description">{{.Page.Description}}</p>
{{end}}<p class="note">{{.Page.Note}}</p>
{{if .Page.SLO.Rows}}<section>
<h2>{{.Page.SLOTitle}}</h2>
<p class="note">{{.SLONote}}</p>
{{template "table" .Page.SLO}}</section>
{{end}}<figure>
{{.SVG}}
</figure>
{{range .Page.Bars}}<section>
<h2>{{.Title}}</h2>
<p class="note">{{.Note}}</p>
<figure>
{{.InlineSVG}}
</figure>
</section>
{{end}}{{if .Page.Sweep.Rows}}<section>
<h2>Sweep</h2>
<p class="note">{{.SweepNote}}</p>
{{range .Sweeps}}<h3>Workload {{.Workload}}</h3>
<figure>
{{.SVG}}
</figure>
{{end}}{{template "table" .Page.Sweep}}</section>
{{end}}{{if .Timelines}}<section>
<h2>Timelines</h2>
<p class="note">{{.TimelineNote}}</p>
{{range .Timelines}}<h3>Workload {{.Workload}}</h3>
<figure>
{{.SVG}}
</figure>
{{end}}</section>
{{end}}{{if .BusFigures}}<section>
<h2>Consumer lag and staleness</h2>
<p class="note">{{.BusFiguresNote}}</p>
{{range .BusFigures}}<h3>{{.Workload}}</h3>
<figure>
{{.SVG}}
</figure>
{{end}}</section>
{{end}}{{range .Page.Variants}}
<section>
<h2>Variant {{.Name}}</h2>
<p class="meta">{{.Meta}}</p>
{{range .Workloads}}<h3>Workload {{.Name}}</h3>
<table>
<thead><tr><th>metric</th><th>value</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No workloads recorded.</p>
{{end}}<h3>Services</h3>
{{if .Services.Rows}}<div class="scroll"><table>
<thead><tr>{{range .Services.Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Services.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{else}}<p>No services recorded.</p>
{{end}}{{if .Sidecars.Rows}}<h3>Sidecars</h3>
<div class="scroll"><table>
<thead><tr>{{range .Sidecars.Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Sidecars.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}{{if .Connections.Rows}}<h3>Connections</h3>
{{template "table" .Connections}}{{end}}{{if .ControlPlane.Rows}}<h3>Control plane</h3>
{{template "table" .ControlPlane}}{{end}}{{if .Conservation}}<ul class="conservation">
{{range .Conservation}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{with .Bus}}<h3>Bus</h3>
<p class="note">{{$.BusNote}}</p>
{{template "table" .Ledgers}}{{template "table" .Latency}}{{if .Timeline.Rows}}{{template "table" .Timeline}}{{end}}{{if .ReadModels.Rows}}{{template "table" .ReadModels}}{{end}}{{if .Producers.Rows}}{{template "table" .Producers}}{{end}}<ul class="conservation">
{{range .Conservation}}<li>{{.}}</li>
{{end}}</ul>
{{end}}</section>
{{end}}{{if .Page.Paired.Rows}}
<section>
<h2>{{.Page.PairedTitle}}</h2>
<p class="note">{{.PairedNote}}</p>
<div class="scroll"><table>
<thead><tr>{{range .Page.Paired.Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Page.Paired.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
</section>
{{end}}
<section>
<h2>Scenario</h2>
{{if .Page.Source}}<pre>{{.Page.Source}}</pre>
{{else}}<p>The scenario source was not recorded.</p>
{{end}}</section>
</body>
</html>
{{define "table"}}<div class="scroll"><table>
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}`))

// htmlPage renders p with the plot svg (an SVG document as vgsvg writes it)
// and the timeline figures inlined.
func htmlPage(p *page, svg []byte, sweepFigs, figs, busFigs []timelineFigure) ([]byte, error) {
	inlined, err := inlineSVG(svg)
	if err != nil {
		return nil, err
	}
	type timelineView struct {
		Workload string
		SVG      template.HTML
	}
	views := func(figs []timelineFigure) ([]timelineView, error) {
		var out []timelineView
		for _, f := range figs {
			svg, err := inlineSVG(f.svg)
			if err != nil {
				return nil, err
			}
			out = append(out, timelineView{f.workload, svg})
		}
		return out, nil
	}
	tls, err := views(figs)
	if err != nil {
		return nil, err
	}
	bus, err := views(busFigs)
	if err != nil {
		return nil, err
	}
	sweeps, err := views(sweepFigs)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	data := struct {
		Page           *page
		SVG            template.HTML
		PairedNote     string
		Timelines      []timelineView
		TimelineNote   string
		BusNote        string
		BusFigures     []timelineView
		BusFiguresNote string
		Sweeps         []timelineView
		SweepNote      string
		SLONote        string
	}{p, inlined, pairedNote, tls, timelineNote, busNote, bus, busFiguresNote, sweeps, sweepNote, sloNote}
	if err := htmlTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("report: html: %w", err)
	}
	return b.Bytes(), nil
}

// inlineSVG strips the XML prolog and comments that precede the <svg>
// element so that the document can sit inside HTML. The result is trusted
// markup: vgsvg escapes every string it draws (titles, legend labels), so
// user-supplied names cannot inject elements.
func inlineSVG(svg []byte) (template.HTML, error) {
	i := bytes.Index(svg, []byte("<svg"))
	if i < 0 {
		return "", fmt.Errorf("report: plot SVG has no <svg> element")
	}
	return template.HTML(bytes.TrimSpace(svg[i:])), nil
}
