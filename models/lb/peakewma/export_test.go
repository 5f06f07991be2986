package peakewma

import (
	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/sim"
)

// Cost reads host i's cost at now as a pick does (decaying its estimate).
func Cost(p lb.Picker, i int, now sim.Time) float64 {
	pp := p.(*picker)
	pp.start(now)
	return pp.cost(i, now)
}

// EstimateNanos returns host i's RTT estimate without updating it.
func EstimateNanos(p lb.Picker, i int) float64 { return p.(*picker).est[i].rttNanos }
