// Package lbtest holds the test doubles and helpers that the load-balancing
// policies' tests share: hosts with a fixed weight and load, and building
// and picking with a policy by name.
package lbtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/sim"
)

// Host is a host with a settable load and weight.
type Host struct {
	Active int
	W      uint32
}

// ActiveRequests implements lb.Host.
func (h *Host) ActiveRequests() int { return h.Active }

// Weight implements lb.Host.
func (h *Host) Weight() uint32 { return h.W }

// Weighted returns hosts with the given weights, in order.
func Weighted(ws ...uint32) []lb.Host {
	hs := make([]lb.Host, len(ws))
	for i, w := range ws {
		hs[i] = &Host{W: w}
	}
	return hs
}

// Equal returns n hosts of weight 1.
func Equal(n int) []lb.Host {
	hs := make([]lb.Host, n)
	for i := range hs {
		hs[i] = &Host{W: 1}
	}
	return hs
}

// Build builds the named policy over hs with cfg and the stream rnd (a
// fixed one when nil), failing the test on an error.
func Build(t testing.TB, policy string, hs []lb.Host, cfg lb.Config, rnd *sim.Rand) lb.Picker {
	t.Helper()
	b, ok := lb.Get(policy)
	require.True(t, ok, "policy %q is not registered", policy)
	if rnd == nil {
		rnd = sim.NewRand(1, 1)
	}
	p, err := b.Build(lb.BuildOptions{Hosts: hs, Rand: rnd, Config: cfg})
	require.NoError(t, err)
	return p
}

// Pick picks with the request hash key, failing the test on an error.
func Pick(t testing.TB, p lb.Picker, key uint64) int {
	t.Helper()
	h, err := p.Pick(lb.PickInfo{HashKey: key, Attempt: 1})
	require.NoError(t, err)
	return h
}
