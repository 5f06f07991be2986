// Package roundrobin implements Envoy's ROUND_ROBIN policy.
//
// Equal weights: hosts[index++ % n], with the index of each balancer
// initialised from its own random stream (Envoy seeds rr_index with a
// per-LB random value, round_robin_lb.h), so that many sidecars do not march
// over the hosts in lockstep. Round robin is therefore per balancer, not
// global across sidecars or workers.
//
// Different weights (at least two hosts whose weights differ): Envoy's
// earliest-deadline-first scheduler (edf_scheduler.h, see
// models/lb/internal/edf), where a host of weight w gets deadlines 1/w
// apart, so over sum(weights) picks each host is picked weight times. Like
// newer Envoy (EdfScheduler::createWithPicks in load_balancer_impl.cc), the
// schedule starts uint32(seed)%429496729 picks in, where seed is the same
// per-balancer random value that starts the unweighted index; either way a
// Build draws exactly one value from the balancer's stream.
//
// Weights are read once, at Build: hosts' weights are static for now, and a
// weight change is expected to rebuild the picker, as Envoy rebuilds its
// schedulers on every host-set update (EdfLoadBalancerBase::refresh).
package roundrobin

import (
	"fmt"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/internal/edf"
)

// Name is the policy name used in scenarios.
const Name = "round_robin"

func init() { lb.Register(Name, builder{}) }

type builder struct{}

// Build makes a picker. It allocates O(n) for weighted hosts.
func (builder) Build(opts lb.BuildOptions) (lb.Picker, error) {
	n := len(opts.Hosts)
	var seed uint64
	if opts.Rand != nil {
		seed = opts.Rand.Uint64()
	}
	weights := make([]float64, n)
	equal := true
	for i, h := range opts.Hosts {
		w := h.Weight()
		if w == 0 {
			return nil, fmt.Errorf("%w: %s: host %d has weight 0, must be >= 1", lb.ErrConfig, Name, i)
		}
		weights[i] = float64(w)
		equal = equal && w == opts.Hosts[0].Weight()
	}
	if equal {
		return &picker{n: uint64(n), next: seed}, nil
	}
	// Envoy passes its 64-bit seed_ to createWithPicks' uint32 parameter,
	// which keeps the low 32 bits.
	return &weighted{sched: edf.New(weights, uint32(seed)), weights: weights}, nil
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

// weighted is Envoy's EDF round robin. It is only built for two or more
// hosts, since one host has nothing to differ from.
type weighted struct {
	sched   *edf.Scheduler
	weights []float64
}

// Pick returns the host with the earliest deadline and re-adds it with its
// weight. The complexity is O(log n).
func (p *weighted) Pick(lb.PickInfo) (int, error) {
	id := p.sched.Pick()
	p.sched.Add(id, p.weights[id])
	return id, nil
}
