package sim_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// printer prints each event it handles with the virtual time.
type printer struct{ s *sim.Scheduler }

func (p printer) Handle(ev sim.Event) { fmt.Printf("%v: event %d\n", p.s.Now(), ev.Arg) }

func ExampleScheduler_RunUntil() {
	s := sim.NewScheduler(sim.Config{MaxEvents: 1000})
	p := printer{s}
	s.After(2*time.Second, p, sim.Event{Arg: 3})
	s.After(time.Second, p, sim.Event{Arg: 1})
	s.After(time.Second, p, sim.Event{Arg: 2}) // same instant: fires after event 1
	timeout := s.After(500*time.Millisecond, p, sim.Event{Arg: 99})
	s.Cancel(timeout)
	if err := s.RunUntil(sim.Time(1500 * time.Millisecond)); err != nil {
		fmt.Println(err)
	}
	fmt.Println("now", s.Now(), "pending", s.Pending())
	// Output:
	// 1s: event 1
	// 1s: event 2
	// now 1.5s pending 1
}

func ExampleStreams_Get() {
	streams := sim.NewStreams(42, 0)
	a := streams.Get("checkout[0]", "service-time")
	b := sim.NewStreams(42, 0).Get("checkout[0]", "service-time")
	fmt.Println(a.Uint64() == b.Uint64())
	// Output: true
}
