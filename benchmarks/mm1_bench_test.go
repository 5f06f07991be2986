package benchmarks

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/sidecar"
	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
)

// The M/M/1 benchmarks run at rho = 0.9: arrivals at lambda = 0.9/s, mean
// service 1 s, as scenarios/library/mm1.yaml. Each reports ns/customer, the
// wall time divided by the customers simulated (departures for the
// baselines, arrivals for the engine), because b.N is only approximately the
// customer count for the engine, whose runs are set by duration, and
// cpu-ns/customer, the same in process CPU time (see meter).
const (
	benchLambdaPerS = 0.9
	benchSeed       = 1
)

var (
	benchInterarrival = meanOfRate(benchLambdaPerS)
	benchService      = time.Second
)

// mm1Models is M/M/1 built by hand from the public models: an open
// workload named "arrivals" sends through a round-robin client to a service
// "server" of one instance with one slot and an unbounded queue, on one
// scheduler, replication 0 of the seed's streams. It is what
// scenarios.Run builds from mm1.yaml, without the YAML.
type mm1Models struct {
	s *sim.Scheduler
	w *workload.Open
}

func newMM1Models(meanInterarrival, meanService time.Duration, seed uint64) (*mm1Models, error) {
	s := sim.NewScheduler(sim.Config{})
	streams := sim.NewStreams(seed, 0)
	st, err := dist.Exponential(meanService)
	if err != nil {
		return nil, err
	}
	svc, err := mesh.NewService(s, streams, mesh.ServiceConfig{
		Name:        "server",
		Replicas:    1,
		Concurrency: 1,
		QueueBound:  mesh.Unbounded,
		ServiceTime: st,
	})
	if err != nil {
		return nil, err
	}
	// The caller's proxy, as the scenario runner builds it: round robin, no
	// timeouts or retries (the proxy's direct mode).
	pool := &mesh.Pool{}
	proxy, err := sidecar.NewCluster(s, streams, sidecar.Config{
		Name:      ArrivalComponent + "->server",
		Upstreams: []sidecar.Upstream{svc.Instances()[0]},
		Policy:    sidecar.Policy{LB: roundrobin.Name},
		Pool:      pool,
	})
	if err != nil {
		return nil, err
	}
	ia, err := dist.Exponential(meanInterarrival)
	if err != nil {
		return nil, err
	}
	w, err := workload.NewOpen(s, streams, workload.OpenConfig{
		Name:         ArrivalComponent,
		Interarrival: ia,
		Target:       proxy,
		Pool:         pool,
	})
	if err != nil {
		return nil, err
	}
	w.Start()
	return &mm1Models{s: s, w: w}, nil
}

// mm1Kernel is M/M/1 written directly on the kernel, with no model
// package: one handler that owns the baseline's ring of arrival times and
// draws with the baseline's expDuration, so that the only difference from
// TwoClockMM1 is that its two clocks are events in a sim.Scheduler. It
// separates the kernel's share of the engine's cost from the models'.
type mm1Kernel struct {
	s        *sim.Scheduler
	arr, svc *sim.Rand
	ia, st   time.Duration
	q        timeRing
	latency  *stats.Histogram
}

const (
	evArrive int32 = iota + 1
	evDepart
)

func newMM1Kernel(meanInterarrival, meanService time.Duration, seed uint64) *mm1Kernel {
	streams := sim.NewStreams(seed, 0)
	m := &mm1Kernel{
		s:       sim.NewScheduler(sim.Config{}),
		arr:     streams.Get(ArrivalComponent, ArrivalPurpose),
		svc:     streams.Get(ServerComponent, ServerPurpose),
		ia:      meanInterarrival,
		st:      meanService,
		latency: stats.NewHistogram(),
	}
	m.s.After(expDuration(m.arr, m.ia), m, sim.Event{Kind: evArrive})
	return m
}

func (m *mm1Kernel) Handle(ev sim.Event) {
	now := int64(m.s.Now())
	switch ev.Kind {
	case evArrive:
		m.q.push(now)
		if m.q.n == 1 {
			m.s.After(expDuration(m.svc, m.st), m, sim.Event{Kind: evDepart})
		}
		m.s.After(expDuration(m.arr, m.ia), m, sim.Event{Kind: evArrive})
	case evDepart:
		m.latency.Record(now - m.q.pop())
		if m.q.n > 0 {
			m.s.After(expDuration(m.svc, m.st), m, sim.Event{Kind: evDepart})
		}
	}
}

// mm1YAML is M/M/1 as a scenario file: the same names, hence the same
// streams, as mm1Models, and no warm-up, so that every customer counts. The
// arrival process is given by its mean in ns rather than as a rate, so that
// it is the baseline's to the nanosecond.
const mm1YAML = `version: 1
name: mm1-bench
seed: %d
duration: %dns
replications: 1
workloads:
  - name: arrivals
    arrival: {dist: exponential, mean: %dns}
    target: server
services:
  - name: server
    replicas: 1
    concurrency: 1
    service_time: {dist: exponential, mean: %dns}
`

// runMM1Scenario parses and runs M/M/1 from YAML text for the given virtual
// time, through the public API, on one worker, and returns its one
// workload's results.
func runMM1Scenario(meanInterarrival, meanService time.Duration, until sim.Time, seed uint64) (results.Workload, error) {
	text := fmt.Sprintf(mm1YAML, seed, int64(until), int64(meanInterarrival), int64(meanService))
	doc, err := scenarios.Parse("mm1-bench.yaml", []byte(text))
	if err != nil {
		return results.Workload{}, err
	}
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 1})
	if err != nil {
		return results.Workload{}, err
	}
	return exp.Variants[0].Replications[0].Workloads[0], nil
}

// durationFor returns the virtual time in which about customers customers
// arrive at rate lambdaPerS: customers/lambda, at least 1 ns.
func durationFor(customers int, lambdaPerS float64) sim.Time {
	return sim.Time(max(1, math.Ceil(float64(customers)/lambdaPerS*float64(time.Second))))
}

func BenchmarkMM1(b *testing.B) {
	// baseline: the two-clock loop, exactly b.N customers.
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		m := startMeter()
		res := TwoClockMM1(MM1Config{MeanInterarrival: benchInterarrival, MeanService: benchService, Customers: int64(b.N), Seed: benchSeed})
		m.report(b, res.Customers, "customer")
	})
	// lindley: the recursion, not an event loop; the floor.
	b.Run("lindley", func(b *testing.B) {
		b.ReportAllocs()
		m := startMeter()
		res := LindleyMM1(MM1Config{MeanInterarrival: benchInterarrival, MeanService: benchService, Customers: int64(b.N), Seed: benchSeed})
		m.report(b, res.Customers, "customer")
	})
	// kernel: the two clocks as events in a sim.Scheduler, no models.
	b.Run("kernel", func(b *testing.B) {
		b.ReportAllocs()
		meter := startMeter()
		m := newMM1Kernel(benchInterarrival, benchService, benchSeed)
		for m.latency.Count() < int64(b.N) {
			m.s.Step()
		}
		meter.report(b, m.latency.Count(), "customer")
	})
	// models: mesh + workload + lb/round_robin by hand, one replication of
	// b.N/lambda virtual time, construction included.
	b.Run("models", func(b *testing.B) {
		b.ReportAllocs()
		meter := startMeter()
		m, err := newMM1Models(benchInterarrival, benchService, benchSeed)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.s.RunUntil(durationFor(b.N, benchLambdaPerS)); err != nil {
			b.Fatal(err)
		}
		meter.report(b, m.w.Stats().Arrived, "customer")
	})
	// scenario: YAML text through scenarios.Parse and scenarios.Run (one
	// worker, one replication), parsing and result collection included.
	b.Run("scenario", func(b *testing.B) {
		b.ReportAllocs()
		meter := startMeter()
		w, err := runMM1Scenario(benchInterarrival, benchService, durationFor(b.N, benchLambdaPerS), benchSeed)
		if err != nil {
			b.Fatal(err)
		}
		meter.report(b, w.Outcomes.Total(), "customer")
	})
}

// TestBaselineAgreesWithModels checks that the baseline computes what the
// engine computes. At rho = 0.5 with about 200k customers, the mean response
// time of the two-clock loop and of each engine path (the kernel alone, the
// models built by hand, the scenario file) must be within 5% of each other
// and of theory, 1/(mu-lambda) = 2 s.
//
// Since the baseline draws from the engine's streams with the engine's
// rounding, and all paths record the customers who depart by the same
// horizon, the histograms are in fact equal, which the test also checks: a
// failure there with the means still close means that one side changed its
// draws or its stream names, not that it computes the wrong thing.
func TestBaselineAgreesWithModels(t *testing.T) {
	const lambda, mu, seed = 0.5, 1.0, 1
	ia, st := meanOfRate(lambda), meanOfRate(mu)
	until := durationFor(200_000, lambda)
	theory := float64(time.Second) / (mu - lambda)

	base := TwoClockMM1(MM1Config{MeanInterarrival: ia, MeanService: st, Until: until, Seed: seed})
	require.Greater(t, base.Customers, int64(190_000))
	assert.InEpsilon(t, theory, base.Latency.Mean(), 0.05, "baseline mean vs theory")

	for _, tc := range []struct {
		name string
		run  func(t *testing.T) *stats.Histogram
	}{
		{"kernel", func(t *testing.T) *stats.Histogram {
			m := newMM1Kernel(ia, st, seed)
			require.NoError(t, m.s.RunUntil(until))
			return m.latency
		}},
		{"models", func(t *testing.T) *stats.Histogram {
			m, err := newMM1Models(ia, st, seed)
			require.NoError(t, err)
			require.NoError(t, m.s.RunUntil(until))
			ws := m.w.Stats()
			assert.Equal(t, ws.Arrived, ws.Outcomes[mesh.OutcomeOK]+ws.InFlight, "every customer is ok or in flight")
			return ws.Latency
		}},
		{"scenario", func(t *testing.T) *stats.Histogram {
			w, err := runMM1Scenario(ia, st, until, seed)
			require.NoError(t, err)
			assert.Equal(t, w.Outcomes.Total(), w.Outcomes.OK+w.Outcomes.InFlight, "every customer is ok or in flight")
			return w.Latency
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.run(t)
			t.Logf("%s: %d customers, mean %.4gs, p99 %.4gs; baseline: %d customers, mean %.4gs, p99 %.4gs; theory mean %.4gs",
				tc.name, h.Count(), h.Mean()/1e9, float64(h.Quantile(0.99))/1e9,
				base.Customers, base.Latency.Mean()/1e9, float64(base.Latency.Quantile(0.99))/1e9, theory/1e9)
			require.Greater(t, h.Count(), int64(190_000))
			assert.InEpsilon(t, theory, h.Mean(), 0.05, "mean vs theory")
			assert.InEpsilon(t, base.Latency.Mean(), h.Mean(), 0.05, "mean vs baseline")
			assert.True(t, h.Equal(base.Latency), "same streams, rounding and horizon, yet the histogram differs from the baseline's")
		})
	}
}

// TestExpDurationMatchesDist checks that the baseline's exponential draw is
// dist.Exponential's, bit for bit, so that the baseline and the engine
// simulate the same sample path and pay for the same arithmetic.
func TestExpDurationMatchesDist(t *testing.T) {
	for _, mean := range []time.Duration{time.Second, meanOfRate(0.9), 3 * time.Nanosecond, time.Hour} {
		d, err := dist.Exponential(mean)
		if err != nil {
			t.Fatal(err)
		}
		a, b := sim.NewStreams(9, 0).Get("x", "y"), sim.NewStreams(9, 0).Get("x", "y")
		for i := 0; i < 100_000; i++ {
			if x, y := expDuration(a, mean), d.Sample(b); x != y {
				t.Fatalf("mean %v, draw %d: baseline %d, dist %d", mean, i, x, y)
			}
		}
	}
}
