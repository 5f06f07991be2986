package mesh

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

type idleCount struct{ n int }

func (c *idleCount) Idle(*Instance) { c.n++ }

func TestPoolVersionsAndUtilisationOverRunningInstances(t *testing.T) {
	// A pool of 3 with 1 replica: instances 1 and 2 start down and refuse.
	// Instance 1 is started at 10s on a version twice as slow with an
	// extra 5ms; utilisation counts its slots only from then on.
	s := sim.NewScheduler(sim.Config{})
	d, err := dist.Constant(10 * time.Millisecond)
	require.NoError(t, err)
	svc, err := NewService(s, sim.NewStreams(1, 0), ServiceConfig{Name: "svc", Replicas: 1, Instances: 3, Concurrency: 1, QueueBound: Unbounded, ServiceTime: d})
	require.NoError(t, err)
	require.Len(t, svc.Instances(), 3)
	in0, in1 := svc.Instances()[0], svc.Instances()[1]
	assert.Equal(t, StateUp, in0.State())
	assert.Equal(t, StateDown, in1.State())
	o := &origin{s: s}
	o.send(in1)
	assert.Equal(t, []string{"refused@0s#1"}, o.ended)

	require.NoError(t, s.RunUntil(sim.Time(10*time.Second)))
	slow, err := dist.Constant(20 * time.Millisecond)
	require.NoError(t, err)
	extra, err := dist.Constant(5 * time.Millisecond)
	require.NoError(t, err)
	in1.SetVersion(Version{ServiceTime: slow, Extra: extra})
	in1.Restart()
	idle := &idleCount{}
	in1.WatchIdle(idle)
	o.send(in1)
	o.send(in1)
	assert.Equal(t, 2, in1.Held())
	require.NoError(t, s.RunUntil(sim.Time(20*time.Second)))
	assert.Equal(t, 1, idle.n, "idle once, when the second request is answered")
	assert.Equal(t, int64(50*time.Millisecond), in1.BusyNs(), "two requests of 20ms + 5ms")

	st := svc.Stats(s.Now())
	assert.InDelta(t, 1.5, st.Running, 1e-9, "one instance all along, one for half the run")
	assert.InDelta(t, float64(50*time.Millisecond)/float64(30*time.Second), st.Utilisation, 1e-12, "busy time over 30 instance-seconds up")
}
