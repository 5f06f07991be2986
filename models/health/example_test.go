package health_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/health"
	"github.com/meshsim/meshsim/sim"
)

// instances answers probes after 5 ms, except that instance 1 is down
// (connection refused) from 10 s to 30 s.
type instances struct {
	s *sim.Scheduler
	c *health.Checker
}

func (in *instances) Probe(host int, id health.ProbeID) {
	// Carry host and probe id in the event's plain fields: no allocation
	// per probe.
	in.s.After(5*time.Millisecond, in, sim.Event{Kind: int32(host), Arg: int64(id)})
}

func (in *instances) Handle(ev sim.Event) {
	host, id := int(ev.Kind), health.ProbeID(ev.Arg)
	r := health.Success
	if now := in.s.Now(); host == 1 && now >= sim.Time(10*time.Second) && now < sim.Time(30*time.Second) {
		r = health.ConnectFailure
	}
	in.c.Answer(host, id, r)
}

func (in *instances) HealthChanged(tr health.Transition) { fmt.Println(tr) }

// Three instances under the defaults (interval 3 s, timeout 1 s,
// unhealthy_threshold 3, healthy_threshold 1). All turn healthy on their
// first answer; each probe goes out 3 s after the previous answer, so
// probes drift by the 5 ms answer time. Instance 1 goes down at 10 s: its
// probes at 12.02 s, 15.025 s and 18.03 s are refused, and the third
// answer marks it unhealthy. Refused again at 21.035, 24.04 and 27.045 s,
// it comes back at 30 s, and the answer to its probe at 30.05 s marks it
// healthy.
func Example() {
	s := sim.NewScheduler(sim.Config{})
	in := &instances{s: s}
	c, err := health.New(s, sim.NewRand(1, 0), 3, health.Config{}, in, in)
	if err != nil {
		fmt.Println(err)
		return
	}
	in.c = c
	c.Start()
	if err := s.RunUntil(sim.Time(40 * time.Second)); err != nil {
		fmt.Println(err)
		return
	}
	st := c.Stats()
	fmt.Printf("attempts=%d failures=%d healthy=%d\n", st.Attempts, st.Failures, st.Healthy)
	// Output:
	// 5ms host 0 unknown->healthy (success)
	// 5ms host 1 unknown->healthy (success)
	// 5ms host 2 unknown->healthy (success)
	// 18.035s host 1 healthy->unhealthy (connect_failure)
	// 30.055s host 1 unhealthy->healthy (success)
	// attempts=42 failures=6 healthy=3
}
