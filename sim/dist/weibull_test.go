package dist

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

func TestWeibull(t *testing.T) {
	for _, tc := range []struct {
		shape float64
		mean  float64 // x scale: Gamma(1 + 1/k)
	}{
		{1, 1}, {2, math.Sqrt(math.Pi) / 2}, {0.5, 2}, {3, 0.8929795115692492},
	} {
		d, err := Weibull(time.Hour, tc.shape)
		require.NoError(t, err)
		assert.InDelta(t, tc.mean, float64(d.Mean())/float64(time.Hour), 1e-9, "shape %v", tc.shape)
		// The median is lambda * ln(2)^(1/k).
		assert.InDelta(t, math.Pow(math.Ln2, 1/tc.shape), float64(d.(*weibull).Quantile(0.5))/float64(time.Hour), 1e-9)
		r := sim.NewRand(7, 0)
		var sum float64
		const n = 200000
		for i := 0; i < n; i++ {
			sum += float64(d.Sample(r))
		}
		assert.InDelta(t, 1, sum/n/float64(d.Mean()), 0.02, "sample mean, shape %v", tc.shape)
	}
	for _, bad := range []struct {
		scale time.Duration
		shape float64
	}{{0, 1}, {time.Hour, 0}, {time.Hour, math.Inf(1)}, {time.Hour, 0.01}} {
		_, err := Weibull(bad.scale, bad.shape)
		assert.Error(t, err, "%v", bad)
	}
}
