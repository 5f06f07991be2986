package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/meshsim/meshsim/results"
)

// PrecisionLine says how precision-based stopping went, in one line: the
// target and the rounds when every variant met it, or, when the run
// stopped at max_replications first, which variant and workload did not
// and by how much. It is "" for a run with a fixed replication count.
func PrecisionLine(p *results.Precision) string {
	if p == nil {
		return ""
	}
	scale, unit := 1000.0, "ms"
	switch p.Metric {
	case "throughput":
		scale, unit = 1, "/s"
	case "error_rate":
		scale, unit = 100, "%"
	}
	short := func(x float64) string { return strconv.FormatFloat(math.Round(x*1e6)/1e6, 'f', -1, 64) }
	target := "± " + short(p.Relative*100) + "%"
	if p.Relative == 0 {
		target = "± " + short(p.Absolute*scale) + " " + unit
	}
	of := p.Metric
	if p.Workload != "" {
		of += " of " + p.Workload
	}
	rounds := make([]string, len(p.Rounds))
	for i, n := range p.Rounds {
		rounds[i] = strconv.Itoa(n)
	}
	n := 0
	if len(p.Rounds) > 0 {
		n = p.Rounds[len(p.Rounds)-1]
	}
	if p.Reached {
		return "precision: " + of + " known to " + target + " in every variant after " +
			plural(n, "replication") + " (rounds: " + strings.Join(rounds, ", ") + ")"
	}
	w := p.Widest
	got := "no interval"
	if w.HalfWidth != nil {
		got = withCI(w.Mean, &results.Interval{Lo: w.Mean - *w.HalfWidth, Hi: w.Mean + *w.HalfWidth}, scale, unit)
		if p.Relative > 0 && w.Mean != 0 {
			got += " (± " + sig3(*w.HalfWidth/math.Abs(w.Mean)*100) + "%)"
		}
	}
	if w.Variant == "" {
		return "precision NOT reached: no variant had data for " + of + " after " + plural(n, "replication") +
			" (max_replications " + strconv.Itoa(p.MaxReplications) + ")"
	}
	return "precision NOT reached: stopped at max_replications (" + strconv.Itoa(p.MaxReplications) + ") with " +
		p.Metric + " of " + w.Workload + " in variant " + w.Variant + " at " + got + ", wider than the target " + target +
		"; raise max_replications or the duration, or accept a wider half_width"
}
