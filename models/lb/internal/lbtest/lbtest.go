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

// WarmHost is a Host that also reports when it entered slow start, with
// the signature of lb.Warming. With Warming false it reports none.
type WarmHost struct {
	Host
	Since   sim.Time
	Warming bool
}

// WarmingSince implements lb.Warming.
func (h *WarmHost) WarmingSince() (sim.Time, bool) { return h.Since, h.Warming }

// Drive makes n picks with p, the i-th at time now(i), and returns them.
// After each pick the picked host gets one more active request, and host
// i%len(hs) one fewer (if it has any), so that a least-request picker sees
// a load that changes deterministically, as in a simulation. The hosts must
// be *Host or *WarmHost.
func Drive(t testing.TB, p lb.Picker, hs []lb.Host, n int, now func(i int) sim.Time) []int {
	t.Helper()
	active := func(h lb.Host) *int {
		switch h := h.(type) {
		case *Host:
			return &h.Active
		case *WarmHost:
			return &h.Active
		}
		t.Fatalf("lbtest: Drive needs *Host or *WarmHost, got %T", h)
		return nil
	}
	seq := make([]int, n)
	for i := range seq {
		var at sim.Time
		if now != nil {
			at = now(i)
		}
		h, err := p.Pick(lb.PickInfo{Attempt: 1, Now: at})
		require.NoError(t, err)
		seq[i] = h
		*active(hs[h])++
		if a := active(hs[i%len(hs)]); *a > 0 {
			*a--
		}
	}
	return seq
}
