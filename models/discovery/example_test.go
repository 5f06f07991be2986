package discovery_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/discovery"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

type sidecar struct {
	name string
	s    *sim.Scheduler
}

func (c sidecar) EndpointsChanged(snap *discovery.Snapshot) {
	fmt.Printf("%v %s: service %d v%d %v (made at %v)\n", c.s.Now(), c.name, snap.Service, snap.Version, snap.Endpoints, snap.At)
}

// Instance 1 of service 0 crashes at 10 s and is deregistered; a
// replacement, instance 3, registers at 12 s. A sidecar 1 s behind the
// registry stops sending to instance 1 at 11 s; one 4 s behind keeps
// sending to it (and failing) until 14 s, and learns of instance 3 at
// 16 s.
func Example() {
	s := sim.NewScheduler(sim.Config{})
	reg, err := discovery.NewRegistry(s, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for ep := 0; ep < 3; ep++ {
		reg.Register(0, ep)
	}
	for i, d := range []time.Duration{time.Second, 4 * time.Second} {
		delay, _ := dist.Constant(d)
		name := fmt.Sprintf("frontend[%d]", i)
		if _, err := reg.Subscribe(discovery.Config{Name: name, Delay: delay, Services: []int{0}}, sim.NewRand(uint64(i), 0), sidecar{name, s}); err != nil {
			fmt.Println(err)
			return
		}
	}
	_ = s.RunUntil(sim.Time(10 * time.Second))
	reg.Deregister(0, 1)
	_ = s.RunUntil(sim.Time(12 * time.Second))
	reg.Register(0, 3)
	_ = s.RunUntil(sim.Time(time.Minute))
	// Output:
	// 11s frontend[0]: service 0 v4 [0 2] (made at 10s)
	// 13s frontend[0]: service 0 v5 [0 2 3] (made at 12s)
	// 14s frontend[1]: service 0 v4 [0 2] (made at 10s)
	// 16s frontend[1]: service 0 v5 [0 2 3] (made at 12s)
}
