package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/meshsim/meshsim/results"
)

// Names of the CSV files Render returns: the summary's tables, one row per
// (variant, entity), for spreadsheets and notebooks. Times are in seconds;
// an empty cell is a value the summary leaves out (no data, or no interval
// with fewer than two replications).
const (
	WorkloadsCSV = "workloads.csv"
	ServicesCSV  = "services.csv"
	SidecarsCSV  = "sidecars.csv"
	TimelineCSV  = "timeline.csv"
	EventsCSV    = "events.csv"
)

// csvFiles renders the summary's tables as CSV, in the order of the names
// above. Numbers are written in Go's shortest round-trip form, so the
// files are byte-identical whenever the summary is.
func csvFiles(s *results.Summary) ([]File, error) {
	var out []File
	for _, t := range []struct {
		name string
		rows func(*results.Summary) [][]string
	}{
		{WorkloadsCSV, workloadRowsCSV},
		{ServicesCSV, serviceRowsCSV},
		{SidecarsCSV, sidecarRowsCSV},
		{TimelineCSV, timelineRowsCSV},
		{EventsCSV, eventRowsCSV},
	} {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.WriteAll(t.rows(s)); err != nil {
			return nil, fmt.Errorf("report: %s: %w", t.name, err)
		}
		out = append(out, File{Name: t.name, Data: b.Bytes()})
	}
	return out, nil
}

func csvNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func csvInt(n int64) string { return strconv.FormatInt(n, 10) }

func csvOpt(x *float64) string {
	if x == nil {
		return ""
	}
	return csvNum(*x)
}

// estimateCells is mean, lo, hi of an estimate, empty where absent.
func csvEstimate(e *results.Estimate) []string {
	if e == nil {
		return []string{"", "", ""}
	}
	if e.CI95 == nil {
		return []string{csvNum(e.Mean), "", ""}
	}
	return []string{csvNum(e.Mean), csvNum(e.CI95.Lo), csvNum(e.CI95.Hi)}
}

// latencyCells is mean, p50, p90, p99, p999, then the lo and hi of each.
func csvLatency(l *results.Latency) []string {
	if l == nil {
		return make([]string, 15)
	}
	cells := []string{csvNum(l.Mean), csvNum(l.P50), csvNum(l.P90), csvNum(l.P99), csvNum(l.P999)}
	if l.CI95 == nil {
		return append(cells, make([]string, 10)...)
	}
	for _, iv := range []results.Interval{l.CI95.Mean, l.CI95.P50, l.CI95.P90, l.CI95.P99, l.CI95.P999} {
		cells = append(cells, csvNum(iv.Lo), csvNum(iv.Hi))
	}
	return cells
}

var latencyHeader = []string{
	"latency_mean_s", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_p999_s",
	"latency_mean_lo", "latency_mean_hi", "latency_p50_lo", "latency_p50_hi", "latency_p90_lo", "latency_p90_hi",
	"latency_p99_lo", "latency_p99_hi", "latency_p999_lo", "latency_p999_hi",
}

func workloadRowsCSV(s *results.Summary) [][]string {
	head := []string{"variant", "workload", "requests", "ok", "error", "timeout", "rejected", "shed", "denied",
		"dead_lettered", "dropped", "in_flight", "throughput_per_s", "throughput_lo", "throughput_hi",
		"error_rate", "error_rate_lo", "error_rate_hi"}
	rows := [][]string{append(head, latencyHeader...)}
	for _, v := range s.Variants {
		for _, w := range v.Workloads {
			o := w.Outcomes
			row := []string{v.Name, w.Name, csvInt(w.Requests), csvInt(o.OK), csvInt(o.Error), csvInt(o.Timeout),
				csvInt(o.Rejected), csvInt(o.Shed), csvInt(o.Denied), csvInt(o.DeadLettered), csvInt(o.Dropped), csvInt(o.InFlight)}
			row = append(row, csvEstimate(w.ThroughputPerS)...)
			row = append(row, csvEstimate(w.ErrorRate)...)
			rows = append(rows, append(row, csvLatency(w.LatencyS)...))
		}
	}
	return rows
}

func serviceRowsCSV(s *results.Summary) [][]string {
	head := []string{"variant", "service", "instances", "concurrency", "completed", "lost",
		"utilisation", "utilisation_lo", "utilisation_hi", "queue_length_mean", "queue_length_lo", "queue_length_hi"}
	rows := [][]string{append(head, latencyHeader...)}
	for _, v := range s.Variants {
		for _, sv := range v.Services {
			row := []string{v.Name, sv.Name, strconv.Itoa(sv.Instances), strconv.Itoa(sv.Concurrency), csvInt(sv.Completed), csvInt(sv.Lost)}
			u, q := sv.Utilisation, sv.QueueLengthMean
			row = append(row, csvEstimate(&u)...)
			row = append(row, csvEstimate(&q)...)
			rows = append(rows, append(row, csvLatency(sv.LatencyS)...))
		}
	}
	return rows
}

func sidecarRowsCSV(s *results.Summary) [][]string {
	rows := [][]string{{"variant", "caller", "service", "calls", "attempts", "amplification", "retries", "retry_overflows",
		"overflows", "per_try_timeouts", "route_timeouts", "deadline_exceeded", "ejections", "hedges", "hedge_wins",
		"connections_opened", "connect_failures", "connections_closed", "connection_overflows", "pending_overflows",
		"max_open_connections"}}
	for _, v := range s.Variants {
		for _, sc := range v.Sidecars {
			rows = append(rows, []string{v.Name, sc.Caller, sc.Service, csvInt(sc.Calls), csvInt(sc.Attempts), csvOpt(sc.Amplification),
				csvInt(sc.Retries), csvInt(sc.RetryOverflows), csvInt(sc.Overflows), csvInt(sc.PerTryTimeouts), csvInt(sc.RouteTimeouts),
				csvInt(sc.DeadlineExceeded), csvInt(sc.Ejections), csvInt(sc.Hedges), csvInt(sc.HedgeWins),
				csvInt(sc.ConnectionsOpened), csvInt(sc.ConnectFailures), csvInt(sc.ConnectionsClosed),
				csvInt(sc.ConnectionOverflows), csvInt(sc.PendingOverflows), csvMaxOpen(sc.MaxOpenConnections)})
		}
	}
	return rows
}

// csvMaxOpen is a proxy's most open connections, empty without
// connection pools (as summary.json omits it).
func csvMaxOpen(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

// timelineRowsCSV is one row per (variant, workload, window).
func timelineRowsCSV(s *results.Summary) [][]string {
	rows := [][]string{{"variant", "workload", "window_start_s", "window_s", "throughput_per_s", "error_rate", "p50_s", "p99_s"}}
	for _, v := range s.Variants {
		tl := v.Timeline
		if tl == nil {
			continue
		}
		for _, w := range tl.Workloads {
			for k := range w.ThroughputPerS {
				rows = append(rows, []string{v.Name, w.Name, csvNum(float64(k) * tl.WindowS), csvNum(tl.WindowS),
					csvNum(w.ThroughputPerS[k]), csvOpt(w.ErrorRate[k]), csvOpt(w.P50S[k]), csvOpt(w.P99S[k])})
			}
		}
	}
	return rows
}

// eventRowsCSV lists the timeline's events (failures, deploys, pushes,
// scaling steps) of every variant.
func eventRowsCSV(s *results.Summary) [][]string {
	rows := [][]string{{"variant", "kind", "target", "from_s", "to_s"}}
	for _, v := range s.Variants {
		if v.Timeline == nil {
			continue
		}
		for _, ev := range v.Timeline.Events {
			rows = append(rows, []string{v.Name, ev.Kind, ev.Target, csvNum(ev.FromS), csvNum(ev.ToS)})
		}
	}
	return rows
}
