package stats_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

func ExampleHistogram() {
	h := stats.NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.Record(int64(i) * int64(time.Microsecond)) // 1µs .. 1ms
	}
	// Shards of a run are merged exactly, in any order.
	other := stats.NewHistogram()
	other.Record(int64(2 * time.Second))
	h.Merge(other)

	fmt.Println("count", h.Count())
	fmt.Println("min", time.Duration(h.Min()), "max", time.Duration(h.Max()))
	// Quantiles are within 0.4% of the exact 501µs and 991µs.
	fmt.Println("p50", time.Duration(h.Quantile(0.5)), "p99", time.Duration(h.Quantile(0.99)))
	fmt.Println("mean", time.Duration(h.Mean()))
	// Output:
	// count 1001
	// min 1µs max 2s
	// p50 500.735µs p99 989.183µs
	// mean 2.498001ms
}

func ExampleTimeWeighted() {
	var queue stats.TimeWeighted
	queue.Set(0, 10)                               // a burst before warm-up
	queue.Reset(sim.Time(time.Second))             // delete the warm-up
	queue.Add(sim.Time(1500*time.Millisecond), -8) // drains to 2
	fmt.Println(queue.Mean(sim.Time(2 * time.Second)))
	// Output: 6
}
