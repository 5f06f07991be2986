package roundrobin_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/roundrobin"
	"github.com/meshsim/meshsim/sim"
)

// endpoint is a host of weight 1 that may be in slow start.
type endpoint struct {
	joined sim.Time
	isNew  bool
}

func (endpoint) ActiveRequests() int              { return 0 }
func (endpoint) Weight() uint32                   { return 1 }
func (e endpoint) WarmingSince() (sim.Time, bool) { return e.joined, e.isNew }

// Three warm hosts and one that joined at t=0, with a 30s slow start window
// (aggression 1, minimum weight 10%) and one request per 10ms. The new
// host's weight ramps from 0.1 to 1, so its share of each 10s rises from
// about 5% towards 25% and is exactly 25% once the window is over.
func Example_slowStart() {
	hosts := []lb.Host{endpoint{}, endpoint{}, endpoint{}, endpoint{isNew: true}}
	b, _ := lb.Get(roundrobin.Name)
	p, err := b.Build(lb.BuildOptions{
		Hosts:  hosts,
		Rand:   sim.NewRand(1, 2),
		Config: lb.Config{SlowStartWindow: 30 * time.Second},
		Now:    0,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for s := 0; s < 40; s += 10 {
		newHost := 0
		for i := 0; i < 1000; i++ {
			now := sim.Time(time.Duration(s)*time.Second + time.Duration(i)*10*time.Millisecond)
			if h, _ := p.Pick(lb.PickInfo{Now: now}); h == 3 {
				newHost++
			}
		}
		fmt.Printf("%2ds-%2ds: new host got %3d of 1000 picks\n", s, s+10, newHost)
	}
	// Output:
	//  0s-10s: new host got  55 of 1000 picks
	// 10s-20s: new host got 142 of 1000 picks
	// 20s-30s: new host got 217 of 1000 picks
	// 30s-40s: new host got 250 of 1000 picks
}
