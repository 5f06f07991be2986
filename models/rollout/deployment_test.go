package rollout_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/rollout"
	"github.com/meshsim/meshsim/sim"
)

const sec = time.Second

func at(d time.Duration) sim.Time { return sim.Time(0).Add(d) }

// cluster runs pods: a pod of version v becomes ready ready[v] after it
// starts (never if ready[v] < 0). It checks the rollout's bounds on every
// call and records what happened.
type cluster struct {
	t          testing.TB
	s          *sim.Scheduler
	d          *rollout.Deployment
	ready      map[int]time.Duration
	check      bool // check the availability bound (from the rollout on)
	maxTotal   int
	minAvail   int
	started    map[int]int // pods started per version
	terminated []rollout.PodID
	version    map[rollout.PodID]int
	peak       int
	trough     int
}

func (c *cluster) StartPod(id rollout.PodID, v int) {
	c.started[v]++
	c.version[id] = v
	c.bounds("StartPod")
	if d, ok := c.ready[v]; ok && d >= 0 {
		c.s.After(d, c, sim.Event{Arg: int64(id)})
	}
}

func (c *cluster) TerminatePod(id rollout.PodID) {
	c.terminated = append(c.terminated, id)
	c.bounds("TerminatePod")
}

func (c *cluster) Handle(ev sim.Event) { c.d.PodReady(rollout.PodID(ev.Arg)) }

func (c *cluster) bounds(where string) {
	if c.d == nil {
		return
	}
	st := c.d.Status()
	c.peak = max(c.peak, st.Replicas)
	require.LessOrEqual(c.t, st.Replicas, c.maxTotal, "%s at %v: %+v", where, c.s.Now(), st)
	if c.check {
		c.trough = min(c.trough, st.Available)
		require.GreaterOrEqual(c.t, st.Available, c.minAvail, "%s at %v: %+v", where, c.s.Now(), st)
	}
}

func newCluster(t testing.TB, cfg rollout.Config, ready map[int]time.Duration) (*sim.Scheduler, *rollout.Deployment, *cluster) {
	t.Helper()
	s := sim.NewScheduler(sim.Config{})
	c := &cluster{t: t, s: s, ready: ready, started: map[int]int{}, version: map[rollout.PodID]int{}, trough: 1 << 30}
	d, err := rollout.New(s, cfg, c, nil)
	require.NoError(t, err)
	c.d = d
	return s, d, c
}

// TestRollingBounds rolls version 0 to version 1 under several strategies
// and checks, at every pod start, termination and event, that the pods
// never exceed replicas + max_surge and the available ones never drop
// below replicas - max_unavailable; the rollout completes with every pod
// new.
func TestRollingBounds(t *testing.T) {
	tests := []struct {
		name               string
		cfg                rollout.Config
		surge, unavailable int // resolved
		readyOld, readyNew time.Duration
		wantDone           time.Duration // completion, after the rollout starts; 0: don't check
	}{
		{"defaults, 10 replicas", rollout.Config{Replicas: 10}, 3, 2, sec, 3 * sec, 6 * sec},
		{"one at a time, surge only", rollout.Config{Replicas: 4, MaxSurge: rollout.Count(1), MaxUnavailable: rollout.Count(0)}, 1, 0, sec, 3 * sec, 12 * sec},
		{"one at a time, unavailable only", rollout.Config{Replicas: 4, MaxSurge: rollout.Count(0), MaxUnavailable: rollout.Count(1)}, 0, 1, sec, 3 * sec, 12 * sec},
		{"blue-green", rollout.Config{Replicas: 5, MaxSurge: rollout.Pct(100), MaxUnavailable: rollout.Count(0)}, 5, 0, sec, 3 * sec, 3 * sec},
		{"percent rounding", rollout.Config{Replicas: 7, MaxSurge: rollout.Pct(30), MaxUnavailable: rollout.Pct(30)}, 3, 2, sec, 2 * sec, 0},
		{"fencepost: both round to 0", rollout.Config{Replicas: 5, MaxSurge: rollout.Count(0), MaxUnavailable: rollout.Pct(10)}, 0, 1, sec, 2 * sec, 10 * sec},
		{"one replica", rollout.Config{Replicas: 1}, 1, 0, sec, 2 * sec, 2 * sec},
		{"all at once", rollout.Config{Replicas: 6, MaxSurge: rollout.Count(0), MaxUnavailable: rollout.Pct(100)}, 0, 6, sec, 2 * sec, 2 * sec},
		{"min ready 5 s", rollout.Config{Replicas: 4, MaxSurge: rollout.Count(1), MaxUnavailable: rollout.Count(0), MinReady: 5 * sec}, 1, 0, sec, 3 * sec, 32 * sec},
		{"large surge and unavailable", rollout.Config{Replicas: 20, MaxSurge: rollout.Count(7), MaxUnavailable: rollout.Count(5)}, 7, 5, sec, 4 * sec, 8 * sec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, d, c := newCluster(t, tc.cfg, map[int]time.Duration{0: tc.readyOld, 1: tc.readyNew})
			c.maxTotal = tc.cfg.Replicas + tc.surge
			c.minAvail = tc.cfg.Replicas - tc.unavailable
			d.Start(0)
			require.NoError(t, s.RunUntil(at(time.Minute)))
			st := d.Status()
			require.True(t, st.Complete, "%+v", st)
			require.Equal(t, tc.cfg.Replicas, st.Available)

			c.check = true
			t0 := s.Now()
			d.Rollout(1)
			for s.Step() {
				c.bounds("step")
			}
			st = d.Status()
			assert.True(t, st.Complete, "%+v", st)
			assert.False(t, st.DeadlineExceeded)
			assert.Equal(t, rollout.Status{Replicas: tc.cfg.Replicas, Updated: tc.cfg.Replicas, Ready: tc.cfg.Replicas, Available: tc.cfg.Replicas, Complete: true}, st)
			assert.Equal(t, [][2]int{{0, 0}, {1, tc.cfg.Replicas}}, d.Versions(nil))
			assert.Equal(t, tc.cfg.Replicas, c.started[1], "one new pod per replica: nothing failed")
			assert.Len(t, c.terminated, tc.cfg.Replicas, "every old pod terminated")
			if tc.surge > 0 {
				assert.Equal(t, c.maxTotal, c.peak, "the surge is used")
			}
			assert.Equal(t, c.minAvail, c.trough, "the unavailability budget is used")
			var done sim.Time
			for _, e := range d.Events() {
				if e.Kind == rollout.EvComplete && e.Version == 1 {
					done = e.At
				}
			}
			if tc.wantDone > 0 {
				assert.Equal(t, t0.Add(tc.wantDone), done)
			}
		})
	}
}

// TestDefaultsWaves checks the exact waves of the default strategy on 10
// replicas (surge 3, unavailable 2), readiness 3 s.
func TestDefaultsWaves(t *testing.T) {
	s, d, c := newCluster(t, rollout.Config{Replicas: 10}, map[int]time.Duration{0: sec, 1: 3 * sec})
	c.maxTotal = 13
	d.Start(0)
	require.NoError(t, s.RunUntil(at(10*sec)))
	d.Rollout(1)
	require.NoError(t, s.RunUntil(at(20*sec)))
	var got []string
	for _, e := range d.Events() {
		got = append(got, e.String())
	}
	assert.Equal(t, []string{
		"0s Started v0",
		"0s Scaled v0 0->10",
		"1s Complete v0",
		"10s RolloutStarted v1",
		"10s Scaled v1 0->3",  // surge: 13 pods
		"10s Scaled v0 10->8", // 2 unavailable allowed
		"10s Scaled v1 3->5",  // room again: 13 pods
		"13s Scaled v0 8->3",  // 5 new available: 13-8 = 5 old may go
		"13s Scaled v1 5->10",
		"16s Scaled v0 3->0",
		"16s Complete v1",
	}, got)
}

// TestBadVersionStalls: a version that never becomes ready stalls the
// rollout with replicas - max_unavailable old pods available, and after
// progress_deadline of no progress it is reported, once, as Kubernetes
// sets ProgressDeadlineExceeded; nothing is rolled back.
func TestBadVersionStalls(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      rollout.Config
		old, new int // pods at the stall
	}{
		{"defaults, 4 replicas", rollout.Config{Replicas: 4}, 3, 2},
		{"defaults, 10 replicas", rollout.Config{Replicas: 10}, 8, 5},
		{"surge only", rollout.Config{Replicas: 4, MaxSurge: rollout.Count(1), MaxUnavailable: rollout.Count(0)}, 4, 1},
		{"deadline 60 s", rollout.Config{Replicas: 4, ProgressDeadline: 60 * sec}, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, d, c := newCluster(t, tc.cfg, map[int]time.Duration{0: sec, 1: -1})
			c.maxTotal = 1 << 30
			d.Start(0)
			require.NoError(t, s.RunUntil(at(30*sec)))
			d.Rollout(1)
			deadline := d.Config().ProgressDeadline
			require.NoError(t, s.RunUntil(at(30*sec+deadline-1)))
			assert.False(t, d.Status().DeadlineExceeded)
			require.NoError(t, s.RunUntil(at(30*sec+deadline)))
			st := d.Status()
			assert.True(t, st.DeadlineExceeded)
			assert.False(t, st.Complete)
			assert.Equal(t, [][2]int{{0, tc.old}, {1, tc.new}}, d.Versions(nil))
			assert.Equal(t, tc.old, st.Available)
			require.NoError(t, s.RunUntil(at(time.Hour)))
			n := 0
			for _, e := range d.Events() {
				if e.Kind == rollout.EvProgressDeadline {
					n++
					assert.Equal(t, at(30*sec+deadline), e.At)
				}
			}
			assert.Equal(t, 1, n)
			assert.Equal(t, [][2]int{{0, tc.old}, {1, tc.new}}, d.Versions(nil), "no rollback, no further change")
		})
	}
}

// TestProgressResetsDeadline: a slow but progressing rollout (each new
// pod ready after 400 s, one at a time) is never reported, although it
// takes longer than the deadline.
func TestProgressResetsDeadline(t *testing.T) {
	s, d, c := newCluster(t, rollout.Config{Replicas: 3, MaxSurge: rollout.Count(1), MaxUnavailable: rollout.Count(0)},
		map[int]time.Duration{0: sec, 1: 400 * sec})
	c.maxTotal = 4
	d.Start(0)
	require.NoError(t, s.RunUntil(at(10*sec)))
	d.Rollout(1)
	require.NoError(t, s.RunUntil(at(2*time.Hour)))
	st := d.Status()
	assert.True(t, st.Complete)
	assert.False(t, st.DeadlineExceeded)
}

// TestFailedPodReplaced: a crashed pod is replaced by its RS.
func TestFailedPodReplaced(t *testing.T) {
	s, d, c := newCluster(t, rollout.Config{Replicas: 3}, map[int]time.Duration{0: sec})
	c.maxTotal = 4
	d.Start(0)
	require.NoError(t, s.RunUntil(at(5*sec)))
	d.PodFailed(1)
	d.PodFailed(1) // twice: ignored
	d.PodReady(99) // unknown: ignored
	require.NoError(t, s.RunUntil(at(5*sec)))
	assert.Equal(t, 4, c.started[0], "the replacement starts in the same instant")
	assert.Equal(t, rollout.Status{Replicas: 3, Ready: 2, Available: 2, Updated: 3, Complete: true}, d.Status())
	require.NoError(t, s.RunUntil(at(6*sec)))
	assert.Equal(t, 3, d.Status().Available)
	assert.Empty(t, c.terminated, "a failed pod is not terminated by the planner")
	_ = c
}

// TestScaleDownPrefersUnready: scaling down deletes not-ready pods first,
// then the most recently ready.
func TestScaleDownPrefersUnready(t *testing.T) {
	s, d, c := newCluster(t, rollout.Config{Replicas: 4}, map[int]time.Duration{})
	c.maxTotal = 5
	d.Start(0)
	require.NoError(t, s.RunUntil(at(sec)))
	d.PodReady(0)
	require.NoError(t, s.RunUntil(at(2*sec)))
	d.PodReady(2)
	require.NoError(t, s.RunUntil(at(3*sec)))
	d.PodReady(1)
	require.NoError(t, s.RunUntil(at(4*sec)))
	// Pod 3 never ready; ready since: 0 @1s, 2 @2s, 1 @3s.
	d.SetReplicas(2)
	require.NoError(t, s.RunUntil(at(4*sec)))
	assert.Equal(t, []rollout.PodID{3, 1}, c.terminated)
	c.maxTotal = 8 // 6 + ceil(25% of 6)
	d.SetReplicas(6)
	require.NoError(t, s.RunUntil(at(4*sec)))
	assert.Equal(t, 6, d.Status().Replicas)
}

// TestRollback: rolling back to an old version reuses its ReplicaSet.
func TestRollback(t *testing.T) {
	s, d, c := newCluster(t, rollout.Config{Replicas: 4}, map[int]time.Duration{0: sec, 1: -1})
	c.maxTotal = 5
	d.Start(0)
	require.NoError(t, s.RunUntil(at(10*sec)))
	d.Rollout(1)
	require.NoError(t, s.RunUntil(at(20*sec)))
	require.Equal(t, [][2]int{{0, 3}, {1, 2}}, d.Versions(nil))
	d.Rollout(1) // same version: nothing
	d.Rollout(0)
	require.NoError(t, s.RunUntil(at(40*sec)))
	st := d.Status()
	assert.True(t, st.Complete)
	assert.Equal(t, [][2]int{{1, 0}, {0, 4}}, d.Versions(nil))
	assert.Equal(t, 5, c.started[0], "one more v0 pod: the RS was scaled back up, not recreated")
}

func TestIntOrPercent(t *testing.T) {
	tests := []struct {
		x     rollout.IntOrPercent
		total int
		up    bool
		want  int
		str   string
	}{
		{rollout.Pct(25), 10, true, 3, "25%"},
		{rollout.Pct(25), 10, false, 2, "25%"},
		{rollout.Pct(25), 4, true, 1, "25%"},
		{rollout.Pct(25), 3, false, 0, "25%"},
		{rollout.Pct(25), 3, true, 1, "25%"},
		{rollout.Pct(100), 7, false, 7, "100%"},
		{rollout.Count(2), 100, true, 2, "2"},
		{rollout.Pct(33), 100, false, 33, "33%"},
		{rollout.Pct(1), 1, true, 1, "1%"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.x.Scaled(tc.total, tc.up), "%v of %d up=%v", tc.x, tc.total, tc.up)
		assert.Equal(t, tc.str, tc.x.String())
	}
	assert.Equal(t, "default", rollout.IntOrPercent{}.String())
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  rollout.Config
		want string
	}{
		{rollout.Config{Replicas: -1}, "replicas must be in [0, 65536], got -1"},
		{rollout.Config{MaxSurge: rollout.Count(-1)}, "max_surge must be in [0, 65536], got -1"},
		{rollout.Config{MaxUnavailable: rollout.Pct(101)}, "max_unavailable must not be over 100%, got 101%"},
		{rollout.Config{MaxSurge: rollout.Count(0), MaxUnavailable: rollout.Pct(0)}, "max_surge and max_unavailable may not both be 0"},
		{rollout.Config{MinReady: -sec}, "min_ready must be in [0, 8760h0m0s], got -1s"},
		{rollout.Config{MinReady: 600 * sec}, "progress_deadline 10m0s must be greater than min_ready 10m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.ErrorIs(t, err, rollout.ErrConfig)
			assert.Equal(t, "rollout: invalid configuration: "+tc.want, err.Error())
			_, err = rollout.New(sim.NewScheduler(sim.Config{}), tc.cfg, &cluster{}, nil)
			assert.ErrorIs(t, err, rollout.ErrConfig)
		})
	}
	_, err := rollout.New(sim.NewScheduler(sim.Config{}), rollout.Config{}, nil, nil)
	assert.ErrorIs(t, err, rollout.ErrConfig)
	f := rollout.Config{}.WithDefaults()
	assert.Equal(t, rollout.Pct(25), f.MaxSurge)
	assert.Equal(t, rollout.Pct(25), f.MaxUnavailable)
	assert.Equal(t, 600*sec, f.ProgressDeadline)
	assert.Equal(t, time.Duration(0), f.MinReady)
	assert.Equal(t, "EventKind(9)", rollout.EventKind(9).String())
	assert.Equal(t, "3s Scaled v1 2->3", fmt.Sprint(rollout.Event{At: at(3 * sec), Kind: rollout.EvScaled, Version: 1, From: 2, To: 3}))
}

func TestSetStrategyAppliesToTheNextRollout(t *testing.T) {
	s := sim.NewScheduler(sim.Config{Until: sim.Time(time.Hour), MaxEvents: 1e6})
	p := &strategyPods{}
	d, err := rollout.New(s, rollout.Config{Replicas: 4}, p, nil)
	require.NoError(t, err)
	p.d = d
	d.Start(0)
	for id := range 4 {
		d.PodReady(rollout.PodID(id))
	}
	require.NoError(t, s.RunUntil(sim.Time(time.Second)))
	require.Error(t, d.SetStrategy(rollout.Config{MaxSurge: rollout.Count(0), MaxUnavailable: rollout.Count(0)}))
	require.NoError(t, d.SetStrategy(rollout.Config{MaxSurge: rollout.Count(2), MaxUnavailable: rollout.Count(0)}))
	d.Rollout(1)
	require.NoError(t, s.RunUntil(sim.Time(2*time.Second)))
	assert.Equal(t, 2, p.started[1], "max_surge 2: two new pods at once")
	assert.Equal(t, 4, d.Replicas())
}

type strategyPods struct {
	d       *rollout.Deployment
	started map[int]int
}

func (p *strategyPods) StartPod(id rollout.PodID, version int) {
	if p.started == nil {
		p.started = map[int]int{}
	}
	p.started[version]++
}
func (p *strategyPods) TerminatePod(rollout.PodID) {}
