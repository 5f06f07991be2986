package report

import (
	"math"
	"strings"
	"time"

	"github.com/meshsim/meshsim/results"
)

// page is the content that report.md and report.html share, already
// formatted: both renderers only lay it out, so the two files always show
// the same numbers.
type page struct {
	Title       string // the scenario name
	Description string
	Meta        string // seed, version, duration, warm-up, replications
	Precision   string // how precision-based stopping went; "" without it
	Warmup      string // what the warm-up check found (WarmupLine); "" when no workload was checked
	WarmupWarn  bool   // Warmup is a warning
	Note        string // how to read the numbers
	Variants    []variantView
	// Paired holds the paired differences against the first variant; its
	// Rows are empty with a single variant.
	Paired      table
	PairedTitle string
	// SLO judges each variant against the scenario's objective; its Rows
	// are empty without one.
	SLO      table
	SLOTitle string
	// Sweep is the sweep at a glance; its Rows are empty without a sweep.
	Sweep  table
	Source string // the scenario YAML
	// Bars are the bar figures (percentiles.go, instances.go), shown
	// after the latency CDF; Render sets them.
	Bars []barFigure
}

type variantView struct {
	Name         string
	Meta         string // replications and kernel events
	Workloads    []workloadView
	Services     table
	Sidecars     table    // empty Rows when no proxy recorded anything
	Connections  table    // proxies with connection pools; empty Rows when none has them
	ControlPlane table    // autoscalers and deploys; empty Rows when none
	Conservation []string // one line per workload
	Bus          *busView // nil without a bus
}

type workloadView struct {
	Name string
	Rows [][2]string // metric, value
}

type table struct {
	Header []string
	Rows   [][]string
}

const note = "Counts are totals over all replications. Rates, utilisation, queue lengths and " +
	"latencies are means across replications; \"± h\" is the half-width of the 95% confidence " +
	"interval (Student t across replications), shown when there are at least two."

func newPage(e *results.Experiment, s *results.Summary) *page {
	p := &page{
		Title:       e.Scenario,
		Description: strings.TrimSpace(e.Description),
		Meta: "seed " + uintString(e.Seed) +
			" · version " + e.Version +
			" · duration " + e.Duration.String() +
			" · warm-up " + e.Warmup.String() +
			" · " + plural(e.Replications, "replication"),
		Note:      note,
		Source:    e.Source,
		Precision: PrecisionLine(e.Precision),
	}
	p.Warmup, p.WarmupWarn = WarmupLine(s)
	p.Sweep = sweepTable(s)
	p.SLO = sloTable(s.SLO)
	if s.SLO != nil {
		p.SLOTitle = sloTitle(s.SLO)
	}
	for i := range s.Variants {
		p.Variants = append(p.Variants, newVariantView(&e.Variants[i], &s.Variants[i], e.Duration))
	}
	p.Paired = table{Header: []string{"variant", "workload", "Δ latency mean", "Δ latency p99"}}
	swept := len(s.Variants) > 0 && s.Variants[0].Sweep != nil
	if swept {
		// Each sweep point has its own baseline: name it on every row.
		p.Paired.Header = []string{"variant", "baseline", "workload", "Δ latency mean", "Δ latency p99"}
	}
	for _, c := range s.Comparisons {
		if swept {
			p.PairedTitle = "Paired differences against " + s.Variants[0].Base + " at the same sweep point"
			p.Paired.Rows = append(p.Paired.Rows, []string{c.Variant, c.Baseline, c.Workload, delta(c.LatencyMeanS), delta(c.LatencyP99S)})
			continue
		}
		p.PairedTitle = "Paired differences against " + c.Baseline
		p.Paired.Rows = append(p.Paired.Rows, []string{c.Variant, c.Workload, delta(c.LatencyMeanS), delta(c.LatencyP99S)})
	}
	return p
}

// timelineNote explains the timeline figures.
const timelineNote = "Per window of the run, warm-up included, by the time requests finished: p99 latency " +
	"of ok requests (pooled over replications), ok requests per second and the share of finished requests " +
	"that were not ok (means over replications) and, with outlier detection, the time-weighted mean number " +
	"of ejected hosts; one line per variant. Failure windows are shaded grey."

// pairedNote explains the paired-differences table.
const pairedNote = "Each variant minus the baseline, replication by replication: all variants see the " +
	"same arrivals and service times (common random numbers), so the interval is that of the policy's " +
	"effect alone. \"lower\" or \"higher\" means the 95% interval excludes zero."

// delta formats a paired difference in milliseconds with its verdict.
func delta(e *results.Estimate) string {
	if e == nil {
		return noData
	}
	s := withCI(e.Mean, e.CI95, 1000, "ms")
	switch {
	case e.CI95 == nil:
	case e.CI95.Hi < 0:
		s += " (lower)"
	case e.CI95.Lo > 0:
		s += " (higher)"
	default:
		s += " (no significant difference)"
	}
	return s
}

func newVariantView(v *results.Variant, vs *results.VariantSummary, duration time.Duration) variantView {
	vv := variantView{
		Name: vs.Name,
		Meta: plural(len(v.Replications), "replication") + ", " + uintString(vs.Events) + " kernel events",
		Services: table{Header: []string{
			"service", "instances × slots", "completed", "utilisation", "mean queue length",
			"latency mean", "latency p99", "instance share",
		}},
	}
	vv.Bus = newBusView(vs.Bus, duration)
	for _, w := range vs.Workloads {
		vv.Workloads = append(vv.Workloads, workloadView{Name: w.Name, Rows: workloadRows(&w)})
		vv.Conservation = append(vv.Conservation, conservation(&w))
	}
	for _, svc := range vs.Services {
		vv.Services.Rows = append(vv.Services.Rows, serviceRow(&svc))
		if line := littlesLaw(&svc); line != "" {
			vv.Conservation = append(vv.Conservation, line)
		}
	}
	vv.Sidecars.Header = []string{"caller → service", "requests", "attempts", "attempts per request",
		"retries", "retry overflows", "breaker overflows", "per-try timeouts", "route timeouts", "ejections", "hedges (won)", "instance share"}
	for _, sc := range vs.Sidecars {
		amp := "-"
		if sc.Amplification != nil {
			amp = sig3(*sc.Amplification)
		}
		share := "-"
		if len(sc.HostShare) > 0 {
			parts := make([]string, len(sc.HostShare))
			for i, f := range sc.HostShare {
				parts[i] = percent(f)
			}
			share = strings.Join(parts, " / ")
		}
		vv.Sidecars.Rows = append(vv.Sidecars.Rows, []string{
			sc.Caller + " → " + sc.Service, count(sc.Calls), count(sc.Attempts), amp,
			count(sc.Retries), count(sc.RetryOverflows), count(sc.Overflows),
			count(sc.PerTryTimeouts), count(sc.RouteTimeouts), count(sc.Ejections),
			count(sc.Hedges) + " (" + count(sc.HedgeWins) + ")", share,
		})
	}
	vv.Connections = connectionsTable(vs)
	vv.ControlPlane = controlPlaneTable(vs)
	return vv
}

// connectionsTable lists what the connection pools of the proxies that
// have them did, in the order of the sidecars table: a table of its own,
// so that the sidecars table keeps no columns of zeros for proxies
// without pools (the default).
func connectionsTable(vs *results.VariantSummary) table {
	t := table{Header: []string{"caller → service", "opened (failed)", "closed", "most open",
		"max_connections overflows", "pending overflows"}}
	for _, sc := range vs.Sidecars {
		if sc.MaxOpenConnections == nil { // no connection pools
			continue
		}
		t.Rows = append(t.Rows, []string{
			sc.Caller + " → " + sc.Service,
			count(sc.ConnectionsOpened) + " (" + count(sc.ConnectFailures) + ")",
			count(sc.ConnectionsClosed), count(int64(*sc.MaxOpenConnections)),
			count(sc.ConnectionOverflows), count(sc.PendingOverflows),
		})
	}
	return t
}

// controlPlaneTable lists a variant's autoscalers (how often they scaled,
// the highest count, the last decisions) and deploys (how long they took).
func controlPlaneTable(vs *results.VariantSummary) table {
	t := table{Header: []string{"action", "service", "what happened"}}
	for _, a := range vs.Autoscalers {
		what := "scaled up " + estimate(&a.ScaleUps, 1, "") + " and down " + estimate(&a.ScaleDowns, 1, "") +
			" times per replication; at most " + count(int64(a.MaxDesired)) + " pods"
		var steps []string
		for _, d := range a.Decisions {
			if d.Desired != d.Current {
				steps = append(steps, sig3(d.AtS)+"s "+count(int64(d.Current))+"→"+count(int64(d.Desired)))
			}
		}
		if len(steps) > 12 {
			steps = append(steps[:12], "…")
		}
		if len(steps) > 0 {
			what += "; replication 0: " + strings.Join(steps, ", ")
		}
		t.Rows = append(t.Rows, []string{"autoscale", a.Service, what})
	}
	for _, d := range vs.Deploys {
		what := "at " + sig3(d.AtS) + "s; "
		if d.DurationS != nil {
			what += "every pod on the version after " + estimate(d.DurationS, 1, "s") + " (" + plural(d.Completed, "replication") + ")"
		} else {
			what += "never complete (superseded, or still rolling at the end)"
		}
		t.Rows = append(t.Rows, []string{"deploy", d.Target, what})
	}
	return t
}

func workloadRows(w *results.WorkloadSummary) [][2]string {
	o := w.Outcomes
	rows := [][2]string{{"requests", count(w.Requests)}, {"ok", count(o.OK)}}
	for _, oc := range []struct {
		name string
		n    int64
	}{
		{"error", o.Error}, {"timeout", o.Timeout}, {"rejected", o.Rejected}, {"shed", o.Shed}, {"denied", o.Denied},
		{"dead_lettered", o.DeadLettered}, {"dropped", o.Dropped}, {"in_flight", o.InFlight},
	} {
		if oc.n != 0 {
			rows = append(rows, [2]string{oc.name, count(oc.n)})
		}
	}
	rows = append(rows,
		[2]string{"throughput", estimate(w.ThroughputPerS, 1, "/s")},
		[2]string{"error rate", estimate(w.ErrorRate, 100, "%")},
	)
	l := w.LatencyS
	if l == nil {
		return append(rows, [2]string{"latency", noData})
	}
	var ci results.LatencyCI
	var mean, p50, p90, p99, p999 *results.Interval
	if l.CI95 != nil {
		ci = *l.CI95
		mean, p50, p90, p99, p999 = &ci.Mean, &ci.P50, &ci.P90, &ci.P99, &ci.P999
	}
	rows = append(rows,
		[2]string{"latency mean", ms(l.Mean, mean)},
		[2]string{"latency p50", ms(l.P50, p50)},
		[2]string{"latency p90", ms(l.P90, p90)},
		[2]string{"latency p99", ms(l.P99, p99)},
		[2]string{"latency p99.9", ms(l.P999, p999)},
	)
	if e := w.EndToEndS; e != nil {
		// The whole trace: the request, then what it caused on the bus.
		c := latencyCells(e)
		rows = append(rows,
			[2]string{"end to end mean (trace across the bus)", c[0]},
			[2]string{"end to end p99", c[2]},
		)
	}
	return rows
}

func serviceRow(s *results.ServiceSummary) []string {
	latMean, latP99 := noData, "-"
	if l := s.LatencyS; l != nil {
		var mean, p99 *results.Interval
		if l.CI95 != nil {
			mean, p99 = &l.CI95.Mean, &l.CI95.P99
		}
		latMean, latP99 = ms(l.Mean, mean), ms(l.P99, p99)
	}
	share := "-"
	if len(s.InstanceShare) > 0 {
		parts := make([]string, len(s.InstanceShare))
		for i, f := range s.InstanceShare {
			parts[i] = percent(f)
		}
		share = strings.Join(parts, " / ")
	}
	return []string{
		s.Name,
		count(int64(s.Instances)) + " × " + count(int64(s.Concurrency)),
		count(s.Completed),
		withCI(s.Utilisation.Mean, s.Utilisation.CI95, 100, "%"),
		withCI(s.QueueLengthMean.Mean, s.QueueLengthMean.CI95, 1, ""),
		latMean,
		latP99,
		share,
	}
}

// conservation states the request accounting of one workload: requests
// must equal the sum of the outcome counts.
func conservation(w *results.WorkloadSummary) string {
	o := w.Outcomes
	sum := o.OK + o.Error + o.Timeout + o.Rejected + o.Shed + o.Denied + o.DeadLettered + o.Dropped + o.InFlight
	verdict, rel := "conserved", " = "
	if sum != w.Requests {
		verdict, rel = "NOT CONSERVED", " ≠ "
	}
	return "Conservation (" + w.Name + "): requests " + count(w.Requests) + rel +
		"sum of outcomes " + count(sum) + ", " + verdict + "."
}

// littlesLaw compares the two sides of L = λW for a service; "" without
// the check.
func littlesLaw(s *results.ServiceSummary) string {
	c := s.LittlesLaw
	if c == nil {
		return ""
	}
	gap := "equal"
	if c.LambdaW > 0 {
		gap = sig(math.Abs(c.L-c.LambdaW)/c.LambdaW*100, 2) + "% apart"
	}
	return "Little's law (" + s.Name + "): L = " + sig3(c.L) + " requests at the instances, λW = " + sig3(c.LambdaW) +
		" (" + gap + "; requests that straddle the window's edges or leave unfinished, expired or lost, make a gap)."
}

// plural formats "n thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return count(int64(n)) + " " + thing + "s"
}
