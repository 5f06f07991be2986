package outlier_test

import (
	"fmt"
	"testing"

	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/sim"
)

func BenchmarkRecord(b *testing.B) {
	_, d := newDetector(b, 20, outlier.Config{}, 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := outlier.Success
		if i%7 == 0 {
			r = outlier.GatewayFailure
		}
		d.Record(i%20, r)
	}
}

// BenchmarkSweep times one interval sweep with success-rate evaluation over
// hosts hosts that all have the request volume.
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			s, d := newDetector(b, n, outlier.Config{Disabled: outlier.Kinds(outlier.KindConsecutive5xx)}, 1)
			traffic := sim.NewRand(2, 0)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for h := 0; h < n; h++ {
					for j := 0; j < 100; j++ {
						r := outlier.Success
						if traffic.IntN(100) < 2 {
							r = outlier.Error5xx
						}
						d.Record(h, r)
					}
				}
				b.StartTimer()
				s.Step()
			}
		})
	}
}
