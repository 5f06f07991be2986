// Package roundrobin implements Envoy's ROUND_ROBIN policy for hosts of
// equal weight: hosts[index++ % n], with the index of each balancer
// initialised from its own random stream (Envoy seeds rr_index with a
// per-LB random value, round_robin_lb.h), so that many sidecars do not march
// over the hosts in lockstep. Round robin is therefore per balancer, not
// global across sidecars or workers.
//
// Weighted round robin (Envoy's EDF scheduler when weights differ) comes
// with endpoint weights in the sidecar model.
package roundrobin

import (
	"github.com/meshsim/meshsim/models/lb"
)

// Name is the policy name used in scenarios.
const Name = "round_robin"

func init() { lb.Register(Name, builder{}) }

type builder struct{}

func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	p := &picker{n: uint64(len(opts.Hosts))}
	if opts.Rand != nil {
		p.next = opts.Rand.Uint64()
	}
	return p, nil
}

type picker struct {
	n    uint64
	next uint64
}

// Pick returns the next host in cyclic order. The complexity is O(1).
func (p *picker) Pick(lb.PickInfo) (int, error) {
	if p.n == 0 {
		return -1, lb.ErrNoHost
	}
	i := p.next % p.n
	p.next++
	return int(i), nil
}
