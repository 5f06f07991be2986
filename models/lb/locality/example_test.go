package locality_test

import (
	"fmt"

	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/sim"
)

// A caller service with 4, 4 and 2 instances in zones a, b and c calls an
// upstream with 2, 4 and 2 healthy hosts there (Envoy's example in
// regenerateLocalityRoutingStructures). Zone a has 40% of the callers but
// 25% of the upstream, so its proxies keep 62.5% of their requests and send
// the rest to b and c in proportion to their spare capacity (10 and 5
// points); b and c keep everything. Each upstream zone then gets its 25%,
// 50%, 25% of all requests.
func ExamplePlan() {
	names := []string{"a", "b", "c"}
	for local := range names {
		plan, err := locality.NewPlan(locality.Config{}, locality.Zones{
			Local:    local,
			Callers:  []int{4, 4, 2},
			Upstream: []int{2, 4, 2},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		r := sim.NewRand(1, uint64(local))
		var picks [3]int
		for i := 0; i < 10000; i++ {
			picks[plan.Choose(r)]++
		}
		fmt.Printf("from %s: %-16v keep %5.2f%%, shares a=%.4f b=%.4f c=%.4f, 10000 picks %v\n",
			names[local], plan.Routing(), float64(plan.LocalPercentToRoute())/100,
			plan.Share(0), plan.Share(1), plan.Share(2), picks)
	}
	// Output:
	// from a: LocalityResidual keep 62.50%, shares a=0.6250 b=0.2500 c=0.1250, 10000 picks [6267 2547 1186]
	// from b: LocalityDirect   keep 100.00%, shares a=0.0000 b=1.0000 c=0.0000, 10000 picks [0 10000 0]
	// from c: LocalityDirect   keep 100.00%, shares a=0.0000 b=0.0000 c=1.0000, 10000 picks [0 0 10000]
}

// A two-level cluster whose P=0 has lost half its hosts: health
// 1.4*50% = 70, so 70% of the requests stay on P=0 and 30% spill to P=1.
// At 20% healthy both levels are short (28 each, 56 in all) and in panic
// (under 50% healthy), so the load follows host counts and each level
// routes to all its hosts.
func ExamplePriorities() {
	for _, healthy := range []int{10, 5, 2} {
		p, _ := locality.NewPriorities(locality.Config{}, []locality.Level{
			{Hosts: 10, Healthy: healthy},
			{Hosts: 10, Healthy: healthy},
		})
		fmt.Printf("%2d/10 healthy: health %v, load %v, panic %v\n", healthy, p.Health, p.HealthyLoad, p.Panic)
	}
	// Output:
	// 10/10 healthy: health [100 100], load [100 0], panic [false false]
	//  5/10 healthy: health [70 70], load [70 30], panic [false false]
	//  2/10 healthy: health [28 28], load [50 50], panic [true true]
}
