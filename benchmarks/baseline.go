package benchmarks

import (
	"math"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
)

// The stream names the baseline draws from. They are the names the engine
// gives the same draws when the M/M/1 model is built with a workload called
// "arrivals" and a one-instance service called "server" (as in
// scenarios/library/mm1.yaml): the open workload draws inter-arrival times
// from (workload name, "arrival") and instance i of a service draws service
// times from ("<service>[i]", "service-time"). With the same seed the
// baseline and the engine therefore simulate the same sample path, so a
// comparison of their speed is about the engine, not the random numbers.
const (
	ArrivalComponent = "arrivals"
	ArrivalPurpose   = "arrival"
	ServerComponent  = "server[0]"
	ServerPurpose    = "service-time"
)

// MM1Config describes one run of the M/M/1 baseline. A run stops at the
// first of its two limits that is set.
type MM1Config struct {
	MeanInterarrival time.Duration // 1/lambda, > 0
	MeanService      time.Duration // 1/mu, > 0
	// Customers stops the run after this many departures; 0 means no limit.
	Customers int64
	// Until stops the run at this virtual time: customers who depart at or
	// before it are recorded, as the engine's RunUntil fires events at or
	// before its horizon. 0 means no limit.
	Until sim.Time
	Seed  uint64 // the root seed; replication 0 of sim.NewStreams
}

// MM1Result is what a baseline run computes: the outputs the engine reports
// for the same model.
type MM1Result struct {
	Customers int64            // departures recorded
	Latency   *stats.Histogram // response time (arrival to departure), ns
}

// MM1Baseline runs the two-clock M/M/1 loop (TwoClockMM1) with arrival rate
// lambdaPerS and service rate muPerS, both per second, for the given number
// of customers, and returns the mean response time in ns, its 99th
// percentile in ns and the number of customers recorded.
func MM1Baseline(lambdaPerS, muPerS float64, customers int, seed uint64) (mean float64, p99 int64, n int64) {
	res := TwoClockMM1(MM1Config{
		MeanInterarrival: meanOfRate(lambdaPerS),
		MeanService:      meanOfRate(muPerS),
		Customers:        int64(customers),
		Seed:             seed,
	})
	return res.Latency.Mean(), res.Latency.Quantile(0.99), res.Customers
}

// meanOfRate returns the mean time between events of a rate per second.
func meanOfRate(perS float64) time.Duration {
	return time.Duration(float64(time.Second) / perS)
}

// TwoClockMM1 is the fastest event loop plain Go can run for the M/M/1 queue,
// and the baseline the engine is measured against. The whole state is two
// clocks, the time of the next arrival and of the next departure (virtual
// time as int64 ns), and a FIFO ring of the arrival times of the customers
// in the system; each step advances to the earlier clock. Inter-arrival and
// service times are drawn from the same sim.Rand streams, and rounded to ns
// the same way, as the engine draws them (see expDuration), and each
// response time is recorded in a stats.Histogram as the engine does.
//
// It does no heap operation, no dynamic dispatch and, once the ring and the
// histogram cover their range, no allocation. The complexity is O(1) per
// event.
func TwoClockMM1(cfg MM1Config) MM1Result {
	streams := sim.NewStreams(cfg.Seed, 0)
	arrRnd := streams.Get(ArrivalComponent, ArrivalPurpose)
	svcRnd := streams.Get(ServerComponent, ServerPurpose)
	ia, st := cfg.MeanInterarrival, cfg.MeanService
	until, limit := limits(cfg)

	const never = math.MaxInt64
	res := MM1Result{Latency: stats.NewHistogram()}
	var q timeRing
	nextArr := int64(expDuration(arrRnd, ia))
	nextDep := int64(never)
	for res.Customers < limit {
		// A tie between an arrival and a departure may go either way: the
		// response times are the same, and the two clocks draw from
		// separate streams, so neither order shifts the other's draws.
		if nextArr < nextDep {
			if nextArr > until {
				break
			}
			q.push(nextArr)
			if q.n == 1 { // the server was idle: start service now
				nextDep = nextArr + int64(expDuration(svcRnd, st))
			}
			nextArr += int64(expDuration(arrRnd, ia))
			continue
		}
		if nextDep > until {
			break
		}
		res.Latency.Record(nextDep - q.pop())
		res.Customers++
		if q.n > 0 {
			nextDep += int64(expDuration(svcRnd, st))
		} else {
			nextDep = never
		}
	}
	return res
}

// LindleyMM1 computes the same response times as TwoClockMM1, customer by
// customer, with the Lindley recursion for the waiting time of a FIFO single
// server, W(n+1) = max(0, W(n) + S(n) - A(n+1)), where S(n) is the service
// time of customer n and A(n+1) the time between arrivals n and n+1.
//
// It is NOT an event loop and not a simulator: it exploits that a FIFO
// single-server queue needs no clock and no queue at all. It is the absolute
// floor for this model (two random draws and one histogram record per
// customer), shown to give a sense of what the RNG and the histogram alone
// cost; the acceptance ratio is taken against TwoClockMM1.
func LindleyMM1(cfg MM1Config) MM1Result {
	streams := sim.NewStreams(cfg.Seed, 0)
	arrRnd := streams.Get(ArrivalComponent, ArrivalPurpose)
	svcRnd := streams.Get(ServerComponent, ServerPurpose)
	ia, st := cfg.MeanInterarrival, cfg.MeanService
	until, limit := limits(cfg)

	res := MM1Result{Latency: stats.NewHistogram()}
	arrival := int64(expDuration(arrRnd, ia)) // of customer n
	var wait int64                            // W(n)
	for res.Customers < limit {
		resp := wait + int64(expDuration(svcRnd, st))
		if arrival > until-resp { // departs after until; FIFO departures are in order
			break
		}
		res.Latency.Record(resp)
		res.Customers++
		a := int64(expDuration(arrRnd, ia))
		arrival += a
		wait = max(0, resp-a)
	}
	return res
}

// limits returns the time and customer limits of cfg with 0 read as none.
func limits(cfg MM1Config) (until, customers int64) {
	until, customers = math.MaxInt64, math.MaxInt64
	if cfg.Until > 0 {
		until = int64(cfg.Until)
	}
	if cfg.Customers > 0 {
		customers = cfg.Customers
	}
	return until, customers
}

// expDuration draws an exponential duration with the given mean exactly as
// the engine's dist.Exponential samples it: one uniform u in (0, 1) from
// Rand.Float64Open, the inverse CDF -mean*ln(1-u) in float64 ns, rounded to
// the nearest ns. The logarithm is the engine's portable dist.Log, so the
// baseline pays for the same arithmetic as the engine and gets the same
// bits: TestExpDurationMatchesDist checks them draw for draw.
func expDuration(r *sim.Rand, mean time.Duration) time.Duration {
	ns := float64(-float64(mean) * dist.Log(1-r.Float64Open()))
	if !(ns > 0) {
		return 0
	}
	if ns >= 0x1p63 {
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}

// timeRing is a FIFO of arrival times in a growable circular buffer whose
// length is a power of two. push and pop are O(1) amortised; the buffer only
// grows, so a steady state allocates nothing.
type timeRing struct {
	buf  []int64
	head int
	n    int
}

func (q *timeRing) push(t int64) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = t
	q.n++
}

// pop removes and returns the oldest time; q must not be empty.
func (q *timeRing) pop() int64 {
	t := q.buf[q.head]
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return t
}

func (q *timeRing) grow() {
	size := max(2*len(q.buf), 64)
	buf := make([]int64, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}
