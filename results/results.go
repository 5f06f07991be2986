package results

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim/stats"
)

// Experiment is everything one scenario run produced: every variant, and in
// each variant every replication, in task order.
type Experiment struct {
	Scenario     string        // scenario name
	Description  string        // the scenario's explanation, if any
	Source       string        // the scenario YAML as run, for the report
	Seed         uint64        // root seed
	Version      string        // meshsim version that ran it
	Duration     time.Duration // virtual time simulated per replication
	Warmup       time.Duration // deleted from the start of each replication
	Replications int
	Variants     []Variant // in scenario order
	// Precision is how precision-based stopping went; nil for a run with
	// a fixed replication count.
	Precision *Precision
	// SLO is the objective the report judges the variants against; nil
	// without one.
	SLO *SLO
}

// Variant is one policy configuration of the scenario, at one point of
// its sweep if it has one.
type Variant struct {
	Name string
	// Base is the variant's name without the sweep point: equal to Name
	// without a sweep.
	Base string
	// Point is the sweep point, one value per sweep path in sweep order;
	// nil without a sweep.
	Point        []PointValue
	Replications []Replication // in replication order
}

// PointValue is the value one sweep path takes at a sweep point.
type PointValue struct {
	Path  string // the field path, e.g. workloads.web.arrival.rate
	Label string // a short name for axes and tables, e.g. rate
	Value string // as written in the scenario, e.g. 400/s
	// X is the value as a number for plots, in Unit (rates per second,
	// durations in seconds); Numeric is false when the value is not a
	// number (a policy name, a distribution).
	X       float64
	Unit    string // "/s", "s" or ""
	Numeric bool
}

// SamePoint reports whether a and b are the same sweep point.
func SamePoint(a, b []PointValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

// Replication is the raw output of one independent run.
type Replication struct {
	Index     int
	Events    uint64 // events the kernel fired
	Workloads []Workload
	Services  []Service
	Sidecars  []Sidecar // one per proxy (caller instance, upstream service), in build order
	Bus       *Bus      // nil without a bus
	// Failures are the failures that started during the run, as they
	// happened, in start order, then the deploys (kind "deploy", target
	// "<service> <version>", from the deploy until every pod runs the
	// version). Failures depend only on the scenario, so every
	// replication of a variant has the same.
	Failures []Failure
	// Fleets are the services whose pods come and go (autoscale or
	// deploys), in service order.
	Fleets []Fleet
}

// Fleet is what happened to the pods of one service that scales or rolls
// out. The series are time-weighted means per window of the timeline
// (window k spans [k*Width, (k+1)*Width), the last ends at End).
type Fleet struct {
	Service    string
	Width, End time.Duration
	// Spec is the Deployment's desired replicas (the autoscaler's last
	// decision); Running the pods up (starting, ready or draining);
	// Ready the pods ready and registered.
	Spec, Running, Ready []float64
	// Versions are the pods running each version, v0 (the service's own)
	// first, then one per deploy of the service.
	Versions []VersionSeries
	// Autoscaled reports whether the service has an autoscaler; Decisions
	// is then its log of syncs (at most the first 10,000).
	Autoscaled bool
	Decisions  []Decision
	// Deploys are the service's deploys as they happened.
	Deploys []Deploy
}

// VersionSeries is the pods of one version over time.
type VersionSeries struct {
	Name    string
	Running []float64
}

// Decision is one sync of an autoscaler (models/autoscale.Decision).
type Decision struct {
	At                   time.Duration
	Current              int // spec replicas at the sync
	Ready, Unready       int
	Metric               int64 // whole percent (utilization) or milli-requests (in_flight); -1 if not computed
	Proposal, Stabilized int   // -1 if not computed
	Desired              int
	Reason               string
}

// Deploy is one rolling update: Target ("api v2") from From until To,
// when every pod ran the version (Completed), a later deploy superseded
// it (a rollback), or the run ended.
type Deploy struct {
	Target    string
	From, To  time.Duration
	Completed bool
}

// Failure is one failure as it happened: Kind acted on Target from From to
// To (the end of the run if it was still on).
type Failure struct {
	Kind     string // slow or errors
	Target   string // as the scenario names it, e.g. "checkout[2]"
	From, To time.Duration
}

// Ejection is one outlier ejection of an upstream host by a proxy: from
// From to To (the end of the run if it was still in effect).
type Ejection struct {
	Host     int // the host's index in the upstream service
	From, To time.Duration
}

// Sidecar is what one caller's proxy did towards one upstream service,
// for requests created in the measurement window.
type Sidecar struct {
	Caller, Service string
	Calls           int64 // requests the proxy received
	Attempts        int64 // upstream requests it sent, retries included
	Retries         int64 // attempts after the first
	RetryOverflows  int64 // retries refused by max_retries or the retry budget
	Overflows       int64 // requests refused by max_requests (local 503)
	PerTryTimeouts  int64 // attempts abandoned at the per-try timeout
	RouteTimeouts   int64 // requests ended by the route timeout
	Ejections       int64 // outlier ejections that started in the window
	Hedges          int64 // attempts started while another was in flight
	HedgeWins       int64 // requests answered by a hedged attempt
	// DeadlineExceeded counts requests failed at once because their
	// propagated deadline had passed; ConnectionsOpened and
	// ConnectFailures count the connection pool's handshakes in the window
	// (for every request: connections are shared).
	DeadlineExceeded  int64
	ConnectionsOpened int64
	ConnectFailures   int64
	// Pooled reports whether the proxy keeps connection pools; the
	// connection counts below are then those of the window, for every
	// request, and all zero without pools. ConnectionsClosed counts
	// connections closed for any reason (idle timeout, a reset request
	// on HTTP/1, the host's crash); ConnectionOverflows the times a pool
	// wanted a connection at max_connections (Envoy's
	// upstream_cx_overflow), whether it then waited or opened one over
	// the limit; PendingOverflows the requests refused because
	// max_pending_requests were already waiting (Overflows counts the
	// measured ones among them too); MaxOpenConnections the most
	// connections open at once, starting from those open when the window
	// began.
	Pooled              bool
	ConnectionsClosed   int64
	ConnectionOverflows int64
	PendingOverflows    int64
	MaxOpenConnections  int
	HostAttempts        []int64 // attempts per upstream instance, in instance order
	// Outlier reports whether the proxy runs outlier detection; Ejected
	// is then its ejection history over the whole run, warm-up included,
	// in the order the ejections happened (at most the detector's first
	// 10,000).
	Outlier bool
	Ejected []Ejection
	// HealthChecked reports whether the proxy runs active health checks;
	// Unhealthy is then the intervals during which it held a host
	// unhealthy, over the whole run, in the order they began.
	HealthChecked bool
	Unhealthy     []Ejection
}

// Measured returns the measurement window: the duration minus the warm-up.
func (e *Experiment) Measured() time.Duration { return e.Duration - e.Warmup }

// Workload is what one workload's requests experienced. Only requests that
// arrived after the warm-up count; each is in exactly one outcome.
type Workload struct {
	Name string
	// Arrived counts requests created after the warm-up, independently of
	// the outcome books: Outcomes.Total() must equal it.
	Arrived  int64
	Outcomes Outcomes
	// Latency holds the end-to-end latency in nanoseconds of requests that
	// completed ok.
	Latency *stats.Histogram
	// Series counts every request, warm-up included, per window of
	// completion time; nil when the run recorded none.
	Series *Series
	// EndToEnd holds, in nanoseconds, each finished trace's latency from
	// the request to its last effect across the bus (the answer, or the
	// end of the first processing of the last message it caused); nil
	// when the run traced nothing (a scenario without a bus).
	EndToEnd *stats.Histogram
}

// Series is one workload's requests per window of completion time over a
// replication: window k spans [k*Width, (k+1)*Width), except the last,
// which ends at End (inclusive) and may be shorter. A request that was
// still in flight at End is in no window.
type Series struct {
	Width time.Duration
	End   time.Duration
	OK    []int64 // requests that finished ok
	NotOK []int64 // requests that finished in any other outcome
	// Latency holds, per window, the histogram of the end-to-end latency
	// in nanoseconds of the ok requests, encoded by
	// stats.Histogram.MarshalBinary (about twenty times smaller than the
	// histograms in memory, which matters with hundreds of windows per
	// replication); nil for a window without ok requests. LatencyHistogram
	// decodes one.
	Latency [][]byte
}

// LatencyHistogram decodes the latency histogram of window k: empty when
// the window has none, an error wrapping stats.ErrEncoding when its
// encoding is invalid.
func (s *Series) LatencyHistogram(k int) (*stats.Histogram, error) {
	h := stats.NewHistogram()
	if k >= len(s.Latency) || s.Latency[k] == nil {
		return h, nil
	}
	if err := h.UnmarshalBinary(s.Latency[k]); err != nil {
		return nil, fmt.Errorf("results: window %d: %w", k, err)
	}
	return h, nil
}

// Windows returns the number of windows.
func (s *Series) Windows() int { return len(s.OK) }

// WindowWidth returns the width of window k: Width, or less for the last
// window when End is not a multiple of Width.
func (s *Series) WindowWidth(k int) time.Duration {
	return min(s.Width, s.End-time.Duration(k)*s.Width)
}

// Outcomes counts requests by terminal state. Every request is in exactly
// one: Total equals the number of requests that arrived in the window.
type Outcomes struct {
	OK           int64 `json:"ok"`
	Error        int64 `json:"error"`
	Timeout      int64 `json:"timeout"`
	Rejected     int64 `json:"rejected"`
	Shed         int64 `json:"shed"`
	Denied       int64 `json:"denied"`
	DeadLettered int64 `json:"dead_lettered"`
	Dropped      int64 `json:"dropped"`
	InFlight     int64 `json:"in_flight"`
}

// Total returns the number of requests counted, over all outcomes.
func (o Outcomes) Total() int64 {
	return o.OK + o.Error + o.Timeout + o.Rejected + o.Shed + o.Denied + o.DeadLettered + o.Dropped + o.InFlight
}

// Add returns the field-wise sum of o and p.
func (o Outcomes) Add(p Outcomes) Outcomes {
	return Outcomes{
		OK: o.OK + p.OK, Error: o.Error + p.Error, Timeout: o.Timeout + p.Timeout,
		Rejected: o.Rejected + p.Rejected, Shed: o.Shed + p.Shed, Denied: o.Denied + p.Denied,
		DeadLettered: o.DeadLettered + p.DeadLettered, Dropped: o.Dropped + p.Dropped,
		InFlight: o.InFlight + p.InFlight,
	}
}

// Service is what one service's instances did during the window.
type Service struct {
	Name        string
	Instances   int
	Concurrency int // slots per instance
	// Utilisation is the time-weighted share of busy slots over the slots
	// of the instances that were up (time-weighted over running pods).
	Utilisation float64
	// Running is the time-weighted mean number of instances up; it equals
	// Instances when none ever goes down.
	Running float64
	// QueueLengthMean is the time-weighted mean number of requests waiting
	// (not in service), summed over the instances.
	QueueLengthMean float64
	// Completed counts the requests created in the measurement window that
	// the service finished.
	Completed int64
	// Latency holds the time in nanoseconds from arrival at an instance to
	// the end of service (queueing plus service), for requests created in
	// the measurement window.
	Latency *stats.Histogram
	// InstanceCompleted counts completions per instance, in instance order.
	InstanceCompleted []int64
	// Lost counts the requests created in the measurement window that
	// crashes took from the service's instances (queued, in service or
	// waiting on calls when the instance went down).
	Lost int64
}
