package sidecar

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
)

func TestTokenBudget(t *testing.T) {
	// Linkerd's defaults: ratio 0.2, 10 retries/s, TTL 10s. The reserve
	// allows 10 x 10 = 100 retries; each request adds a fifth of one.
	b := RatioBudget{}
	require.NoError(t, b.validate())
	tb := newTokenBudget(b)
	t0 := sim.Time(0)
	withdrawAll := func(now sim.Time) int {
		n := 0
		for tb.TryWithdraw(now) {
			n++
		}
		return n
	}
	assert.Equal(t, 100, withdrawAll(t0), "the reserve alone")
	for i := 0; i < 1000; i++ {
		tb.Deposit(t0)
	}
	assert.Equal(t, 200, withdrawAll(t0), "20% of 1000 requests")
	// Within the TTL nothing comes back; after it, deposits and
	// withdrawals have both expired and the reserve is whole again.
	assert.Equal(t, 0, withdrawAll(t0.Add(9*time.Second)))
	assert.Equal(t, 100, withdrawAll(t0.Add(21*time.Second)))
}

func TestRatioBudgetLimitsRetries(t *testing.T) {
	// Every attempt fails; 100 calls/s for 30s with 3 retries each would
	// be 9000 retries. The budget allows 20% of the calls (600) plus 10/s
	// (300): the reserve of 100 retries per 10s TTL.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError}}
	c, cl := newCluster(t, s, Policy{Retries: RetryPolicy{NumRetries: 3, RetryOn: Retry5xx, MaxRetries: 1 << 30,
		Ratio: &RatioBudget{}}}, u)
	const calls = 3000
	for i := 0; i < calls; i++ {
		s.Schedule(sim.Time(0).Add(time.Duration(i)*10*time.Millisecond), sender{c: c, cl: cl}, sim.Event{})
	}
	require.NoError(t, s.Run())
	st := c.Stats()
	assert.Equal(t, int64(calls), st.Calls)
	assert.InDelta(t, 600+300, st.Retries, 30)
	assert.Equal(t, calls, countPrefix(cl.ended, "error"), "every call ended in an error")
	assert.Positive(t, st.RetryOverflows)
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// cycler answers ok after delays taken in turn from a cycle.
type cycler struct {
	s      *sim.Scheduler
	delays []time.Duration
	n      int
}

func (u *cycler) Arrive(r *mesh.Request) {
	d := u.delays[u.n%len(u.delays)]
	u.n++
	u.s.After(d, u, sim.Event{Ptr: r})
}

func (u *cycler) Handle(ev sim.Event) {
	r := ev.Ptr.(*mesh.Request)
	r.Origin.Finish(r, mesh.OutcomeOK)
}

func (u *cycler) Weight() uint32 { return 1 }

func TestPercentileHedging(t *testing.T) {
	// One attempt in ten takes 2s, the others 5 to 9ms; a call every
	// 20ms. Hedging at the 80th percentile (about 8ms, once 100 latencies
	// are known) sends a second attempt for the slowest fifth of the calls,
	// so a call waits 2s only when its hedge also lands on a slow slot:
	// about 1% of the calls instead of 10%.
	s := sim.NewScheduler(sim.Config{})
	ms := time.Millisecond
	u := &cycler{s: s, delays: []time.Duration{5 * ms, 6 * ms, 7 * ms, 8 * ms, 9 * ms, 5 * ms, 6 * ms, 7 * ms, 8 * ms, 2 * time.Second}}
	pool := &mesh.Pool{}
	c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Pool: pool,
		Policy: Policy{LB: "round_robin", Hedge: HedgePolicy{Percentile: &PercentileHedge{Percentile: 80}}}})
	require.NoError(t, err)
	lat := &latencies{s: s, pool: pool}
	const calls = 2000
	lat.took = make([]time.Duration, calls)
	for i := 0; i < calls; i++ {
		s.Schedule(sim.Time(0).Add(time.Duration(i)*20*ms), sendFunc(func() {
			r := pool.Get()
			r.Origin, r.Measured, r.Created, r.Key = lat, true, s.Now(), uint64(i)
			c.Send(r)
		}), sim.Event{})
	}
	require.NoError(t, s.Run())
	assert.Equal(t, calls, lat.n)
	st := c.Stats()
	assert.InDelta(t, 0.2*calls, st.Hedges, 0.05*calls)
	assert.Less(t, countOver(lat.took[200:], 100*ms), (calls-200)*2/100, "after the warm-up")
	assert.Equal(t, 10, countOver(lat.took[:100], time.Second), "before 100 samples nothing is hedged")
}

func countOver(ds []time.Duration, limit time.Duration) int {
	n := 0
	for _, d := range ds {
		if d > limit {
			n++
		}
	}
	return n
}

type sendFunc func()

func (f sendFunc) Handle(sim.Event) { f() }

// latencies records how long each request took.
type latencies struct {
	s    *sim.Scheduler
	pool *mesh.Pool
	took []time.Duration // by request key
	n    int
}

func (l *latencies) Finish(r *mesh.Request, o mesh.Outcome) {
	l.took[r.Key] = l.s.Now().Sub(r.Created)
	l.n++
	l.pool.Put(r)
}

func TestPercentileHedgingTakesTheCallsSettings(t *testing.T) {
	// As TestPercentileHedging, hedging at the 80th percentile once 100
	// latencies are known, for 1000 calls; then new calls take a policy
	// that hedges at the 99th once 10^6 are known (never, here), pushed
	// as a new policy or given by a route. The latency window is the
	// cluster's, but the percentile and min_samples are the call's: no
	// call hedges after the switch.
	ms := time.Millisecond
	for _, how := range []string{"push", "route"} {
		s := sim.NewScheduler(sim.Config{})
		u := &cycler{s: s, delays: []time.Duration{5 * ms, 6 * ms, 7 * ms, 8 * ms, 9 * ms, 5 * ms, 6 * ms, 7 * ms, 8 * ms, 2 * time.Second}}
		pool := &mesh.Pool{}
		p80 := Policy{LB: "round_robin", Hedge: HedgePolicy{Percentile: &PercentileHedge{Percentile: 80}}}
		c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Pool: pool, Policy: p80})
		require.NoError(t, err)
		never := Policy{LB: "round_robin", Hedge: HedgePolicy{Percentile: &PercentileHedge{Percentile: 99, MinSamples: 1e6}}}
		var send mesh.Caller = c
		lat := &latencies{s: s, pool: pool}
		const calls = 2000
		lat.took = make([]time.Duration, calls)
		var before Stats
		for i := 0; i < calls; i++ {
			s.Schedule(sim.Time(0).Add(time.Duration(i)*20*ms), sendFunc(func() {
				if i == calls/2 {
					before = c.Stats()
					if how == "push" {
						require.NoError(t, c.SetPolicy(never))
					} else {
						rt, err := c.WithRoute(never)
						require.NoError(t, err)
						send = rt
					}
				}
				r := pool.Get()
				r.Origin, r.Measured, r.Created, r.Key = lat, true, s.Now(), uint64(i)
				send.Send(r)
			}), sim.Event{})
		}
		require.NoError(t, s.Run())
		assert.InDelta(t, 0.2*(calls/2-100), before.Hedges, 0.05*calls, how)
		// A hedge of a call started before the switch may still go out.
		assert.LessOrEqual(t, c.Stats().Hedges-before.Hedges, int64(1), "%s: hedges after the switch", how)
	}
}
