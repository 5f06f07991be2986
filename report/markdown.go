package report

import (
	"strings"
)

// markdown lays p out as GitHub-flavoured Markdown. plot is the file name of
// the latency CDF image and figs the timelines, linked relative to the
// report.
func markdown(p *page, plot string, sweepFigs, figs, busFigs []timelineFigure) []byte {
	var b strings.Builder
	b.WriteString("# " + inline(p.Title) + "\n\n")
	if p.Description != "" {
		b.WriteString(p.Description + "\n\n")
	}
	b.WriteString(inline(p.Meta) + "\n\n")
	if p.Precision != "" {
		b.WriteString("**" + inline(p.Precision) + "**\n\n")
	}
	if p.WarmupWarn {
		b.WriteString("**" + inline(p.Warmup) + "**\n\n")
	} else if p.Warmup != "" {
		b.WriteString(inline(p.Warmup) + "\n\n")
	}
	b.WriteString(inline(p.Note) + "\n\n")
	if len(p.SLO.Rows) > 0 {
		b.WriteString("## " + inline(p.SLOTitle) + "\n\n" + sloNote + "\n\n")
		writeTable(&b, p.SLO)
		b.WriteString("\n")
	}
	b.WriteString("![" + inline(p.Title) + ": latency CDF](" + plot + ")\n")
	writeBarFigures(&b, p)
	if len(p.Sweep.Rows) > 0 {
		b.WriteString("\n## Sweep\n\n" + sweepNote + "\n")
		for _, f := range sweepFigs {
			b.WriteString("\n![" + inline(p.Title) + ": " + f.workload + " by sweep point](" + f.name + ".svg)\n")
		}
		b.WriteString("\n")
		writeTable(&b, p.Sweep)
	}
	if len(figs) > 0 {
		b.WriteString("\n## Timelines\n\n" + timelineNote + "\n")
		for _, f := range figs {
			b.WriteString("\n![" + inline(p.Title) + ": " + f.workload + " over time](" + f.name + ".svg)\n")
		}
	}
	if len(busFigs) > 0 {
		b.WriteString("\n## Consumer lag and staleness\n\n" + busFiguresNote + "\n")
		for _, f := range busFigs {
			b.WriteString("\n![" + inline(p.Title) + ": " + f.workload + " over time](" + f.name + ".svg)\n")
		}
	}
	for _, v := range p.Variants {
		b.WriteString("\n## Variant " + inline(v.Name) + "\n\n")
		b.WriteString(inline(v.Meta) + "\n")
		if len(v.Workloads) == 0 {
			b.WriteString("\nNo workloads recorded.\n")
		}
		for _, w := range v.Workloads {
			b.WriteString("\n### Workload " + inline(w.Name) + "\n\n")
			rows := make([][]string, len(w.Rows))
			for i, r := range w.Rows {
				rows[i] = r[:]
			}
			writeTable(&b, table{Header: []string{"metric", "value"}, Rows: rows})
		}
		b.WriteString("\n### Services\n\n")
		if len(v.Services.Rows) == 0 {
			b.WriteString("No services recorded.\n")
		} else {
			writeTable(&b, v.Services)
		}
		if len(v.Sidecars.Rows) > 0 {
			b.WriteString("\n### Sidecars\n\n")
			writeTable(&b, v.Sidecars)
		}
		if len(v.Connections.Rows) > 0 {
			b.WriteString("\n### Connections\n\n")
			writeTable(&b, v.Connections)
		}
		if len(v.ControlPlane.Rows) > 0 {
			b.WriteString("\n### Control plane\n\n")
			writeTable(&b, v.ControlPlane)
		}
		if len(v.Conservation) > 0 {
			b.WriteString("\n")
			for _, c := range v.Conservation {
				b.WriteString("- " + inline(c) + "\n")
			}
		}
		if bv := v.Bus; bv != nil {
			b.WriteString("\n### Bus\n\n" + busNote + "\n\n")
			writeTable(&b, bv.Ledgers)
			b.WriteString("\n")
			writeTable(&b, bv.Latency)
			if len(bv.Timeline.Rows) > 0 {
				b.WriteString("\n")
				writeTable(&b, bv.Timeline)
			}
			if len(bv.ReadModels.Rows) > 0 {
				b.WriteString("\n")
				writeTable(&b, bv.ReadModels)
			}
			if len(bv.Producers.Rows) > 0 {
				b.WriteString("\n")
				writeTable(&b, bv.Producers)
			}
			b.WriteString("\n")
			for _, c := range bv.Conservation {
				b.WriteString("- " + inline(c) + "\n")
			}
		}
	}
	if len(p.Paired.Rows) > 0 {
		b.WriteString("\n## " + inline(p.PairedTitle) + "\n\n" + pairedNote + "\n\n")
		writeTable(&b, p.Paired)
	}
	b.WriteString("\n## Scenario\n\n")
	if p.Source == "" {
		b.WriteString("The scenario source was not recorded.\n")
	} else {
		fence := strings.Repeat("`", max(3, longestRun(p.Source, '`')+1))
		b.WriteString(fence + "yaml\n" + strings.TrimRight(p.Source, "\n") + "\n" + fence + "\n")
	}
	return []byte(b.String())
}

func writeTable(b *strings.Builder, t table) {
	writeRow(b, t.Header)
	b.WriteString("|")
	for range t.Header {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		writeRow(b, r)
	}
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + cell(c) + " |")
	}
	b.WriteString("\n")
}

// inline makes user-supplied text safe on one Markdown line: line breaks
// become spaces.
func inline(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// cell makes s safe inside a Markdown table cell: one line, pipes escaped.
func cell(s string) string {
	return strings.ReplaceAll(inline(s), "|", `\|`)
}

// longestRun returns the length of the longest run of c in s, so that a
// code fence can be made longer than any fence inside the scenario.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}
