package sidecar

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

func TestFaultsActOnTheirHostsOnly(t *testing.T) {
	// Round robin over two hosts answering in 1ms. A fault on host 1's
	// link delays its answers by 10ms; a lossy fault on host 0's loses
	// every request to it (with a route timeout: it times out). Removing
	// them restores both.
	for _, tc := range []struct {
		name   string
		policy Policy
	}{
		{"direct", Policy{}},
		{"call", Policy{RouteTimeout: 100 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			ok := []mesh.Outcome{mesh.OutcomeOK}
			u0 := &upstream{s: s, delay: time.Millisecond, script: ok}
			u1 := &upstream{s: s, delay: time.Millisecond, script: ok}
			c, cl := newCluster(t, s, tc.policy, u0, u1)
			late, err := dist.Constant(10 * time.Millisecond)
			require.NoError(t, err)
			streams := sim.NewStreams(1, 0)
			slow := &Fault{Hosts: []bool{false, true}, Delay: late, Rnd: streams.Get("web->api", "slow")}
			lossy := &Fault{Hosts: []bool{true, false}, Loss: 1, Rnd: streams.Get("web->api", "lossy")}
			at := func(ms int, f func()) {
				s.Schedule(sim.Time(ms)*sim.Time(time.Millisecond), handlerFunc(f), sim.Event{})
			}
			// Round robin starts at host 1 with this seed.
			at(0, func() { cl.send(c) })  // host 1
			at(20, func() { cl.send(c) }) // host 0
			at(40, func() { c.AddFault(slow) })
			at(40, func() { cl.send(c) }) // host 1: 10ms late
			at(60, func() { cl.send(c) }) // host 0
			at(80, func() { c.AddFault(lossy) })
			at(80, func() { cl.send(c) })  // host 1: late
			at(200, func() { cl.send(c) }) // host 0: lost
			at(300, func() { c.RemoveFault(slow); c.RemoveFault(lossy) })
			at(300, func() { cl.send(c) }) // host 1
			at(320, func() { cl.send(c) }) // host 0
			require.NoError(t, s.Run())
			want := []string{"ok@1ms", "ok@21ms", "ok@51ms", "ok@61ms", "ok@91ms", "ok@301ms", "ok@321ms"} // the lost one never ends
			if tc.policy.RouteTimeout > 0 {
				want = []string{"ok@1ms", "ok@21ms", "ok@51ms", "ok@61ms", "ok@91ms", "timeout@300ms", "ok@301ms", "ok@321ms"}
			}
			assert.Equal(t, want, cl.ended)
			assert.Equal(t, int64(1), c.Blackholed(), "the request lost on host 0's link")
			assert.Len(t, u0.arrived, 3)
			assert.Len(t, u1.arrived, 4)
		})
	}
}
