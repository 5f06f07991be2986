package leastrequest_test

import (
	"fmt"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/leastrequest"
	"github.com/meshsim/meshsim/sim"
)

// server is a host with a fixed number of requests in flight.
type server struct{ active int }

func (s server) ActiveRequests() int { return s.active }
func (s server) Weight() uint32      { return 1 }

// Four equally weighted hosts with 0, 1, 2 and 5 requests in flight (held
// fixed here; in a simulation they change as requests start and finish).
// Power of two choices draws two hosts with replacement and keeps the less
// loaded, so the host of load rank r wins with probability
// ((4-r)^2-(4-r-1)^2)/16: about 700, 500, 300 and 100 of 1600 picks, the
// most loaded host only when both draws hit it. A full scan always returns
// the least loaded host. A choice count below 2 is rejected.
func Example() {
	hosts := []lb.Host{server{0}, server{1}, server{2}, server{5}}
	b, _ := lb.Get(leastrequest.Name)
	for _, cfg := range []lb.Config{{}, {FullScan: true}} {
		p, err := b.Build(lb.BuildOptions{Hosts: hosts, Rand: sim.NewRand(1, 2), Config: cfg})
		if err != nil {
			fmt.Println(err)
			return
		}
		var first [12]int
		counts := make([]int, len(hosts))
		for i := 0; i < 1600; i++ {
			h, _ := p.Pick(lb.PickInfo{})
			if i < len(first) {
				first[i] = h
			}
			counts[h]++
		}
		fmt.Printf("full_scan=%v first picks %v, picks per host over 1600: %v\n", cfg.FullScan, first, counts)
	}
	_, err := b.Build(lb.BuildOptions{Rand: sim.NewRand(1, 2), Config: lb.Config{ChoiceCount: 1}})
	fmt.Println(err)
	// Output:
	// full_scan=false first picks [0 0 0 1 0 2 1 3 1 1 1 2], picks per host over 1600: [678 529 292 101]
	// full_scan=true first picks [0 0 0 0 0 0 0 0 0 0 0 0], picks per host over 1600: [1600 0 0 0]
	// lb: invalid configuration: least_request: choice_count must be >= 2, got 1
}
