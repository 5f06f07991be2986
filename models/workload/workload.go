// Package workload models the sources of requests. An Open workload sends
// requests at times drawn from an inter-arrival distribution, independent of
// how the system responds (an open loop: Poisson arrivals are exponential
// inter-arrival times), and accounts for every request it sent.
package workload

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("workload: invalid configuration")

// Sender is where a workload sends its requests: a client of a service, a
// gateway, or a test double.
type Sender interface {
	Send(r *mesh.Request)
}

// OpenConfig describes an open workload.
type OpenConfig struct {
	Name         string
	Interarrival dist.Dist
	Target       Sender
	Pool         *mesh.Pool
	// Warmup and End bound the measurement window [Warmup, End): only
	// requests created in it are counted. End 0 means no end.
	Warmup sim.Time
	End    sim.Time
	// Route is the requests' route for gateways (an index the builder
	// assigns to each distinct path); -1 for none.
	Route int32
	// Deadline is the client's timeout, carried with each request as its
	// deadline (gRPC's grpc-timeout): proxies end the request by then.
	// 0 means none.
	Deadline time.Duration
	// Window, when > 0, records a Series: outcomes and ok latencies per
	// window of this width over [0, End], by completion time, for every
	// request (warm-up included). It needs End > 0 and at most MaxWindows
	// windows. 0 records no series.
	Window time.Duration
	// Tracer, if set, begins a trace with each request, as origin
	// TraceOrigin (mesh.Tracer).
	Tracer      *mesh.Tracer
	TraceOrigin int
}

// Open is an open-loop workload. It draws inter-arrival times from the
// stream streams.Get(name, "arrival"). It implements sim.Handler and
// mesh.Origin.
type Open struct {
	cfg OpenConfig
	s   *sim.Scheduler
	rnd *sim.Rand

	sent     uint64 // requests created, measured or not: the hash-key sequence
	arrived  int64
	outcomes [mesh.NumOutcomes]int64
	latency  *stats.Histogram
	windows  *windows // nil without OpenConfig.Window
	// factor multiplies the arrival rate (an overload failure): the
	// inter-arrival times are divided by it. 1 normally.
	factor float64
}

// next draws the time to the next arrival.
func (w *Open) next() time.Duration {
	d := w.cfg.Interarrival.Sample(w.rnd)
	if w.factor != 1 {
		d = time.Duration(float64(d) / w.factor)
	}
	return d
}

// SetRateFactor multiplies the workload's arrival rate by factor (> 0)
// from the next arrival on: an overload spike, or 1 to end it. The draws
// are the same; only their scale changes, so the arrivals stay common to
// every variant.
func (w *Open) SetRateFactor(factor float64) {
	if !(factor > 0) {
		panic(fmt.Sprintf("workload %s: rate factor %g <= 0", w.cfg.Name, factor))
	}
	w.factor = factor
}

// NewOpen returns an open workload on s. Call Start to begin sending.
func NewOpen(s *sim.Scheduler, streams sim.Streams, cfg OpenConfig) (*Open, error) {
	switch {
	case cfg.Name == "":
		return nil, fmt.Errorf("%w: workload without a name", ErrConfig)
	case cfg.Interarrival == nil:
		return nil, fmt.Errorf("%w: workload %s: no inter-arrival distribution", ErrConfig, cfg.Name)
	case cfg.Interarrival.Mean() <= 0:
		return nil, fmt.Errorf("%w: workload %s: mean inter-arrival time must be > 0", ErrConfig, cfg.Name)
	case cfg.Deadline < 0:
		return nil, fmt.Errorf("%w: workload %s: deadline %v < 0", ErrConfig, cfg.Name, cfg.Deadline)
	case cfg.Target == nil || cfg.Pool == nil:
		return nil, fmt.Errorf("%w: workload %s: no target or pool", ErrConfig, cfg.Name)
	case cfg.Window < 0:
		return nil, fmt.Errorf("%w: workload %s: window %v < 0", ErrConfig, cfg.Name, cfg.Window)
	case cfg.Window > 0 && cfg.End <= 0:
		return nil, fmt.Errorf("%w: workload %s: a window series needs an end", ErrConfig, cfg.Name)
	case NumWindows(cfg.End, cfg.Window) > MaxWindows:
		return nil, fmt.Errorf("%w: workload %s: window %v gives %d windows over %v; the limit is %d",
			ErrConfig, cfg.Name, cfg.Window, NumWindows(cfg.End, cfg.Window), time.Duration(cfg.End), MaxWindows)
	}
	w := &Open{cfg: cfg, s: s, rnd: streams.Get(cfg.Name, "arrival"), latency: stats.NewHistogram(), factor: 1}
	if cfg.Window > 0 {
		w.windows = newWindows(cfg.Window, cfg.End)
	}
	return w, nil
}

// Start schedules the first arrival, one inter-arrival time after now.
func (w *Open) Start() {
	w.s.After(w.next(), w, sim.Event{})
}

// Handle creates one request, sends it, and schedules the next arrival.
func (w *Open) Handle(sim.Event) {
	now := w.s.Now()
	r := w.cfg.Pool.Get()
	w.sent++
	r.Key = w.sent
	r.Route = w.cfg.Route
	if w.cfg.Deadline > 0 {
		r.Deadline = now.Add(w.cfg.Deadline)
	}
	r.Created = now
	r.Measured = now >= w.cfg.Warmup && (w.cfg.End == 0 || now < w.cfg.End)
	r.Origin = w
	if w.cfg.Tracer != nil {
		r.SetTrace(w.cfg.Tracer.Begin(w.cfg.TraceOrigin, r.ID, r.Measured))
	}
	if r.Measured {
		w.arrived++
	}
	w.s.After(w.next(), w, sim.Event{})
	w.cfg.Target.Send(r)
}

// Finish records a request's terminal outcome and returns it to the pool.
// Only measured requests count in Stats; every request counts in the
// window series, if any. Finish does not allocate in steady state.
func (w *Open) Finish(r *mesh.Request, o mesh.Outcome) {
	now := w.s.Now()
	if r.Measured {
		w.outcomes[o]++
		if o == mesh.OutcomeOK {
			w.latency.Record(int64(now - r.Created))
		}
	}
	if w.windows != nil {
		w.windows.record(now, o == mesh.OutcomeOK, int64(now-r.Created))
	}
	if r.Trace != nil {
		r.Trace.Answered(o == mesh.OutcomeOK)
	}
	w.cfg.Pool.Put(r)
}

// Series returns a copy of the window series recorded so far, or nil when
// OpenConfig.Window is 0. It allocates; call it at the end of a run.
func (w *Open) Series() *Series {
	if w.windows == nil {
		return nil
	}
	return w.windows.series()
}

// Name returns the workload name.
func (w *Open) Name() string { return w.cfg.Name }

// Stats is what a workload's measured requests experienced.
type Stats struct {
	Arrived  int64                   // requests created after the warm-up
	Outcomes [mesh.NumOutcomes]int64 // by terminal state
	InFlight int64                   // arrived but not finished
	Latency  *stats.Histogram        // end-to-end latency of ok requests, ns
}

// Stats returns the workload's counts so far. InFlight is Arrived minus the
// finished requests, so the counts are conserved by construction; the test
// suite checks it against the requests actually held by the instances.
func (w *Open) Stats() Stats {
	st := Stats{Arrived: w.arrived, Outcomes: w.outcomes, Latency: w.latency.Clone()}
	var done int64
	for _, n := range w.outcomes {
		done += n
	}
	st.InFlight = w.arrived - done
	return st
}
