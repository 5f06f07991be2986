package outlier_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/sim"
)

// Ten hosts under Envoy's defaults (10% of ten hosts allows one ejection);
// host 3 answers 503 (its queue is full) until 65 s, then recovers, and the
// others always succeed. Five consecutive 503s eject it inline: the gateway
// detector counts them but is not enforced, consecutive_5xx ejects. It
// comes back at the 30 s sweep, fails five times more at once and is
// ejected for 2 x 30 s (Version moves by two: out, then in). The proxy
// polls Version to know when to rebuild its pickers.
func Example() {
	s := sim.NewScheduler(sim.Config{})
	d, err := outlier.New(s, sim.NewRand(1, 0), 10, outlier.Defaults())
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Start()
	version := d.Version()
	for t := time.Duration(0); t <= 200*time.Second; t += time.Second {
		if err := s.RunUntil(sim.Time(t)); err != nil {
			fmt.Println(err)
			return
		}
		for h := 0; h < 10; h++ {
			r := outlier.Success
			if h == 3 && t <= 65*time.Second {
				r = outlier.GatewayFailure
			}
			for i := 0; i < 5; i++ {
				if h == 3 && d.Ejected(3) {
					break // the proxy sends nothing to an ejected host
				}
				d.Record(h, r)
			}
		}
		if v := d.Version(); v != version {
			version = v
			fmt.Printf("t=%v version=%d ejected=%v\n", s.Now(), v, d.Ejected(3))
		}
	}
	for _, e := range d.Intervals() {
		fmt.Printf("host %d %s: %v to %v (%v)\n", e.Host, e.Kind, e.From, e.To, e.To.Sub(e.From))
	}
	st := d.Stats()
	fmt.Println("detected:", st.Detected, "enforced:", st.Enforced)
	// Output:
	// t=0s version=1 ejected=true
	// t=30s version=3 ejected=true
	// t=1m30s version=4 ejected=false
	// host 3 consecutive_5xx: 0s to 30s (30s)
	// host 3 consecutive_5xx: 30s to 1m30s (1m0s)
	// detected: [2 2 0 0] enforced: [2 0 0 0]
}
