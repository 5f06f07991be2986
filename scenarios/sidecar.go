package scenarios

import (
	"time"

	"github.com/meshsim/meshsim/models/sidecar"
)

// Policy resolves the sidecar block into the policy models/sidecar runs,
// with its defaults filled and validated.
func (sc Sidecar) Policy() (sidecar.Policy, error) {
	r := sc.Retries
	names := r.RetryOn
	if len(names) == 0 && r.Attempts > 0 {
		names = []string{"5xx"}
	}
	on, err := sidecar.ParseRetryOn(names)
	if err != nil {
		return sidecar.Policy{}, err
	}
	p := sidecar.Policy{
		LB:            sc.LB.Policy,
		LBConfig:      sc.LB.Config(),
		Workers:       sc.Workers,
		RouteTimeout:  time.Duration(sc.Timeout),
		PerTryTimeout: time.Duration(sc.PerTryTimeout),
		MaxRequests:   sc.CircuitBreakers.MaxRequests,
		Retries: sidecar.RetryPolicy{
			NumRetries:            r.Attempts,
			RetryOn:               on,
			BaseInterval:          time.Duration(r.BaseInterval),
			MaxInterval:           time.Duration(r.MaxInterval),
			MaxRetries:            sc.CircuitBreakers.MaxRetries,
			PreviousHosts:         r.PreviousHosts,
			HostSelectionAttempts: r.HostSelectionAttempts,
		},
	}
	if b := r.Budget; b != nil {
		p.Retries.Budget = &sidecar.RetryBudget{Percent: b.Percent, MinConcurrency: b.MinRetryConcurrency}
	}
	err = p.Validate()
	return p, err
}
