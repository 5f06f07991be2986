package health_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/health"
	"github.com/meshsim/meshsim/sim"
)

const (
	ms  = time.Millisecond
	sec = time.Second
)

func at(d time.Duration) sim.Time { return sim.Time(0).Add(d) }

// answer is how the scripted instance answers one probe.
type answer struct {
	r       health.Result
	latency time.Duration
	lost    bool // never answered: the checker's timeout fires
}

// script answers the probes of each host from a function of the host and
// the 0-based number of the probe, after its latency, through the
// scheduler. It records when each probe was sent.
type script struct {
	s      *sim.Scheduler
	c      *health.Checker
	answer func(host, n int) answer
	sent   map[int][]sim.Time
	queued []pendingAnswer
	seen   []health.Transition
}

type pendingAnswer struct {
	host int
	id   health.ProbeID
	r    health.Result
}

func (p *script) Probe(host int, id health.ProbeID) {
	n := len(p.sent[host])
	p.sent[host] = append(p.sent[host], p.s.Now())
	a := p.answer(host, n)
	if a.lost {
		return
	}
	p.queued = append(p.queued, pendingAnswer{host, id, a.r})
	p.s.After(a.latency, p, sim.Event{Arg: int64(len(p.queued) - 1)})
}

func (p *script) Handle(ev sim.Event) {
	q := p.queued[ev.Arg]
	p.c.Answer(q.host, q.id, q.r)
}

func (p *script) HealthChanged(tr health.Transition) { p.seen = append(p.seen, tr) }

func newChecker(t testing.TB, hosts int, cfg health.Config, seed uint64, f func(host, n int) answer) (*sim.Scheduler, *health.Checker, *script) {
	t.Helper()
	s := sim.NewScheduler(sim.Config{})
	p := &script{s: s, answer: f, sent: map[int][]sim.Time{}}
	c, err := health.New(s, sim.NewRand(seed, 0), hosts, cfg, p, p)
	require.NoError(t, err, "seed=%d", seed)
	p.c = c
	return s, c, p
}

// TestUnhealthyAfterExactlyThreshold: a host answers its first probe with
// success (healthy at once, the startup rule), then fails every probe. It
// must turn unhealthy on exactly the unhealthy_threshold-th failure that
// counts, at an instant computed from the intervals: after the success the
// next probe waits interval; after each failure short of the threshold it
// waits unhealthy_edge_interval.
func TestUnhealthyAfterExactlyThreshold(t *testing.T) {
	const lat = 20 * ms
	cfg := health.Config{
		Timeout:               500 * ms,
		Interval:              5 * sec,
		UnhealthyEdgeInterval: 2 * sec,
		UnhealthyInterval:     7 * sec,
	}
	failures := []struct {
		name string
		a    answer
		// counts reports whether the failure counts toward the
		// threshold (otherwise it is immediate).
		counts bool
		// took is how long a failed check takes from probe to result.
		took time.Duration
	}{
		{"timeout", answer{lost: true}, true, 500 * ms},
		{"connect failure", answer{r: health.ConnectFailure, latency: lat}, true, lat},
		{"retriable status", answer{r: health.RetriableFailure, latency: lat}, true, lat},
		{"503 is immediate", answer{r: health.Failure, latency: lat}, false, lat},
		{"answer after the timeout", answer{r: health.Success, latency: 600 * ms}, true, 500 * ms},
	}
	for _, th := range []int{1, 2, 3, 5} {
		for _, f := range failures {
			t.Run(f.name+"/threshold="+itoa(th), func(t *testing.T) {
				cfg := cfg
				cfg.UnhealthyThreshold = th
				s, c, p := newChecker(t, 1, cfg, 1, func(_, n int) answer {
					if n == 0 {
						return answer{r: health.Success, latency: lat}
					}
					return f.a
				})
				c.Start()
				require.NoError(t, s.RunUntil(at(lat)))
				require.Equal(t, health.StateHealthy, c.State(0), "one success at startup marks healthy")

				want := th
				if !f.counts {
					want = 1
				}
				// Expected instant of the transition.
				probe := lat + cfg.Interval
				for k := 1; k < want; k++ {
					probe += f.took + cfg.UnhealthyEdgeInterval
				}
				transition := probe + f.took
				require.NoError(t, s.RunUntil(at(transition-ms)))
				assert.Equal(t, health.StateHealthy, c.State(0), "still healthy 1 ms before the %d-th failure", want)
				assert.Len(t, p.sent[0], 1+want, "probes sent: the startup success, then the failures")
				require.NoError(t, s.RunUntil(at(transition)))
				assert.Equal(t, health.StateUnhealthy, c.State(0))
				require.Len(t, p.seen, 2)
				cause := f.a.r
				if f.a.lost || f.a.latency >= cfg.Timeout {
					cause = health.Timeout
				}
				assert.Equal(t, health.Transition{At: at(transition), Host: 0, From: health.StateHealthy, To: health.StateUnhealthy, Cause: cause}, p.seen[1])
				// After the transition the host is probed every unhealthy_interval.
				require.NoError(t, s.RunUntil(at(transition+cfg.UnhealthyInterval)))
				assert.Equal(t, at(transition+cfg.UnhealthyInterval), p.sent[0][len(p.sent[0])-1])
				assert.Equal(t, c.Transitions(), p.seen)
			})
		}
	}
}

// TestCauses checks the cause recorded with each transition.
func TestCauses(t *testing.T) {
	for _, tc := range []struct {
		a    answer
		want health.Result
	}{
		{answer{lost: true}, health.Timeout},
		{answer{r: health.ConnectFailure}, health.ConnectFailure},
		{answer{r: health.Failure}, health.Failure},
	} {
		s, c, p := newChecker(t, 1, health.Config{UnhealthyThreshold: 1}, 1, func(_, n int) answer {
			if n == 0 {
				return answer{r: health.Success}
			}
			return tc.a
		})
		c.Start()
		require.NoError(t, s.RunUntil(at(time.Minute)))
		require.GreaterOrEqual(t, len(p.seen), 2)
		assert.Equal(t, tc.want, p.seen[1].Cause)
	}
}

// TestHealthyAgainAfterThreshold: an unhealthy host turns healthy on
// exactly the healthy_threshold-th consecutive success, the probes between
// them spaced by healthy_edge_interval; a failure in between resets the
// count.
func TestHealthyAgainAfterThreshold(t *testing.T) {
	const lat = 10 * ms
	for _, th := range []int{1, 2, 4} {
		t.Run("threshold="+itoa(th), func(t *testing.T) {
			cfg := health.Config{
				Interval:            5 * sec,
				UnhealthyInterval:   9 * sec,
				HealthyEdgeInterval: 1 * sec,
				HealthyThreshold:    th,
			}
			// Probe 0 fails (unknown -> unhealthy), probe 1 succeeds,
			// probe 2 fails (resets), then all succeed.
			s, c, p := newChecker(t, 1, cfg, 1, func(_, n int) answer {
				if n == 0 || n == 2 && th > 1 {
					return answer{r: health.ConnectFailure, latency: lat}
				}
				return answer{r: health.Success, latency: lat}
			})
			c.Start()
			require.NoError(t, s.RunUntil(at(lat)))
			require.Equal(t, health.StateUnhealthy, c.State(0), "the first failure confirms the unknown host unhealthy")

			var transition time.Duration
			if th == 1 {
				transition = lat + cfg.UnhealthyInterval + lat
			} else {
				// probe 1 at lat+9s succeeds (pending): next after 1 s;
				// probe 2 fails: next after 9 s; then th successes.
				probe := lat + cfg.UnhealthyInterval   // probe 1
				probe += lat + cfg.HealthyEdgeInterval // probe 2 (fails)
				probe += lat + cfg.UnhealthyInterval   // probe 3: first of th successes
				probe += time.Duration(th-1) * (lat + cfg.HealthyEdgeInterval)
				transition = probe + lat
			}
			require.NoError(t, s.RunUntil(at(transition-ms)))
			assert.Equal(t, health.StateUnhealthy, c.State(0))
			require.NoError(t, s.RunUntil(at(transition)))
			assert.Equal(t, health.StateHealthy, c.State(0))
			last := p.seen[len(p.seen)-1]
			assert.Equal(t, health.Transition{At: at(transition), Host: 0, From: health.StateUnhealthy, To: health.StateHealthy, Cause: health.Success}, last)
			// Healthy now: probes every interval.
			require.NoError(t, s.RunUntil(at(transition+cfg.Interval)))
			assert.Equal(t, at(transition+cfg.Interval), p.sent[0][len(p.sent[0])-1])
		})
	}
}

// TestStartupOneSuccess: with a high healthy_threshold, an unknown host
// still needs one success.
func TestStartupOneSuccess(t *testing.T) {
	s, c, p := newChecker(t, 3, health.Config{HealthyThreshold: 5}, 1, func(host, _ int) answer {
		return answer{r: health.Success, latency: time.Duration(host+1) * ms}
	})
	for h := 0; h < 3; h++ {
		assert.Equal(t, health.StateUnknown, c.State(h), "hosts start unknown (Envoy: FAILED_ACTIVE_HC)")
		assert.False(t, c.Healthy(h))
	}
	c.Start()
	require.NoError(t, s.RunUntil(at(3*ms)))
	for h := 0; h < 3; h++ {
		assert.True(t, c.Healthy(h))
		assert.Equal(t, sim.Time(0), p.sent[h][0], "first probes go out at Start without initial_jitter")
	}
	assert.Equal(t, 3, c.Stats().Healthy)
}

// TestJitterDrawsFromOwnStream replays the checker's draws from a copy of
// its stream: initial_jitter, then interval_jitter_percent and
// interval_jitter on every wait, in Envoy's order, in whole milliseconds.
func TestJitterDrawsFromOwnStream(t *testing.T) {
	cfg := health.Config{
		Interval:              2 * sec,
		InitialJitter:         300 * ms,
		IntervalJitter:        100 * ms,
		IntervalJitterPercent: 10,
	}
	const seed = 42
	s, c, p := newChecker(t, 2, cfg, seed, func(_, _ int) answer { return answer{r: health.Success} })
	c.Start()
	require.NoError(t, s.RunUntil(at(30*sec)))

	r := sim.NewRand(seed, 0)
	// Initial jitter, host 0 then host 1.
	want := map[int][]sim.Time{}
	for h := 0; h < 2; h++ {
		want[h] = []sim.Time{at(time.Duration(max(r.Uint64()%300, 1)) * ms)}
	}
	// Then waits are drawn in the order the answers come in: the answers
	// are immediate, so in order of probe time, ties by host.
	next := func() time.Duration {
		d := uint64(2000)
		d += r.Uint64() % (10 * 2000 / 100)
		d += r.Uint64() % 100
		return time.Duration(d) * ms
	}
	last := map[int]sim.Time{0: want[0][0], 1: want[1][0]}
	for {
		h := 0
		if last[1] < last[0] {
			h = 1
		}
		t := last[h].Add(next())
		if t > at(30*sec) {
			break
		}
		want[h] = append(want[h], t)
		last[h] = t
	}
	assert.Equal(t, want[0], p.sent[0])
	assert.Equal(t, want[1], p.sent[1])

	// Same seed, same times; another seed, other times.
	s2, c2, p2 := newChecker(t, 2, cfg, seed, func(_, _ int) answer { return answer{r: health.Success} })
	c2.Start()
	require.NoError(t, s2.RunUntil(at(30*sec)))
	assert.Equal(t, p.sent, p2.sent)
	s3, c3, p3 := newChecker(t, 2, cfg, seed+1, func(_, _ int) answer { return answer{r: health.Success} })
	c3.Start()
	require.NoError(t, s3.RunUntil(at(30*sec)))
	assert.NotEqual(t, p.sent, p3.sent)
}

func TestNoTrafficInterval(t *testing.T) {
	cfg := health.Config{Interval: 2 * sec, AwaitTraffic: true, NoTrafficInterval: 30 * sec, NoTrafficHealthyInterval: 45 * sec}
	s, c, p := newChecker(t, 1, cfg, 1, func(_, n int) answer {
		if n == 1 {
			return answer{r: health.ConnectFailure}
		}
		return answer{r: health.Success}
	})
	c.Start()
	require.NoError(t, s.RunUntil(at(60*sec)))
	// 0: success (healthy, nothing pending) -> 45 s; 45 s: failure
	// pending -> 30 s; 75 s.
	c.Traffic()
	require.NoError(t, s.RunUntil(at(77*sec)))
	assert.Equal(t, []sim.Time{0, at(45 * sec), at(75 * sec), at(77 * sec)}, p.sent[0], "after traffic, the normal interval")
}

func TestLateAnswerIgnored(t *testing.T) {
	s, c, p := newChecker(t, 1, health.Config{Timeout: sec, UnhealthyThreshold: 1}, 1, func(_, n int) answer {
		if n == 0 {
			return answer{r: health.Success}
		}
		return answer{r: health.Success, latency: 2 * sec}
	})
	c.Start()
	require.NoError(t, s.RunUntil(at(3*sec+sec)))
	assert.Equal(t, health.StateUnhealthy, c.State(0), "the probe at 3 s timed out at 4 s")
	require.NoError(t, s.RunUntil(at(5*sec)))
	assert.Equal(t, health.StateUnhealthy, c.State(0), "its answer at 5 s is late")
	assert.Equal(t, int64(1), c.Stats().LateAnswers)
	assert.Equal(t, int64(1), c.Stats().Timeouts)
	c.Answer(0, 0, health.Success)
	c.Answer(0, 12345, health.Success)
	assert.Equal(t, int64(3), c.Stats().LateAnswers)
	_ = p
}

func TestAddRemoveHost(t *testing.T) {
	s, c, p := newChecker(t, 1, health.Config{}, 1, func(_, _ int) answer { return answer{r: health.Success, latency: ms} })
	c.Start()
	require.NoError(t, s.RunUntil(at(sec)))
	i := c.AddHost()
	assert.Equal(t, 1, i)
	assert.Equal(t, health.StateUnknown, c.State(1))
	require.NoError(t, s.RunUntil(at(sec+ms)))
	assert.True(t, c.Healthy(1))
	assert.Equal(t, at(sec), p.sent[1][0])
	c.RemoveHost(0)
	c.RemoveHost(0)
	assert.Equal(t, health.StateRemoved, c.State(0))
	n := len(p.sent[0])
	require.NoError(t, s.RunUntil(at(time.Minute)))
	assert.Len(t, p.sent[0], n, "a removed host is never probed again")
	assert.Equal(t, 1, c.Stats().Healthy)
	last := p.seen[len(p.seen)-1]
	assert.Equal(t, health.StateRemoved, last.To)
}

func TestTransitionLogBounded(t *testing.T) {
	s, c, p := newChecker(t, 1, health.Config{UnhealthyThreshold: 1}, 1, func(_, n int) answer {
		return answer{r: []health.Result{health.Success, health.Failure}[n%2]}
	})
	health.SetTransitionLimit(c, 5)
	c.Start()
	require.NoError(t, s.RunUntil(at(time.Minute)))
	assert.Len(t, c.Transitions(), 5)
	assert.Equal(t, int64(len(p.seen)-5), c.Stats().TransitionsDropped)
	assert.Greater(t, len(p.seen), 5)
}

// TestNoAllocationPerProbe: in steady state, probing, answering and timing
// out allocate nothing.
func TestNoAllocationPerProbe(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	e := &echo{s: s}
	c, err := health.New(s, sim.NewRand(1, 0), 50, health.Config{IntervalJitterPercent: 10}, e, nil)
	require.NoError(t, err)
	e.c = c
	health.SetTransitionLimit(c, 0)
	c.Start()
	for i := 0; i < 10000; i++ {
		s.Step()
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < 100; i++ {
			s.Step()
		}
	})
	assert.Zero(t, allocs)
	assert.Greater(t, c.Stats().Timeouts, int64(0))
}

// echo answers even probes at once (through the scheduler), loses odd ones.
type echo struct {
	s *sim.Scheduler
	c *health.Checker
}

func (e *echo) Probe(host int, id health.ProbeID) {
	if id%2 == 0 {
		e.s.After(ms, e, sim.Event{Kind: int32(host), Arg: int64(id)})
	}
}

func (e *echo) Handle(ev sim.Event) {
	e.c.Answer(int(ev.Kind), health.ProbeID(ev.Arg), health.Success)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  health.Config
		want string
	}{
		{health.Config{Timeout: -1}, "timeout must be in [0, 8760h0m0s], got -1ns"},
		{health.Config{Interval: 1500 * time.Microsecond}, "interval must be a whole number of milliseconds, got 1.5ms"},
		{health.Config{UnhealthyThreshold: -2}, "unhealthy_threshold must be in [1, 1048576] (0 for the default), got -2"},
		{health.Config{HealthyThreshold: health.MaxThreshold + 1}, "healthy_threshold must be in [1, 1048576] (0 for the default), got 1048577"},
		{health.Config{IntervalJitterPercent: 101}, "interval_jitter_percent must be in [0, 100], got 101"},
		{health.Config{NoTrafficHealthyInterval: health.MaxSpan + ms}, "no_traffic_healthy_interval must be in [0, 8760h0m0s], got 8760h0m0.001s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.ErrorIs(t, err, health.ErrConfig)
			assert.Equal(t, "health: invalid configuration: "+tc.want, err.Error())
			_, err = health.New(sim.NewScheduler(sim.Config{}), sim.NewRand(1, 0), 1, tc.cfg, &script{}, nil)
			assert.ErrorIs(t, err, health.ErrConfig)
		})
	}
	_, err := health.New(sim.NewScheduler(sim.Config{}), sim.NewRand(1, 0), 1, health.Config{}, nil, nil)
	assert.ErrorIs(t, err, health.ErrConfig)
	_, err = health.New(sim.NewScheduler(sim.Config{}), sim.NewRand(1, 0), -1, health.Config{}, &script{}, nil)
	assert.ErrorIs(t, err, health.ErrConfig)
}

func TestDefaults(t *testing.T) {
	f := health.Config{}.WithDefaults()
	assert.Equal(t, health.Defaults().WithDefaults(), f)
	assert.Equal(t, sec, f.Timeout)
	assert.Equal(t, 3*sec, f.Interval)
	assert.Equal(t, 3, f.UnhealthyThreshold)
	assert.Equal(t, 1, f.HealthyThreshold)
	assert.Equal(t, 3*sec, f.UnhealthyInterval)
	assert.Equal(t, 3*sec, f.UnhealthyEdgeInterval)
	assert.Equal(t, 3*sec, f.HealthyEdgeInterval)
	assert.Equal(t, 60*sec, f.NoTrafficInterval)
	assert.Equal(t, 60*sec, f.NoTrafficHealthyInterval)
	assert.False(t, f.AwaitTraffic)
	g := health.Config{Interval: 10 * sec, UnhealthyInterval: 20 * sec}.WithDefaults()
	assert.Equal(t, 20*sec, g.UnhealthyEdgeInterval, "unhealthy_edge_interval follows unhealthy_interval")
	assert.Equal(t, 10*sec, g.HealthyEdgeInterval)
	assert.NoError(t, health.Config{}.Validate())
}

func TestNames(t *testing.T) {
	assert.Equal(t, "unhealthy", health.StateUnhealthy.String())
	assert.Equal(t, "State(9)", health.State(9).String())
	assert.Equal(t, "retriable_failure", health.RetriableFailure.String())
	assert.Equal(t, "Result(9)", health.Result(9).String())
	assert.Equal(t, "2s host 1 healthy->unhealthy (timeout)",
		health.Transition{At: at(2 * sec), Host: 1, From: health.StateHealthy, To: health.StateUnhealthy, Cause: health.Timeout}.String())
	assert.Panics(t, func() {
		_, c, _ := newChecker(t, 1, health.Config{}, 1, nil)
		c.Answer(0, 1, health.Timeout)
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
