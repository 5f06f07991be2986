package scenarios

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

const twoVariants = `version: 1
name: limits
seed: 3
duration: 10s
replications: 3
limits: {max_events: 500}
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services: [{name: api, replicas: 2, service_time: {dist: exponential, mean: 5ms}}]
variants:
  - {name: a, set: {services.api.sidecar.lb.policy: round_robin}}
  - {name: b, set: {services.api.sidecar.lb.policy: random}}
`

func TestRunReportsTheFirstErrorInTaskOrder(t *testing.T) {
	doc, err := Parse("limits.yaml", []byte(twoVariants))
	require.NoError(t, err)
	var msgs []string
	for _, workers := range []int{1, 2, 4} {
		_, err := Run(context.Background(), doc, Options{Workers: workers})
		require.Error(t, err)
		assert.True(t, errors.Is(err, sim.ErrMaxEvents), err)
		msgs = append(msgs, err.Error())
	}
	assert.Equal(t, msgs[0], msgs[1])
	assert.Equal(t, msgs[0], msgs[2])
	assert.Contains(t, msgs[0], "scenario limits, variant a, seed 3, replication 0: sim: stopped at the event limit max_events=500")
	assert.Contains(t, msgs[0], "raise limits.max_events (now 500) or shorten duration")
}

func TestRunRejectsTooManyReplications(t *testing.T) {
	doc, err := Parse("limits.yaml", []byte(twoVariants))
	require.NoError(t, err)
	_, err = Run(context.Background(), doc, Options{Replications: MaxReplications + 1})
	assert.EqualError(t, err, "scenario: 10001 replications requested; the limit is 10000")
}

func TestRunStopsOnCancel(t *testing.T) {
	doc, err := Parse("limits.yaml", []byte(twoVariants))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Run(ctx, doc, Options{Workers: 2})
	assert.ErrorIs(t, err, context.Canceled)
}
