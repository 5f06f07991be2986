// Package panictest checks that a broken invariant inside a run comes back
// from scenarios.Run as an error naming what reproduces it. It lives in its
// own package because it registers a load-balancing policy, which would
// otherwise appear in other tests' lists of valid policies.
package panictest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/scenarios"
)

// panicky is a test-only policy whose picker breaks an invariant.
type panicky struct{}

func (panicky) Build(lb.BuildOptions) (lb.Picker, error) { return panicky{}, nil }
func (panicky) Pick(lb.PickInfo) (int, error)            { panic("picker invariant broken") }

func init() { lb.Register("panic_for_test", panicky{}) }

func TestRunTurnsPanicsIntoErrorsWithTheSeed(t *testing.T) {
	doc, err := scenarios.Parse("p.yaml", []byte(`version: 1
name: p
seed: 11
duration: 1s
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}, sidecar: {lb: {policy: panic_for_test}}}]
`))
	require.NoError(t, err)
	_, err = scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 2})
	require.ErrorIs(t, err, scenarios.ErrInternal)
	assert.Contains(t, err.Error(), "scenario p, variant baseline, seed 11, replication 0: picker invariant broken")
}
