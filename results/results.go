package results

import (
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
}

// Variant is one policy configuration of the scenario.
type Variant struct {
	Name         string
	Replications []Replication // in replication order
}

// Replication is the raw output of one independent run.
type Replication struct {
	Index     int
	Events    uint64 // events the kernel fired
	Workloads []Workload
	Services  []Service
	Sidecars  []Sidecar // one per (caller, upstream service), in build order
	Bus       *Bus      // nil without a bus
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
	HostAttempts      []int64 // attempts per upstream instance, in instance order
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
	// Utilisation is the time-weighted share of busy slots over all instances.
	Utilisation float64
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
}
