package mesh

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// origin records terminal outcomes in order.
type origin struct {
	s     *sim.Scheduler
	ended []string
	pool  Pool
}

func (o *origin) Finish(r *Request, out Outcome) {
	o.ended = append(o.ended, out.String()+"@"+o.s.Now().String()+"#"+string(rune('0'+r.ID)))
	o.pool.Put(r)
}

func (o *origin) send(in *Instance) {
	r := o.pool.Get()
	r.Origin = o
	r.Measured = true
	in.Arrive(r)
}

func newService(t *testing.T, s *sim.Scheduler, replicas, concurrency, queue int, st time.Duration) *Service {
	t.Helper()
	d, err := dist.Constant(st)
	require.NoError(t, err)
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{
		Name: "svc", Replicas: replicas, Concurrency: concurrency, QueueBound: queue, ServiceTime: d,
	})
	require.NoError(t, err)
	return svc
}

func TestInstanceSlotsQueueAndRejection(t *testing.T) {
	// Two slots and a queue of one: of five simultaneous requests, two start,
	// one waits, two are rejected at once; the waiting one starts when the
	// first finishes, in FIFO order.
	s := sim.NewScheduler(sim.Config{})
	svc := newService(t, s, 1, 2, 1, 10*time.Millisecond)
	o := &origin{s: s}
	in := svc.Instances()[0]
	for i := 0; i < 5; i++ {
		o.send(in)
	}
	assert.Equal(t, 3, in.ActiveRequests())
	assert.Equal(t, int64(3), svc.MeasuredHeld())
	require.NoError(t, s.Run())
	assert.Equal(t, []string{
		"rejected@0s#4", "rejected@0s#5",
		"ok@10ms#1", "ok@10ms#2", "ok@20ms#3",
	}, o.ended)
	assert.Equal(t, int64(0), svc.MeasuredHeld())
	st := svc.Stats(s.Now())
	assert.Equal(t, int64(3), st.Completed)
	// Busy slots: 2 for 10ms then 1 for 10ms, out of 2 slots over 20ms.
	assert.InDelta(t, 0.75, st.Utilisation, 1e-12)
	// One request waited 10ms of the 20ms.
	assert.InDelta(t, 0.5, st.QueueLengthMean, 1e-12)
	assert.Equal(t, int64(3), st.Latency.Count())
	assert.Equal(t, int64(20*time.Millisecond), st.Latency.Max())
}

func TestUnboundedAndZeroQueues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bound    int
		rejected int
	}{
		{"unbounded", Unbounded, 0},
		{"no waiting room", 0, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			svc := newService(t, s, 1, 1, tc.bound, time.Millisecond)
			o := &origin{s: s}
			for i := 0; i < 10; i++ {
				o.send(svc.Instances()[0])
			}
			require.NoError(t, s.Run())
			n := 0
			for _, e := range o.ended {
				if e[:8] == "rejected" {
					n++
				}
			}
			assert.Equal(t, tc.rejected, n)
			assert.Len(t, o.ended, 10, "every request ends exactly once")
		})
	}
}

func TestServiceConfigValidation(t *testing.T) {
	d, _ := dist.Constant(time.Millisecond)
	s := sim.NewScheduler(sim.Config{})
	for _, tc := range []struct {
		cfg  ServiceConfig
		want string
	}{
		{ServiceConfig{Replicas: 1, Concurrency: 1, ServiceTime: d}, "mesh: invalid configuration: service without a name"},
		{ServiceConfig{Name: "a", Concurrency: 1, ServiceTime: d}, "mesh: invalid configuration: service a: replicas 0 < 1"},
		{ServiceConfig{Name: "a", Replicas: 1, ServiceTime: d}, "mesh: invalid configuration: service a: concurrency 0 < 1"},
		{ServiceConfig{Name: "a", Replicas: 1, Concurrency: 1, QueueBound: -5, ServiceTime: d}, "mesh: invalid configuration: service a: queue bound -5 < 0"},
		{ServiceConfig{Name: "a", Replicas: 1, Concurrency: 1}, "mesh: invalid configuration: service a: no service time distribution"},
	} {
		_, err := NewService(s, sim.NewStreams(1, 0), tc.cfg)
		assert.EqualError(t, err, tc.want)
		assert.ErrorIs(t, err, ErrConfig)
	}
}

func TestInstanceNamesAndStreams(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	svc := newService(t, s, 3, 1, Unbounded, time.Millisecond)
	var names []string
	for _, in := range svc.Instances() {
		names = append(names, in.Name())
	}
	assert.Equal(t, []string{"svc[0]", "svc[1]", "svc[2]"}, names)
	assert.Len(t, svc.Hosts(), 3)
}

func TestRingFIFOAcrossGrowth(t *testing.T) {
	var q ring
	var pool Pool
	var want []uint64
	for round := 0; round < 3; round++ {
		for i := 0; i < 37; i++ {
			r := pool.Get()
			want = append(want, r.ID)
			q.push(r)
		}
		for i := 0; i < 20; i++ {
			r, ok := q.pop()
			require.True(t, ok)
			assert.Equal(t, want[0], r.ID)
			want = want[1:]
		}
	}
	for len(want) > 0 {
		r, ok := q.pop()
		require.True(t, ok)
		assert.Equal(t, want[0], r.ID)
		want = want[1:]
	}
	_, ok := q.pop()
	assert.False(t, ok)
}

func TestPoolReusesRequests(t *testing.T) {
	var p Pool
	a := p.Get()
	a.Measured = true
	p.Put(a)
	b := p.Get()
	assert.Same(t, a, b, "a released request is reused")
	assert.False(t, b.Measured, "and reset")
	assert.Equal(t, uint64(2), b.ID, "with a fresh id")
}

func TestPoolPanicsOnDoubleRelease(t *testing.T) {
	var p Pool
	r := p.Get()
	p.Put(r)
	assert.PanicsWithValue(t, "mesh: request 1 released twice (ended in two terminal states)", func() { p.Put(r) })
}

func TestWarmupResetCountsWorkInProgressFromTheReset(t *testing.T) {
	// One slot, 10ms service: A and B arrive at 0, B waits. The window
	// starts at 5ms: A's remaining 5ms and B's 10ms of service make the
	// slot busy all 15ms; B waited 5ms of the window (5ms to 10ms).
	s := sim.NewScheduler(sim.Config{})
	svc := newService(t, s, 1, 1, Unbounded, 10*time.Millisecond)
	o := &origin{s: s}
	o.send(svc.Instances()[0])
	o.send(svc.Instances()[0])
	require.NoError(t, s.RunUntil(sim.Time(5*time.Millisecond)))
	svc.ResetStats(s.Now())
	require.NoError(t, s.RunUntil(sim.Time(20*time.Millisecond)))
	st := svc.Stats(s.Now())
	assert.InDelta(t, 1.0, st.Utilisation, 1e-12)
	assert.InDelta(t, 1.0/3, st.QueueLengthMean, 1e-12)
}

func TestLocalRateLimit(t *testing.T) {
	// A bucket of 5 tokens, 2 more every 100ms (in whole intervals): 8
	// requests at 0 -> 5 pass; 4 at 150ms -> 2 pass (one fill); 6 at 450ms
	// -> 5 pass (3 fills of 2, capped at 5).
	s := sim.NewScheduler(sim.Config{})
	svc := newService(t, s, 1, 100, Unbounded, time.Millisecond)
	in := svc.Instances()[0]
	in.SetRateLimit(5, 2, 100*time.Millisecond)
	o := &origin{s: s}
	burst := func(at time.Duration, n int) {
		require.NoError(t, s.RunUntil(sim.Time(at)))
		for i := 0; i < n; i++ {
			o.send(in)
		}
	}
	burst(0, 8)
	burst(150*time.Millisecond, 4)
	burst(450*time.Millisecond, 6)
	require.NoError(t, s.Run())
	counts := map[string]int{}
	for _, e := range o.ended {
		counts[e[:strings.IndexByte(e, '@')]]++
	}
	assert.Equal(t, map[string]int{"ok": 12, "shed": 6}, counts)
	assert.Equal(t, int64(6), in.Shed())
}

func TestCrashLosesExactlyTheRequestsHeld(t *testing.T) {
	// One instance, 2 slots, 10ms of work, an unbounded queue: 5 requests
	// at 0 (2 in service, 3 queued) and one more at 5ms. A crash at 7ms
	// loses all 6, answered reset; their scheduled completions are
	// ignored; a request at 8ms is refused; after a restart at 20ms a
	// request is served normally.
	s := sim.NewScheduler(sim.Config{})
	svc := newService(t, s, 1, 2, Unbounded, 10*time.Millisecond)
	in := svc.Instances()[0]
	in.Track()
	o := &origin{s: s}
	at := func(d time.Duration, f func()) { s.Schedule(sim.Time(d), handlerFunc(f), sim.Event{}) }
	for i := 0; i < 5; i++ {
		at(0, func() { o.send(in) })
	}
	at(5*time.Millisecond, func() { o.send(in) })
	at(7*time.Millisecond, in.Crash)
	at(8*time.Millisecond, func() { o.send(in) })
	at(20*time.Millisecond, in.Restart)
	at(21*time.Millisecond, func() { o.send(in) })
	require.NoError(t, s.Run())
	var resets, refused, ok int
	for _, e := range o.ended {
		switch {
		case strings.HasPrefix(e, "reset@7ms"):
			resets++
		case strings.HasPrefix(e, "refused@8ms"):
			refused++
		case strings.HasPrefix(e, "ok@31ms"):
			ok++
		default:
			t.Errorf("unexpected %s", e)
		}
	}
	assert.Equal(t, 6, resets)
	assert.Equal(t, 1, refused)
	assert.Equal(t, 1, ok)
	assert.Equal(t, int64(6), in.Lost())
	assert.Zero(t, svc.MeasuredHeld())
	assert.Equal(t, 0, in.busy)
	assert.Empty(t, in.serving)
}

// crashSpy logs, when told of a crash, its name, the instance's state
// and the number of requests already answered.
type crashSpy struct {
	name string
	o    *origin
	log  *[]string
}

func (w crashSpy) Crashed(in *Instance) {
	*w.log = append(*w.log, fmt.Sprintf("%s: %s %v after %d answers", w.name, in.Name(), in.State(), len(w.o.ended)))
}

func TestCrashTellsItsWatchersFirst(t *testing.T) {
	// A crash tells the watchers, in the order they were added, once the
	// instance is down and before the two requests it holds are reset.
	s := sim.NewScheduler(sim.Config{})
	svc := newService(t, s, 1, 2, Unbounded, 10*time.Millisecond)
	in := svc.Instances()[0]
	in.Track()
	o := &origin{s: s}
	var log []string
	in.WatchCrash(crashSpy{"w1", o, &log})
	in.WatchCrash(crashSpy{"w2", o, &log})
	s.Schedule(0, handlerFunc(func() { o.send(in); o.send(in) }), sim.Event{})
	s.Schedule(sim.Time(time.Millisecond), handlerFunc(func() {
		in.Crash()
		log = append(log, fmt.Sprintf("crash returned after %d answers", len(o.ended)))
		in.Crash() // already down: nobody is told again
	}), sim.Event{})
	require.NoError(t, s.Run())
	name := in.Name()
	assert.Equal(t, []string{"w1: " + name + " down after 0 answers", "w2: " + name + " down after 0 answers", "crash returned after 2 answers"}, log)
}

type handlerFunc func()

func (f handlerFunc) Handle(sim.Event) { f() }
