package autoscale_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/autoscale"
	"github.com/meshsim/meshsim/sim"
)

// service is a toy scale target: a fixed offered load of busy workers
// spread over the ready pods, each pod ready 30 s after it is created.
type service struct {
	s       *sim.Scheduler
	load    func(now sim.Time) int64 // busy workers x 1000
	spec    int
	created []sim.Time // creation instants of the live pods
}

func (v *service) Observe() autoscale.Observation {
	ready := 0
	for _, c := range v.created {
		if v.s.Now() >= c.Add(30*time.Second) {
			ready++
		}
	}
	// One worker per pod: a ready pod's utilisation is its share of the
	// load, capped at 100%.
	usage := min(v.load(v.s.Now()), int64(ready)*1000)
	return autoscale.Observation{Replicas: v.spec, Ready: ready, Unready: len(v.created) - ready, Usage: usage}
}

func (v *service) SetReplicas(n int) {
	for len(v.created) < n {
		v.created = append(v.created, v.s.Now())
	}
	v.created = v.created[:n] // scale-down drains the newest pods
	v.spec = n
}

// A load step from 1.4 to 7 busy workers at 60 s, back to 1 at 300 s,
// against a 70% target with the defaults. A pod's utilisation saturates
// at 100%, so the HPA never sees more than 100/70 of its target and grows
// the service step by step: ceil(2*1.43) = 3, then 5, 8 and the maximum,
// 10. In between, the syncs at 1m15s, 1m45s and 2m15s keep the count:
// the new pods are not ready yet, and counting them at 0 brings the ratio
// within the tolerance. After the load falls at 5 min, the proposals drop
// to 2, but the scale-down waits until the last proposal of 10 (at 4m45s)
// is 300 s old.
func Example() {
	s := sim.NewScheduler(sim.Config{})
	v := &service{s: s, spec: 2, created: []sim.Time{0, 0}, load: func(now sim.Time) int64 {
		switch {
		case now < sim.Time(60*time.Second):
			return 1400
		case now < sim.Time(300*time.Second):
			return 7000
		}
		return 1000
	}}
	hpa, err := autoscale.New(s, autoscale.Config{MaxReplicas: 10, Target: 70}, v, v)
	if err != nil {
		fmt.Println(err)
		return
	}
	hpa.Start()
	if err := s.RunUntil(sim.Time(15 * time.Minute)); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range hpa.Decisions() {
		if d.Scaled() {
			fmt.Println(d)
		}
	}
	// Output:
	// 1m0s current=2 ready=2 unready=0 metric=100 proposal=3 stabilized=3 desired=3 DesiredWithinRange
	// 1m30s current=3 ready=3 unready=0 metric=100 proposal=5 stabilized=5 desired=5 DesiredWithinRange
	// 2m0s current=5 ready=5 unready=0 metric=100 proposal=8 stabilized=8 desired=8 DesiredWithinRange
	// 2m30s current=8 ready=8 unready=0 metric=87 proposal=10 stabilized=10 desired=10 DesiredWithinRange
	// 9m45s current=10 ready=10 unready=0 metric=10 proposal=2 stabilized=2 desired=2 DesiredWithinRange
}
