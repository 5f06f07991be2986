package hash

import (
	"fmt"
	"math"

	"github.com/meshsim/meshsim/models/lb"
)

// NormalizedWeights is Envoy's normalizeHostWeights for the hashing
// policies: each host's weight divided by the sum of the weights, in host
// order. Every weight must be >= 1 and the sum must fit in a uint32, as
// Envoy requires; errors name the policy. The complexity is O(n).
func NormalizedWeights(policy string, hosts []lb.Host) ([]float64, error) {
	var sum uint64
	for i, h := range hosts {
		w := h.Weight()
		if w == 0 {
			return nil, fmt.Errorf("%w: %s: host %d has weight 0, must be >= 1", lb.ErrConfig, policy, i)
		}
		sum += uint64(w)
	}
	if sum > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %s: host weights sum to %d, must be <= %d", lb.ErrConfig, policy, sum, uint64(math.MaxUint32))
	}
	norm := make([]float64, len(hosts))
	for i, h := range hosts {
		norm[i] = float64(h.Weight()) / float64(sum)
	}
	return norm, nil
}
