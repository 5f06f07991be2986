package dist_test

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

func ExampleLognormalMeanP99() {
	d, err := dist.LognormalMeanP99(20*time.Millisecond, 120*time.Millisecond)
	if err != nil {
		panic(err)
	}
	fmt.Println(d)
	fmt.Println("mean", d.Mean())
	fmt.Println("p99", d.(dist.Quantiler).Quantile(0.99))

	_, err = dist.LognormalMeanP99(20*time.Millisecond, time.Second)
	fmt.Println(err)
	// Output:
	// lognormal(mean=20ms, p99=120ms)
	// mean 20ms
	// p99 120ms
	// dist: invalid parameter: lognormal: p99 must be in (mean, 14.97*mean] = (20ms, 299.369767ms], got 1s
}

func ExampleEmpirical() {
	d, err := dist.Empirical([]dist.Point{
		{P: 0.5, Value: 10 * time.Millisecond},
		{P: 0.9, Value: 30 * time.Millisecond},
		{P: 0.99, Value: 100 * time.Millisecond},
	})
	if err != nil {
		panic(err)
	}
	q := d.(dist.Quantiler)
	fmt.Println(d)
	fmt.Println("mean", d.Mean())
	fmt.Println("p99.9", q.Quantile(0.999)) // the exponential tail
	fmt.Println("min", q.Quantile(0))       // the floor below p50

	r := sim.NewStreams(42, 0).Get("checkout[0]", "service-time")
	fmt.Println("first sample", d.Sample(r))
	// Output:
	// empirical(p50=10ms, p90=30ms, p99=100ms)
	// mean 16.537377ms
	// p99.9 170ms
	// min 2.532786ms
	// first sample 7.569594ms
}
