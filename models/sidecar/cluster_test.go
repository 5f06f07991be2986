package sidecar

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/meshsim/meshsim/models/lb/random"
	_ "github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// upstream answers each request after delay with the next outcome of its
// script (the last one repeats), and records arrival times.
type upstream struct {
	s       *sim.Scheduler
	delay   time.Duration
	script  []mesh.Outcome
	delays  []time.Duration // per request, the last repeating; delay when empty
	arrived []sim.Time
	keys    []uint64
}

func (u *upstream) Arrive(r *mesh.Request) {
	o := u.script[min(len(u.arrived), len(u.script)-1)]
	d := u.delay
	if len(u.delays) > 0 {
		d = u.delays[min(len(u.arrived), len(u.delays)-1)]
	}
	u.arrived = append(u.arrived, u.s.Now())
	u.keys = append(u.keys, r.Key)
	u.s.After(d, u, sim.Event{Ptr: r, Arg: int64(o)})
}

func (u *upstream) Handle(ev sim.Event) {
	r := ev.Ptr.(*mesh.Request)
	r.Origin.Finish(r, mesh.Outcome(ev.Arg))
}

func (u *upstream) Weight() uint32 { return 1 }

// caller sends requests and records how each ended.
type caller struct {
	s     *sim.Scheduler
	pool  *mesh.Pool
	ended []string
}

func (c *caller) Finish(r *mesh.Request, o mesh.Outcome) {
	c.ended = append(c.ended, fmt.Sprintf("%s@%v", o, c.s.Now()))
	c.pool.Put(r)
}

func (c *caller) send(cl *Cluster) {
	r := c.pool.Get()
	r.Origin = c
	r.Measured = true
	r.Key = r.ID
	cl.Send(r)
}

func newCluster(t *testing.T, s *sim.Scheduler, p Policy, ups ...*upstream) (*Cluster, *caller) {
	t.Helper()
	pool := &mesh.Pool{}
	var list []Upstream
	for _, u := range ups {
		list = append(list, u)
	}
	if p.LB == "" {
		p.LB = "round_robin"
	}
	c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: list, Policy: p, Pool: pool})
	require.NoError(t, err)
	return c, &caller{s: s, pool: pool}
}

func TestRetryOnClasses(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name     string
		on       RetryOn
		script   []mesh.Outcome
		ended    string
		attempts int64
	}{
		{"no retry policy", 0, []mesh.Outcome{mesh.OutcomeError}, "error", 1},
		{"5xx retries a 500", Retry5xx, []mesh.Outcome{mesh.OutcomeError, mesh.OutcomeOK}, "ok", 2},
		{"gateway-error does not retry a 500", RetryGatewayError, []mesh.Outcome{mesh.OutcomeError, mesh.OutcomeOK}, "error", 1},
		{"gateway-error retries a 503", RetryGatewayError, []mesh.Outcome{mesh.OutcomeRejected, mesh.OutcomeOK}, "ok", 2},
		{"retriable-status-codes retries a 503", RetryRetriableStatusCodes, []mesh.Outcome{mesh.OutcomeRejected, mesh.OutcomeOK}, "ok", 2},
		{"retries run out", Retry5xx, []mesh.Outcome{mesh.OutcomeError}, "error", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			u := &upstream{s: s, delay: 10 * ms, script: tc.script}
			c, cl := newCluster(t, s, Policy{Retries: RetryPolicy{NumRetries: 2, RetryOn: tc.on}}, u)
			cl.send(c)
			require.NoError(t, s.Run())
			require.Len(t, cl.ended, 1, "exactly one outcome")
			assert.Contains(t, cl.ended[0], tc.ended+"@")
			st := c.Stats()
			assert.Equal(t, tc.attempts, st.Attempts)
			assert.Equal(t, tc.attempts-1, st.Retries)
			assert.Equal(t, int64(1), st.Calls)
		})
	}
}

func TestBackoffFollowsEnvoysCode(t *testing.T) {
	// Retry n waits U[0, min(25ms * 2^(n-1), 250ms)): after the 10ms
	// answer, retry 1 starts within [10, 35) ms of the previous start, etc.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: 10 * time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError}}
	c, cl := newCluster(t, s, Policy{Retries: RetryPolicy{NumRetries: 6, RetryOn: Retry5xx}}, u)
	cl.send(c)
	require.NoError(t, s.Run())
	require.Len(t, u.arrived, 7)
	for n := 1; n < 7; n++ {
		gap := u.arrived[n].Sub(u.arrived[n-1]) - 10*time.Millisecond
		limit := min(25*time.Millisecond<<(n-1), 250*time.Millisecond)
		assert.True(t, gap >= 0 && gap < limit, "retry %d waited %v, want [0, %v)", n, gap, limit)
	}
	// The distribution: over many draws the mean of retry 3's delay is
	// half its 100ms bound.
	var sum time.Duration
	const draws = 20000
	for i := 0; i < draws; i++ {
		d := c.backoff(&call{pol: &c.policy}, 3)
		require.Less(t, d, 100*time.Millisecond)
		sum += d
	}
	assert.InDelta(t, 50e6, float64(sum)/draws, 1e6) // sd of the mean 0.2ms
	assert.Less(t, c.backoff(&call{pol: &c.policy}, 30), 250*time.Millisecond, "capped at 10 x base")
}

func TestRouteTimeoutBoundsRetriesAndBackoff(t *testing.T) {
	// An upstream that answers after 1s, a per-try timeout of 100ms, five
	// retries and a 250ms route timeout: the call ends at exactly 250ms
	// with a timeout, whatever the retries and backoff were doing, and the
	// late answers are discarded without ending it again.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Second, script: []mesh.Outcome{mesh.OutcomeOK}}
	c, cl := newCluster(t, s, Policy{
		RouteTimeout: 250 * time.Millisecond, PerTryTimeout: 100 * time.Millisecond,
		Retries: RetryPolicy{NumRetries: 5, RetryOn: Retry5xx},
	}, u)
	cl.send(c)
	require.NoError(t, s.Run())
	assert.Equal(t, []string{"timeout@250ms"}, cl.ended)
	st := c.Stats()
	assert.Equal(t, int64(1), st.RouteTimeouts)
	assert.GreaterOrEqual(t, st.PerTryTimeouts, int64(2))
	assert.Equal(t, int64(len(u.arrived)), st.Attempts, "every attempt reached the upstream")
	assert.Equal(t, 0, c.active, "abandoned attempts are not counted as active")
}

func TestPerTryTimeoutWithoutRetriesEndsTheCall(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Second, script: []mesh.Outcome{mesh.OutcomeOK}}
	c, cl := newCluster(t, s, Policy{RouteTimeout: 15 * time.Second, PerTryTimeout: 200 * time.Millisecond}, u)
	cl.send(c)
	require.NoError(t, s.Run())
	assert.Equal(t, []string{"timeout@200ms"}, cl.ended)
}

// sender sends one request through a cluster each time it fires.
type sender struct {
	c  *Cluster
	cl *caller
}

func (x sender) Handle(sim.Event) { x.cl.send(x.c) }

func TestMaxRetriesBreaker(t *testing.T) {
	// Calls start 1ms apart and their first attempts fail 10ms later; each
	// retry (after ~0 backoff) is in flight for 10ms. With max_retries 3,
	// the retries of calls 0-2 are in flight when calls 3-9 fail, so those
	// seven fail without retrying. Retries in backoff would not count
	// (envoy#30205); here the backoff is 1ns.
	s := sim.NewScheduler(sim.Config{})
	script := make([]mesh.Outcome, 10)
	for i := range script {
		script[i] = mesh.OutcomeError
	}
	u := &upstream{s: s, delay: 10 * time.Millisecond, script: append(script, mesh.OutcomeOK)}
	c, cl := newCluster(t, s, Policy{Retries: RetryPolicy{NumRetries: 1, RetryOn: Retry5xx, BaseInterval: time.Nanosecond, MaxInterval: time.Nanosecond}}, u)
	for i := 0; i < 10; i++ {
		s.Schedule(sim.Time(time.Duration(i)*time.Millisecond), sender{c, cl}, sim.Event{})
	}
	require.NoError(t, s.Run())
	st := c.Stats()
	assert.Len(t, cl.ended, 10)
	assert.Equal(t, int64(3), st.Retries)
	assert.Equal(t, int64(7), st.RetryOverflows)
	assert.Equal(t, int64(3), st.Outcomes[mesh.OutcomeOK])
	assert.Equal(t, int64(7), st.Outcomes[mesh.OutcomeError])
}

func TestRetryBudget(t *testing.T) {
	for _, tc := range []struct {
		active, want int
	}{{0, 3}, {2, 3}, {25, 5}, {100, 20}} {
		c := &Cluster{policy: Policy{Retries: RetryPolicy{Budget: &RetryBudget{Percent: 20, MinConcurrency: 3}}}, active: tc.active}
		assert.Equal(t, tc.want, c.retryLimit(), "active %d", tc.active)
	}
}

func TestMaxRequestsOverflowIsNotRetried(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: 10 * time.Millisecond, script: []mesh.Outcome{mesh.OutcomeOK}}
	c, cl := newCluster(t, s, Policy{MaxRequests: 2, Retries: RetryPolicy{NumRetries: 3, RetryOn: Retry5xx | RetryGatewayError}}, u)
	for i := 0; i < 3; i++ {
		cl.send(c)
	}
	require.NoError(t, s.Run())
	assert.Equal(t, []string{"rejected@0s", "ok@10ms", "ok@10ms"}, cl.ended)
	assert.Equal(t, int64(1), c.Stats().Overflows)
	assert.Len(t, u.arrived, 2)
}

func TestPreviousHostsPredicate(t *testing.T) {
	// Two hosts, random picks: without the predicate a retry lands on the
	// failed host half the time. With it and 5 re-picks, Envoy keeps the
	// last of 1+5 independent picks, so a retry still repeats the host with
	// probability 0.5^6 = 1.56%. (4000 calls: sd 0.2%.)
	for _, tc := range []struct {
		previous bool
		lo, hi   float64
	}{{false, 0.47, 0.53}, {true, 0.009, 0.022}} {
		s := sim.NewScheduler(sim.Config{})
		a := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError}}
		b := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError}}
		c, cl := newCluster(t, s, Policy{LB: "random", Retries: RetryPolicy{
			NumRetries: 1, RetryOn: Retry5xx, PreviousHosts: tc.previous, HostSelectionAttempts: 5, MaxRetries: 1 << 20,
		}, MaxRequests: 1 << 20}, a, b)
		const calls = 4000
		for i := 0; i < calls; i++ {
			cl.send(c)
		}
		require.NoError(t, s.Run())
		require.Equal(t, int64(2*calls), c.Stats().Attempts)
		// A call whose two attempts went to the same host shows its key
		// twice at that host.
		same := 0
		for _, u := range []*upstream{a, b} {
			seen := map[uint64]bool{}
			for _, k := range u.keys {
				if seen[k] {
					same++
				}
				seen[k] = true
			}
		}
		frac := float64(same) / calls
		assert.True(t, frac >= tc.lo && frac <= tc.hi, "previous_hosts=%v: %.3f of retries went to the same host", tc.previous, frac)
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError, mesh.OutcomeOK}}
	c, cl := newCluster(t, s, Policy{RouteTimeout: time.Second, PerTryTimeout: 500 * time.Millisecond,
		Retries: RetryPolicy{NumRetries: 2, RetryOn: Retry5xx}}, u)
	// The test caller formats strings; measure with one that does not.
	q := &quiet{pool: cl.pool}
	send := func() {
		u.arrived, u.keys = u.arrived[:0], u.keys[:0]
		r := q.pool.Get()
		r.Origin = q
		r.Measured = true
		c.Send(r)
		for s.Step() {
		}
	}
	for i := 0; i < 100; i++ {
		send()
	}
	assert.Zero(t, testing.AllocsPerRun(1000, send))
	assert.Positive(t, q.n)
}

type quiet struct {
	pool *mesh.Pool
	n    int
}

func (q *quiet) Finish(r *mesh.Request, o mesh.Outcome) {
	q.n++
	q.pool.Put(r)
}

func TestPolicyValidation(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{LB: "least_reqest"}, `sidecar: invalid configuration: unknown lb policy "least_reqest"`},
		{Policy{LB: "random", Workers: 2000}, "sidecar: invalid configuration: workers must be between 1 and 1024, got 2000"},
		{Policy{LB: "random", RouteTimeout: -1}, "sidecar: invalid configuration: timeouts must not be negative"},
		{Policy{LB: "random", Retries: RetryPolicy{NumRetries: -1}}, "sidecar: invalid configuration: num_retries must be between 0 and 100, got -1"},
		{Policy{LB: "random", Retries: RetryPolicy{BaseInterval: time.Second, MaxInterval: time.Millisecond}}, "sidecar: invalid configuration: backoff max_interval 1ms must be >= base_interval 1s"},
		{Policy{LB: "random", Retries: RetryPolicy{Budget: &RetryBudget{Percent: 150}}}, "sidecar: invalid configuration: retry budget percent must be in (0, 100] and min_retry_concurrency >= 0"},
	} {
		p := tc.p
		assert.EqualError(t, p.Validate(), tc.want)
	}
	p := Policy{LB: "random", Retries: RetryPolicy{PreviousHosts: true, Budget: &RetryBudget{}}}
	require.NoError(t, p.Validate())
	assert.Equal(t, 1, p.Workers)
	assert.Equal(t, 1024, p.MaxRequests)
	assert.Equal(t, 25*time.Millisecond, p.Retries.BaseInterval)
	assert.Equal(t, 250*time.Millisecond, p.Retries.MaxInterval)
	assert.Equal(t, 3, p.Retries.MaxRetries)
	assert.Equal(t, 1, p.Retries.HostSelectionAttempts)
	assert.Equal(t, RetryBudget{Percent: 20, MinConcurrency: 3}, *p.Retries.Budget)
}

func TestParseRetryOn(t *testing.T) {
	on, err := ParseRetryOn([]string{"5xx", "reset"})
	require.NoError(t, err)
	assert.Equal(t, "5xx,reset", on.String())
	_, err = ParseRetryOn([]string{"5xxx"})
	assert.EqualError(t, err, `sidecar: invalid configuration: unknown retry_on condition "5xxx" (valid: 5xx, gateway-error, reset, connect-failure, retriable-status-codes)`)
}

func TestDirectModeMatchesTheCallPath(t *testing.T) {
	// With no timeouts and no retries the proxy forwards requests itself
	// (direct mode). A route timeout that never fires forces the full call
	// path; both must end the same requests the same way at the same times,
	// including max_requests overflows.
	run := func(p Policy) ([]string, Stats) {
		s := sim.NewScheduler(sim.Config{})
		a := &upstream{s: s, delay: 3 * time.Millisecond, script: []mesh.Outcome{mesh.OutcomeOK, mesh.OutcomeError, mesh.OutcomeRejected}}
		b := &upstream{s: s, delay: 5 * time.Millisecond, script: []mesh.Outcome{mesh.OutcomeOK}}
		c, cl := newCluster(t, s, p, a, b)
		for i := 0; i < 40; i++ {
			s.Schedule(sim.Time(time.Duration(i)*time.Millisecond/2), sender{c, cl}, sim.Event{})
		}
		require.NoError(t, s.Run())
		assert.Zero(t, c.Open())
		assert.Zero(t, c.Unanswered())
		return cl.ended, c.Stats()
	}
	direct, ds := run(Policy{LB: "random", MaxRequests: 8})
	full, fs := run(Policy{LB: "random", MaxRequests: 8, RouteTimeout: time.Hour})
	assert.Equal(t, full, direct)
	fs.RouteTimeouts = 0
	assert.Equal(t, fs, ds)
	assert.Positive(t, ds.Overflows, "the test must exercise max_requests")
}

// ticker sends one request through a cluster every period.
type ticker struct {
	s      *sim.Scheduler
	c      *Cluster
	q      *quiet
	period time.Duration
}

func (k *ticker) Handle(sim.Event) {
	r := k.q.pool.Get()
	r.Origin = k.q
	r.Measured = true
	k.c.Send(r)
	k.s.After(k.period, k, sim.Event{})
}

func TestOutlierDetectionEjectsAFailingHost(t *testing.T) {
	// Five hosts behind round robin; host 2 answers every request with a
	// 500. One request every 10ms for 300s: 6000 reach host 2 without
	// ejection.
	run := func(od *outlier.Config) (Stats, *outlier.Detector) {
		s := sim.NewScheduler(sim.Config{})
		var ups []*upstream
		for i := 0; i < 5; i++ {
			o := mesh.OutcomeOK
			if i == 2 {
				o = mesh.OutcomeError
			}
			ups = append(ups, &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{o}})
		}
		c, cl := newCluster(t, s, Policy{Outlier: od}, ups...)
		k := &ticker{s: s, c: c, q: &quiet{pool: cl.pool}, period: 10 * time.Millisecond}
		s.Schedule(0, k, sim.Event{})
		require.NoError(t, s.RunUntil(sim.Time(300*time.Second)))
		return c.Stats(), c.Detector()
	}
	plain, _ := run(nil)
	assert.InDelta(t, 6000, plain.HostAttempts[2], 2)

	// Envoy's defaults with 5 hosts: max_ejection_percent 10 allows no
	// ejection at all (100*(0+1)/5 = 20 > 10), strict since envoy#27909.
	strict, d := run(&outlier.Config{})
	assert.InDelta(t, 6000, strict.HostAttempts[2], 2)
	assert.Zero(t, d.Stats().EnforcedTotal())
	assert.Positive(t, d.Stats().Overflow)

	// With room for one ejection the host is ejected after 5 consecutive
	// 500s (at about 0.25s), for base x k = 30s, 60s, 90s, 120s; it comes
	// back only at a 10s interval tick, so the first three ejections end at
	// 40s, 110s and 210s, and the fourth is still on at 300s. It receives 5
	// requests each time it is back.
	cfg := outlier.Config{MaxEjectionPercent: outlier.Pct(20)}
	ejecting, d := run(&cfg)
	assert.Equal(t, int64(4), d.Stats().EnforcedTotal())
	assert.Equal(t, int64(20), ejecting.HostAttempts[2], "5 requests per time it is back")
	var spans []time.Duration
	for _, e := range d.Intervals() {
		if !e.Ongoing() {
			spans = append(spans, e.To.Sub(e.From))
		}
	}
	require.Len(t, spans, 3)
	for i, want := range []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second} {
		assert.True(t, spans[i] >= want && spans[i] < want+10*time.Second, "ejection %d lasted %v, want [%v, %v)", i+1, spans[i], want, want+10*time.Second)
	}
}

func TestPanicThresholdRoutesToAllHosts(t *testing.T) {
	// Two of four hosts fail; with max_ejection_percent 100 both are
	// ejected. At 50% healthy Envoy is not yet in panic (panic below 50%),
	// so the failing hosts get nothing; at a threshold of 60% the proxy
	// panics and balances over all four, ejected ones included.
	for _, tc := range []struct {
		threshold int
		starved   bool
	}{{50, true}, {60, false}} {
		s := sim.NewScheduler(sim.Config{})
		var ups []*upstream
		for i := 0; i < 4; i++ {
			o := mesh.OutcomeOK
			if i < 2 {
				o = mesh.OutcomeError
			}
			ups = append(ups, &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{o}})
		}
		cfg := outlier.Config{MaxEjectionPercent: outlier.Pct(100)}
		c, cl := newCluster(t, s, Policy{Outlier: &cfg, PanicThreshold: tc.threshold}, ups...)
		k := &ticker{s: s, c: c, q: &quiet{pool: cl.pool}, period: 10 * time.Millisecond}
		s.Schedule(0, k, sim.Event{})
		require.NoError(t, s.RunUntil(sim.Time(20*time.Second)))
		st := c.Stats()
		if tc.starved {
			assert.Less(t, st.HostAttempts[0]+st.HostAttempts[1], int64(20), "threshold %d", tc.threshold)
		} else {
			assert.Greater(t, st.HostAttempts[0]+st.HostAttempts[1], int64(800), "threshold %d", tc.threshold)
		}
	}
}

// slowThenFast answers its first request after slow and the rest after
// fast: a request stuck on a bad connection, then healthy ones.
type slowThenFast struct {
	s          *sim.Scheduler
	slow, fast time.Duration
	n          int
}

func (u *slowThenFast) Arrive(r *mesh.Request) {
	d := u.fast
	if u.n == 0 {
		d = u.slow
	}
	u.n++
	u.s.After(d, u, sim.Event{Ptr: r})
}

func (u *slowThenFast) Handle(ev sim.Event) {
	r := ev.Ptr.(*mesh.Request)
	r.Origin.Finish(r, mesh.OutcomeOK)
}

func (u *slowThenFast) Weight() uint32 { return 1 }

func TestHedging(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name     string
		p        Policy
		ended    string
		attempts int64
		hedges   int64
		wins     int64
	}{
		// Without hedging a per-try timeout resets the slow attempt and
		// retries: the answer comes from the retry.
		{"retry on per-try timeout", Policy{PerTryTimeout: 50 * ms, Retries: RetryPolicy{NumRetries: 1, RetryOn: Retry5xx, BaseInterval: time.Nanosecond, MaxInterval: time.Nanosecond}},
			"ok@60ms", 2, 0, 0},
		// Envoy's hedge_on_per_try_timeout: the slow attempt stays in
		// flight, a hedge starts at 50ms and wins at 60ms.
		{"hedge on per-try timeout", Policy{PerTryTimeout: 50 * ms, Hedge: HedgePolicy{OnPerTryTimeout: true}, Retries: RetryPolicy{NumRetries: 1, RetryOn: Retry5xx, BaseInterval: time.Nanosecond, MaxInterval: time.Nanosecond}},
			"ok@60ms", 2, 1, 1},
		// gRPC's fixed delay: a hedge every 20ms, at most 3 attempts; the
		// first hedge (sent at 20ms) answers at 30ms.
		{"fixed-delay hedging", Policy{Hedge: HedgePolicy{Delay: 20 * ms, MaxAttempts: 3}},
			"ok@30ms", 2, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			u := &slowThenFast{s: s, slow: time.Second, fast: 10 * ms}
			pool := &mesh.Pool{}
			p := tc.p
			p.LB = "round_robin"
			c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Policy: p, Pool: pool})
			require.NoError(t, err)
			cl := &caller{s: s, pool: pool}
			cl.send(c)
			require.NoError(t, s.Run())
			assert.Equal(t, []string{tc.ended}, cl.ended)
			st := c.Stats()
			assert.Equal(t, tc.attempts, st.Attempts)
			assert.Equal(t, tc.hedges, st.Hedges)
			assert.Equal(t, tc.wins, st.HedgeWins)
			assert.Zero(t, c.Unanswered(), "the slow attempt's late answer came back and was discarded")
		})
	}
}

func TestValidateIsIdempotent(t *testing.T) {
	// The scenario layer validates a policy and NewCluster validates it
	// again: defaults must not be applied twice (a resolved "never panic"
	// once came back as the default 50%).
	for _, p := range []Policy{
		{LB: "random"},
		{LB: "random", PanicThreshold: NoPanic, Outlier: &outlier.Config{MaxEjectionPercent: outlier.Pct(100)}},
		{LB: "round_robin", PerTryTimeout: time.Second, Hedge: HedgePolicy{OnPerTryTimeout: true}, Retries: RetryPolicy{NumRetries: 2, Budget: &RetryBudget{}}},
		{LB: "round_robin", Hedge: HedgePolicy{Delay: time.Millisecond}},
	} {
		once := p
		require.NoError(t, once.Validate())
		twice := once
		if once.Outlier != nil {
			c := *once.Outlier
			twice.Outlier = &c
		}
		if once.Retries.Budget != nil {
			b := *once.Retries.Budget
			twice.Retries.Budget = &b
		}
		require.NoError(t, twice.Validate())
		assert.Equal(t, once, twice)
	}
}

func TestNetworkLatency(t *testing.T) {
	// Two hosts: 1ms away and 5ms away, each way. With round robin the
	// answers come back 10ms (service) + 2ms and 10ms + 10ms after the
	// sends, in direct mode and through the call path alike.
	ms := time.Millisecond
	for _, p := range []Policy{{}, {RouteTimeout: time.Hour}} {
		s := sim.NewScheduler(sim.Config{})
		near := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
		far := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
		d1, _ := dist.Constant(ms)
		d5, _ := dist.Constant(5 * ms)
		pool := &mesh.Pool{}
		p.LB = "round_robin"
		c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{near, far}, Policy: p, Pool: pool, Latency: []dist.Dist{d1, d5}})
		require.NoError(t, err)
		cl := &caller{s: s, pool: pool}
		cl.send(c)
		cl.send(c)
		assert.Equal(t, int64(2), c.InTransit(), "both requests on the network")
		require.NoError(t, s.Run())
		assert.ElementsMatch(t, []string{"ok@12ms", "ok@20ms"}, cl.ended)
		assert.Zero(t, c.InTransit())
		assert.Zero(t, c.Unanswered())
		assert.Equal(t, []sim.Time{sim.Time(ms)}, near.arrived, "the request reached the near host 1ms after it was sent")
		assert.Equal(t, []sim.Time{sim.Time(5 * ms)}, far.arrived)
	}
}

func TestA429IsNotRetried(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeShed, mesh.OutcomeOK}}
	c, cl := newCluster(t, s, Policy{Retries: RetryPolicy{NumRetries: 2, RetryOn: Retry5xx | RetryGatewayError | RetryRetriableStatusCodes}}, u)
	cl.send(c)
	require.NoError(t, s.Run())
	assert.Equal(t, []string{"shed@1ms"}, cl.ended)
	assert.Equal(t, int64(1), c.Stats().Attempts)
}

// failsLater answers its first request with a 500 after slow, and the
// others ok after fast.
type failsLater struct {
	s          *sim.Scheduler
	slow, fast time.Duration
	n          int
	arrived    []sim.Time
}

func (u *failsLater) Arrive(r *mesh.Request) {
	u.arrived = append(u.arrived, u.s.Now())
	d, o := u.fast, mesh.OutcomeOK
	if u.n == 0 {
		d, o = u.slow, mesh.OutcomeError
	}
	u.n++
	u.s.After(d, u, sim.Event{Ptr: r, Arg: int64(o)})
}

func (u *failsLater) Handle(ev sim.Event) {
	r := ev.Ptr.(*mesh.Request)
	r.Origin.Finish(r, mesh.Outcome(ev.Arg))
}

func (u *failsLater) Weight() uint32 { return 1 }

func TestHedgeInBackoffWhenTheFirstAttemptFails(t *testing.T) {
	// The first attempt reaches its 50ms per-try timeout; the hedge waits
	// in its backoff; meanwhile, at 51ms, the first attempt fails. The
	// pending hedge is the next attempt: no second backoff, one more
	// attempt only, and the call ends once.
	s := sim.NewScheduler(sim.Config{})
	u := &failsLater{s: s, slow: 51 * time.Millisecond, fast: 10 * time.Millisecond}
	pool := &mesh.Pool{}
	c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Pool: pool, Policy: Policy{
		LB: "round_robin", PerTryTimeout: 50 * time.Millisecond, Hedge: HedgePolicy{OnPerTryTimeout: true},
		Retries: RetryPolicy{NumRetries: 3, RetryOn: Retry5xx, BaseInterval: 50 * time.Millisecond, MaxInterval: 50 * time.Millisecond},
	}})
	require.NoError(t, err)
	cl := &caller{s: s, pool: pool}
	cl.send(c)
	require.NoError(t, s.Run())
	// The premise: with this seed the backoff draw puts the hedge after
	// the failure (a draw of U[0, 50ms) above 1ms).
	require.GreaterOrEqual(t, len(u.arrived), 2)
	require.Greater(t, u.arrived[1], sim.Time(51*time.Millisecond), "the hedge must start after the first attempt failed")
	require.Len(t, cl.ended, 1, "the call ends exactly once")
	assert.Contains(t, cl.ended[0], "ok@")
	assert.Equal(t, 2, u.n, "one hedge, no duplicate attempt")
	assert.Equal(t, 0, s.Pending(), "no stray timer left")
}

func TestDelayHedgesEndWithTheCall(t *testing.T) {
	// Hedges every 10ms up to 4 attempts against an upstream that never
	// answers in time, with max_requests 2: the third attempt overflows,
	// which ends the call; no hedge timer may outlive it.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Second, script: []mesh.Outcome{mesh.OutcomeOK}}
	c, cl := newCluster(t, s, Policy{MaxRequests: 2, Hedge: HedgePolicy{Delay: 10 * time.Millisecond, MaxAttempts: 4}}, u)
	cl.send(c)
	require.NoError(t, s.RunUntil(sim.Time(500*time.Millisecond)))
	assert.Equal(t, []string{"rejected@20ms"}, cl.ended)
	assert.Equal(t, 2, s.Pending(), "only the two attempts' answers remain, no hedge timer")
	require.NoError(t, s.Run())
	assert.Len(t, cl.ended, 1)
}

func TestPropagatedDeadline(t *testing.T) {
	// The route timeout is shortened to what is left of the request's
	// deadline; a request whose deadline has passed is failed at once,
	// without an attempt; direct mode (no timeouts, no retries) switches
	// to a call when a request carries a deadline.
	cases := []struct {
		name     string
		policy   Policy
		deadline time.Duration // after the send; 0 none, < 0 already passed
		want     string
		attempts int64
	}{
		{"route timeout shorter", Policy{RouteTimeout: 100 * time.Millisecond}, 300 * time.Millisecond, "timeout@100ms", 1},
		{"deadline shorter", Policy{RouteTimeout: 15 * time.Second}, 300 * time.Millisecond, "timeout@300ms", 1},
		{"deadline in direct mode", Policy{}, 300 * time.Millisecond, "timeout@300ms", 1},
		{"no deadline in direct mode", Policy{}, 0, "ok@1s", 1},
		{"deadline passed", Policy{RouteTimeout: 15 * time.Second}, -1, "timeout@0s", 0},
		{"deadline passed in direct mode", Policy{}, -1, "timeout@0s", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			u := &upstream{s: s, delay: time.Second, script: []mesh.Outcome{mesh.OutcomeOK}}
			c, cl := newCluster(t, s, tc.policy, u)
			r := cl.pool.Get()
			r.Origin, r.Measured = cl, true
			switch {
			case tc.deadline > 0:
				r.Deadline = sim.Time(0).Add(tc.deadline)
			case tc.deadline < 0:
				require.NoError(t, s.RunUntil(sim.Time(0).Add(time.Millisecond)))
				r.Deadline = sim.Time(1)
			}
			c.Send(r)
			require.NoError(t, s.Run())
			want := tc.want
			if tc.deadline < 0 {
				want = "timeout@1ms"
			}
			assert.Equal(t, []string{want}, cl.ended)
			st := c.Stats()
			assert.Equal(t, tc.attempts, st.Attempts)
			assert.Equal(t, int64(1), st.Calls)
			assert.Equal(t, int64(0), c.Open())
			if tc.deadline < 0 {
				assert.Equal(t, int64(1), st.DeadlineExceeded)
			}
		})
	}
}

func TestWithRouteOverridesRouteSettingsOnly(t *testing.T) {
	// The cluster retries nothing; a route through it retries 5xx twice
	// with its own timeout. Both share the cluster's hosts, counters and
	// max_retries breaker.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: 10 * time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError}}
	c, cl := newCluster(t, s, Policy{Retries: RetryPolicy{MaxRetries: 7}}, u)
	rt, err := c.WithRoute(Policy{RouteTimeout: 5 * time.Second, Retries: RetryPolicy{NumRetries: 2, RetryOn: Retry5xx, MaxRetries: 1}})
	require.NoError(t, err)
	assert.Equal(t, 7, rt.pol.Retries.MaxRetries, "max_retries is the cluster's circuit breaker")
	assert.Equal(t, 5*time.Second, rt.pol.RouteTimeout)

	cl.send(c) // the cluster's own settings: one attempt
	r := cl.pool.Get()
	r.Origin, r.Measured = cl, true
	rt.Send(r) // the route's: three attempts
	require.NoError(t, s.Run())
	require.Len(t, cl.ended, 2)
	assert.Equal(t, "error@10ms", cl.ended[0])
	st := c.Stats()
	assert.Equal(t, int64(2), st.Calls)
	assert.Equal(t, int64(4), st.Attempts)
	assert.Equal(t, int64(2), st.Retries)

	_, err = c.WithRoute(Policy{RouteTimeout: -1})
	assert.ErrorIs(t, err, ErrConfig)
}

func TestSetEndpoints(t *testing.T) {
	// Round robin over two hosts; host 1 leaves the endpoint set, then
	// comes back; with no endpoint at all the proxy answers 503 at once.
	s := sim.NewScheduler(sim.Config{})
	u0 := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeOK}}
	u1 := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeOK}}
	pool := &mesh.Pool{}
	c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u0, u1}, Pool: pool,
		Policy: Policy{LB: "round_robin"}, Dynamic: true})
	require.NoError(t, err)
	cl := &caller{s: s, pool: pool}
	send := func(n int) {
		for i := 0; i < n; i++ {
			cl.send(c)
		}
		require.NoError(t, s.Run())
	}
	send(4)
	assert.Len(t, u0.arrived, 2)
	assert.Len(t, u1.arrived, 2)
	c.SetEndpoints([]int{0})
	send(4)
	assert.Len(t, u0.arrived, 6)
	assert.Len(t, u1.arrived, 2)
	c.SetEndpoints([]int{0, 1})
	send(4)
	assert.Len(t, u0.arrived, 8)
	assert.Len(t, u1.arrived, 4)
	c.SetEndpoints(nil)
	cl.ended = nil
	send(1)
	assert.Equal(t, []string{"rejected@3ms"}, cl.ended)
	c.SetEndpoints([]int{1})
	c.SetChecked(1, false)
	cl.ended = nil
	send(1)
	assert.Equal(t, []string{"ok@4ms"}, cl.ended, "no healthy host of one: panic mode routes to it anyway, as Envoy")
}

func TestSetPolicy(t *testing.T) {
	// A push switches round robin to random with one retry: new calls
	// retry, the pickers are rebuilt; changing the workers is refused.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeError}}
	c, cl := newCluster(t, s, Policy{LB: "round_robin"}, u)
	cl.send(c)
	require.NoError(t, s.Run())
	assert.Equal(t, int64(1), c.Stats().Attempts)
	require.NoError(t, c.SetPolicy(Policy{LB: "random", Retries: RetryPolicy{NumRetries: 1, RetryOn: Retry5xx}}))
	cl.send(c)
	require.NoError(t, s.Run())
	assert.Equal(t, int64(3), c.Stats().Attempts, "the second call was retried once")
	assert.ErrorIs(t, c.SetPolicy(Policy{LB: "random", Workers: 2}), ErrConfig)
}
