package rollout_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/rollout"
	"github.com/meshsim/meshsim/sim"
)

// instances becomes ready 10 s after a pod starts, except version 2, which
// never passes its readiness probe.
type instances struct {
	s *sim.Scheduler
	d *rollout.Deployment
}

func (in *instances) StartPod(id rollout.PodID, version int) {
	if version != 2 {
		in.s.After(10*time.Second, in, sim.Event{Arg: int64(id)})
	}
}
func (in *instances) TerminatePod(id rollout.PodID) {} // drain: the integrator's business
func (in *instances) Handle(ev sim.Event)           { in.d.PodReady(rollout.PodID(ev.Arg)) }

type printer struct{}

func (printer) RolloutEvent(e rollout.Event) { fmt.Println(e) }

// Four replicas under the defaults (max_surge 25% rounds up to 1,
// max_unavailable 25% rounds down to 1) roll from version 0 to 1 in two
// waves of two pods, then to a version 2 that never becomes ready: the
// rollout stops with 3 old pods serving and 2 new ones not ready, and is
// reported 600 s after its last progress.
func Example() {
	s := sim.NewScheduler(sim.Config{})
	in := &instances{s: s}
	d, err := rollout.New(s, rollout.Config{Replicas: 4}, in, printer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in.d = d
	d.Start(0)
	_ = s.RunUntil(sim.Time(time.Minute))
	d.Rollout(1)
	_ = s.RunUntil(sim.Time(2 * time.Minute))
	d.Rollout(2)
	_ = s.RunUntil(sim.Time(time.Hour))
	fmt.Printf("%+v %v\n", d.Status(), d.Versions(nil))
	// Output:
	// 0s Started v0
	// 0s Scaled v0 0->4
	// 10s Complete v0
	// 1m0s RolloutStarted v1
	// 1m0s Scaled v1 0->1
	// 1m0s Scaled v0 4->3
	// 1m0s Scaled v1 1->2
	// 1m10s Scaled v0 3->1
	// 1m10s Scaled v1 2->4
	// 1m20s Scaled v0 1->0
	// 1m20s Complete v1
	// 2m0s RolloutStarted v2
	// 2m0s Scaled v2 0->1
	// 2m0s Scaled v1 4->3
	// 2m0s Scaled v2 1->2
	// 12m0s ProgressDeadlineExceeded v2
	// {Replicas:5 Updated:2 Ready:3 Available:3 Complete:false DeadlineExceeded:true} [[0 0] [1 3] [2 2]]
}
