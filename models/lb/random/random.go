// Package random implements Envoy's RANDOM load-balancing policy: every pick
// is an independent uniform draw over the hosts. As in Envoy
// (source/extensions/load_balancing_policies/random/random_lb.cc), endpoint
// weights are ignored.
package random

import (
	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/sim"
)

// Name is the policy name used in scenarios.
const Name = "random"

func init() { lb.Register(Name, builder{}) }

type builder struct{}

func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	return &picker{n: len(opts.Hosts), rnd: opts.Rand}, nil
}

type picker struct {
	n   int
	rnd *sim.Rand
}

// Pick returns a uniformly random host index. The complexity is O(1).
func (p *picker) Pick(lb.PickInfo) (int, error) {
	if p.n == 0 {
		return -1, lb.ErrNoHost
	}
	return p.rnd.IntN(p.n), nil
}
