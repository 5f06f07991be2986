package discovery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/discovery"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

const sec = time.Second

func at(d time.Duration) sim.Time { return sim.Time(0).Add(d) }

// recorder keeps every delivery.
type recorder struct {
	s   *sim.Scheduler
	got []delivery
}

type delivery struct {
	at   sim.Time
	snap *discovery.Snapshot
}

func (r *recorder) EndpointsChanged(snap *discovery.Snapshot) {
	r.got = append(r.got, delivery{r.s.Now(), snap})
}

func mustDist(d dist.Dist, err error) dist.Dist {
	if err != nil {
		panic(err)
	}
	return d
}

// TestRemovedEndpointBoundedByDelay: an endpoint deregistered at t stays in
// a subscriber's view exactly until t + the delay drawn for that change
// (replayed from a copy of the stream), and with a delay bounded by 3 s
// never later than t + 3 s, even under a burst of changes.
func TestRemovedEndpointBoundedByDelay(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	reg, err := discovery.NewRegistry(s, 1)
	require.NoError(t, err)
	for ep := 0; ep < 10; ep++ {
		reg.Register(0, ep)
	}
	delay := mustDist(dist.Uniform(sec, 3*sec))
	rec := &recorder{s: s}
	sub, err := reg.Subscribe(discovery.Config{Name: "frontend[0]", Delay: delay, Services: []int{0}}, sim.NewRand(7, 0), rec)
	require.NoError(t, err)
	require.True(t, sub.View(0).Contains(3), "a new subscriber starts with the current set")

	require.NoError(t, s.RunUntil(at(10*sec)))
	require.True(t, reg.Deregister(0, 3))
	assert.False(t, reg.Deregister(0, 3))
	assert.False(t, reg.Endpoints(0).Contains(3))
	want := at(10 * sec).Add(delay.Sample(sim.NewRand(7, 0)))
	require.NoError(t, s.RunUntil(want-1))
	assert.True(t, sub.View(0).Contains(3), "still seen 1 ns before its delay")
	require.NoError(t, s.RunUntil(want))
	assert.False(t, sub.View(0).Contains(3))
	assert.Equal(t, want, rec.got[0].at)

	// A burst: every 100 ms for 60 s, one endpoint goes (0..9, each once)
	// and a new one comes. No delivery may still show an endpoint more
	// than 3 s after its deregistration.
	gone := map[int]sim.Time{}
	changes := 1
	for i := 0; i < 600; i++ {
		require.NoError(t, s.RunUntil(at(20*sec+time.Duration(i)*100*time.Millisecond)))
		if ep := i % 10; reg.Deregister(0, ep) {
			gone[ep] = s.Now()
			changes++
		}
		if reg.Register(0, 100+i) {
			changes++
		}
		for _, d := range rec.got {
			for ep, when := range gone {
				if d.snap.Contains(ep) {
					require.LessOrEqual(t, d.at, when.Add(3*sec), "endpoint %d deregistered at %v", ep, when)
				}
			}
		}
		rec.got = rec.got[:0]
	}
	require.NoError(t, s.RunUntil(at(time.Hour)))
	assert.Equal(t, reg.Endpoints(0), sub.View(0), "all changes delivered: the view is the registry's")
	st := sub.Stats()
	assert.LessOrEqual(t, st.MaxLag, 3*sec)
	assert.LessOrEqual(t, st.MaxDelay, 3*sec)
	assert.Equal(t, int64(changes), st.Delivered)
	assert.Equal(t, 610, changes)
}

// TestOrderPreserved: with widely varying delays and changes faster than
// them, every subscriber receives every version of every service in the
// order in which the changes were made, and ends with the registry's view.
func TestOrderPreserved(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	reg, err := discovery.NewRegistry(s, 3)
	require.NoError(t, err)
	exp := mustDist(dist.Exponential(2 * sec))
	var recs []*recorder
	for i := 0; i < 4; i++ {
		rec := &recorder{s: s}
		svcs := []int{0, 1, 2}[:1+i%3]
		_, err := reg.Subscribe(discovery.Config{Name: fmt.Sprintf("sub%d", i), Delay: exp, Services: svcs}, sim.NewRand(uint64(i), 1), rec)
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	var made []*discovery.Snapshot
	r := sim.NewRand(99, 0)
	for i := 0; i < 500; i++ {
		require.NoError(t, s.RunUntil(at(time.Duration(i)*50*time.Millisecond)))
		svc, ep := r.IntN(3), r.IntN(8)
		var changed bool
		if r.Bernoulli(0.5) {
			changed = reg.Register(svc, ep)
		} else {
			changed = reg.Deregister(svc, ep)
		}
		if changed {
			made = append(made, reg.Endpoints(svc))
		}
	}
	require.NoError(t, s.RunUntil(at(time.Hour)))
	for i, rec := range recs {
		watched := 1 + i%3
		var want []*discovery.Snapshot
		for _, m := range made {
			if m.Service < watched {
				want = append(want, m)
			}
		}
		var got []*discovery.Snapshot
		var lastAt sim.Time
		for _, d := range rec.got {
			got = append(got, d.snap)
			require.GreaterOrEqual(t, d.at, lastAt)
			require.GreaterOrEqual(t, d.at, d.snap.At)
			lastAt = d.at
		}
		assert.Equal(t, want, got, "subscriber %d: every change, in order", i)
	}
}

// TestDeterminism: the same seeds give the same deliveries, and a
// subscriber's deliveries do not depend on other subscribers (each draws
// from its own stream, only for the services it watches).
func TestDeterminism(t *testing.T) {
	run := func(extra bool) []sim.Time {
		s := sim.NewScheduler(sim.Config{})
		reg, err := discovery.NewRegistry(s, 2)
		require.NoError(t, err)
		ln := mustDist(dist.Uniform(100*time.Millisecond, 5*sec))
		rec := &recorder{s: s}
		_, err = reg.Subscribe(discovery.Config{Name: "a", Delay: ln, Services: []int{0}}, sim.NewRand(1, 2), rec)
		require.NoError(t, err)
		if extra {
			_, err = reg.Subscribe(discovery.Config{Name: "b", Delay: ln, Services: []int{0, 1}}, sim.NewRand(3, 4), &recorder{s: s})
			require.NoError(t, err)
		}
		for i := 0; i < 50; i++ {
			require.NoError(t, s.RunUntil(at(time.Duration(i)*sec)))
			reg.Register(i%2, i)
		}
		require.NoError(t, s.RunUntil(at(time.Hour)))
		var out []sim.Time
		for _, d := range rec.got {
			out = append(out, d.at)
		}
		return out
	}
	a := run(false)
	assert.Len(t, a, 25)
	assert.Equal(t, a, run(false))
	assert.Equal(t, a, run(true), "another subscriber does not shift this one's draws")
}

// TestDefaultDelay: without a distribution, changes arrive 100 ms later.
func TestDefaultDelay(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	reg, err := discovery.NewRegistry(s, 1)
	require.NoError(t, err)
	rec := &recorder{s: s}
	_, err = reg.Subscribe(discovery.Config{Name: "x", Services: []int{0}}, sim.NewRand(1, 0), rec)
	require.NoError(t, err)
	reg.Register(0, 5)
	reg.Register(0, 5)
	require.NoError(t, s.RunUntil(at(sec)))
	require.Len(t, rec.got, 1)
	assert.Equal(t, at(100*time.Millisecond), rec.got[0].at)
	assert.Equal(t, &discovery.Snapshot{Service: 0, Version: 1, At: 0, Endpoints: []int{5}}, rec.got[0].snap)
}

// TestNoAllocationPerDelivery: delivering allocates nothing.
func TestNoAllocationPerDelivery(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	reg, err := discovery.NewRegistry(s, 1)
	require.NoError(t, err)
	rec := &nop{}
	sub, err := reg.Subscribe(discovery.Config{Name: "x", Services: []int{0}}, sim.NewRand(1, 0), rec)
	require.NoError(t, err)
	for i := 0; i < 200; i++ {
		reg.Register(0, i)
	}
	allocs := testing.AllocsPerRun(100, func() { s.Step() })
	assert.Zero(t, allocs)
	assert.Equal(t, 99, sub.Pending())
}

type nop struct{}

func (nop) EndpointsChanged(*discovery.Snapshot) {}

func TestValidate(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	reg, err := discovery.NewRegistry(s, 2)
	require.NoError(t, err)
	tests := []struct {
		cfg  discovery.Config
		want string
	}{
		{discovery.Config{Services: []int{0}}, "name must not be empty"},
		{discovery.Config{Name: "a"}, `subscriber "a": services must hold 1 to 65536 services, got 0`},
		{discovery.Config{Name: "a", Services: []int{-1}}, `subscriber "a": services[0] must be >= 0, got -1`},
		{discovery.Config{Name: "a", Services: []int{1, 0, 1}}, `subscriber "a": services[2] = 1 is listed twice`},
		{discovery.Config{Name: "a", Services: []int{0, 2}}, `subscriber "a": services[1] = 2 is not a service (0..1)`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := reg.Subscribe(tc.cfg, sim.NewRand(1, 0), nop{})
			require.ErrorIs(t, err, discovery.ErrConfig)
			assert.Equal(t, "discovery: invalid configuration: "+tc.want, err.Error())
		})
	}
	_, err = reg.Subscribe(discovery.Config{Name: "a", Services: []int{0}}, nil, nop{})
	assert.ErrorIs(t, err, discovery.ErrConfig)
	_, err = discovery.NewRegistry(s, -1)
	assert.ErrorIs(t, err, discovery.ErrConfig)
	_, err = discovery.NewRegistry(nil, 1)
	assert.ErrorIs(t, err, discovery.ErrConfig)
	assert.Equal(t, 100*time.Millisecond, discovery.Config{}.WithDefaults().Delay.Mean())
}
