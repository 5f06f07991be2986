package lb_test

import (
	"fmt"
	"hash/fnv"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/lbtest"
	"github.com/meshsim/meshsim/models/lb/leastrequest"
	"github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/sim"
)

var slowStartPolicies = []string{roundrobin.Name, leastrequest.Name}

func buildAt(t testing.TB, policy string, hs []lb.Host, cfg lb.Config, now sim.Time) lb.Picker {
	t.Helper()
	b, ok := lb.Get(policy)
	require.True(t, ok)
	p, err := b.Build(lb.BuildOptions{Hosts: hs, Rand: sim.NewRand(42, 7), Config: cfg, Now: now})
	require.NoError(t, err)
	return p
}

// warmHosts returns n idle hosts of weight 1; those in warming entered slow
// start at time 0.
func warmHosts(n int, warming ...int) []lb.Host {
	hs := make([]lb.Host, n)
	for i := range hs {
		hs[i] = &lbtest.WarmHost{Host: lbtest.Host{W: 1}}
	}
	for _, i := range warming {
		hs[i].(*lbtest.WarmHost).Warming = true
	}
	return hs
}

func TestSlowStartSharesFollowTheRamp(t *testing.T) {
	// Three old hosts and one that joins at t=0, all of weight 1 and idle
	// (so least_request's load term is 1 throughout), window 60s, one pick
	// per millisecond for 70s. The new host's expected picks in a 10s
	// bucket are the sum over the bucket's picks of f(t)/(3+f(t)), where
	// f is the ramp. EDF is deterministic, so the realised count differs
	// from that sum only through the schedule's discreteness: each host's
	// next deadline is at most one interval 1/w away, and the new host's
	// weight is refreshed only when it is picked (at least every ~31 picks
	// here), during which f grows by under 1e-3. Both errors are bounded
	// by a pick or two per bucket (observed: at most 1); the tolerance of
	// 2 picks is 0.02% of a 10k bucket and 0.1-0.6% of the new host's
	// count, so a ramp that is off by one percent anywhere fails.
	const window = 60 * time.Second
	const tol = 2
	for _, policy := range slowStartPolicies {
		for _, aggression := range []float64{1, 2} {
			t.Run(fmt.Sprintf("%s/aggression=%v", policy, aggression), func(t *testing.T) {
				cfg := lb.Config{SlowStartWindow: window, SlowStartAggression: aggression}
				hs := warmHosts(4, 3)
				p := buildAt(t, policy, hs, cfg, 0)
				ramp := func(at sim.Time) float64 { // the formula, written out again
					ms := float64(max(int64(at)/1e6, 1))
					if ms >= 60000 {
						return 1
					}
					return max(0.1, math.Pow(ms/60000, 1/aggression))
				}
				got := make([]int, 7)
				want := make([]float64, 7)
				for i := 0; i < 70000; i++ {
					now := sim.Time(i) * sim.Time(time.Millisecond)
					h, err := p.Pick(lb.PickInfo{Now: now})
					require.NoError(t, err)
					f := ramp(now)
					want[i/10000] += f / (3 + f)
					if h == 3 {
						got[i/10000]++
					}
				}
				for b := range got {
					assert.InDelta(t, want[b], got[b], tol, "bucket %ds-%ds", 10*b, 10*b+10)
				}
				assert.Equal(t, 2500, got[6], "after the window the new host gets its full quarter")
			})
		}
	}
}

func TestSlowStartAllHostsNewIsIneffective(t *testing.T) {
	// slow_start.rst: when all endpoints are new, they all ramp together
	// and get the same share.
	for _, policy := range slowStartPolicies {
		hs := warmHosts(4, 0, 1, 2, 3)
		p := buildAt(t, policy, hs, lb.Config{SlowStartWindow: time.Minute}, 0)
		c := make([]int, 4)
		for i := 0; i < 40000; i++ {
			h, err := p.Pick(lb.PickInfo{Now: sim.Time(i) * sim.Time(time.Millisecond)})
			require.NoError(t, err)
			c[h]++
		}
		for i := range c {
			assert.InDelta(t, 10000, c[i], 2, "%s host %d", policy, i)
		}
	}
}

func TestSlowStartOffOrOverKeepsPicks(t *testing.T) {
	// The regression goldens again, with the hosts reporting slow start
	// and a window set, but the build happening after every window has
	// ended: no host is in slow start, so nothing changes. (Without a
	// window, TestPicksWithoutSlowStartAreUnchanged covers it.)
	for _, tc := range regressCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.SlowStartWindow = time.Second
			hs := regressHosts(tc.weights, true)
			p := buildAt(t, tc.policy, hs, cfg, sim.Time(time.Hour))
			seq := lbtest.Drive(t, p, hs, 5000, func(i int) sim.Time { return sim.Time(time.Hour) + sim.Time(i) })
			h := fnv.New64a()
			for _, x := range seq {
				h.Write([]byte{byte(x)})
			}
			assert.Equal(t, tc.first, fmt.Sprint(seq[:24]))
			assert.Equal(t, tc.hash, h.Sum64())
		})
	}
}

func TestSlowStartForcesWeightedPath(t *testing.T) {
	// Equal weights would take the unweighted path (cyclic round robin,
	// P2C); one host in slow start at Build forces EDF, so that host,
	// at 10% of its weight, gets about 0.1/3.1 of the first picks.
	for _, policy := range slowStartPolicies {
		p := buildAt(t, policy, warmHosts(4, 2), lb.Config{SlowStartWindow: time.Hour}, 0)
		c := make([]int, 4)
		for i := 0; i < 3100; i++ {
			h, err := p.Pick(lb.PickInfo{Now: sim.Time(i)})
			require.NoError(t, err)
			c[h]++
		}
		assert.InDelta(t, 100, c[2], 2, "%s: %v", policy, c)
	}
}

func TestSlowStartPickAllocatesNothing(t *testing.T) {
	for _, policy := range slowStartPolicies {
		for _, n := range []int{2, 8} {
			hs := warmHosts(n, 0, n-1)
			p := buildAt(t, policy, hs, lb.Config{SlowStartWindow: time.Minute, SlowStartAggression: 1.5}, 0)
			now := sim.Time(0)
			allocs := testing.AllocsPerRun(1000, func() {
				now += sim.Time(time.Millisecond)
				_, _ = p.Pick(lb.PickInfo{Now: now})
			})
			assert.Zero(t, allocs, "%s n=%d", policy, n)
		}
	}
}

func TestSlowStartConfigIsValidated(t *testing.T) {
	for _, policy := range slowStartPolicies {
		assert.NoError(t, lb.Validate(policy, lb.Config{SlowStartWindow: time.Minute, SlowStartAggression: 2, SlowStartMinWeightPercent: 5}))
		assert.NoError(t, lb.Validate(policy, lb.Config{SlowStartWindow: time.Minute, SlowStartMinWeightPercentSet: true}))
		for _, bad := range []lb.Config{
			{SlowStartWindow: -1},
			{SlowStartWindow: 999 * time.Microsecond},
			{SlowStartAggression: -0.5},
			{SlowStartMinWeightPercent: 100.5},
		} {
			assert.ErrorIs(t, lb.Validate(policy, bad), lb.ErrConfig, "%s %+v", policy, bad)
		}
	}
}
