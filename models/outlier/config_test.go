package outlier_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/sim"
)

func TestDefaults(t *testing.T) {
	d := outlier.Defaults()
	assert.Equal(t, outlier.Config{}.WithDefaults(), d.WithDefaults(), "zero means Envoy's default")
	f := d.WithDefaults()
	assert.Equal(t, 5, f.Consecutive5xx)
	assert.Equal(t, 100, f.EnforcingConsecutive5xx.Or(-1))
	assert.Equal(t, 5, f.ConsecutiveGatewayFailure)
	assert.Equal(t, 0, f.EnforcingConsecutiveGatewayFailure.Or(-1))
	assert.Equal(t, 10*time.Second, f.Interval)
	assert.Equal(t, 30*time.Second, f.BaseEjectionTime)
	assert.Equal(t, 300*time.Second, f.MaxEjectionTime)
	assert.Equal(t, time.Duration(0), f.MaxEjectionTimeJitter)
	assert.Equal(t, 10, f.MaxEjectionPercent.Or(-1))
	assert.False(t, f.AlwaysEjectOneHost)
	assert.Equal(t, 1900, f.SuccessRateStdevFactor)
	assert.Equal(t, 100, f.EnforcingSuccessRate.Or(-1))
	assert.Equal(t, 5, f.SuccessRateMinimumHosts)
	assert.Equal(t, 100, f.SuccessRateRequestVolume)
	assert.Equal(t, 85, f.FailurePercentageThreshold)
	assert.Equal(t, 0, f.EnforcingFailurePercentage.Or(-1))
	assert.Equal(t, 5, f.FailurePercentageMinimumHosts)
	assert.Equal(t, 50, f.FailurePercentageRequestVolume)
	assert.Equal(t, outlier.KindSet(0), f.Disabled)

	// max_ejection_time follows a larger base when unset.
	assert.Equal(t, 400*time.Second, outlier.Config{BaseEjectionTime: 400 * time.Second}.WithDefaults().MaxEjectionTime)

	is := outlier.IstioDefaults()
	assert.Equal(t, 0, is.EnforcingSuccessRate.Or(-1))
	assert.Equal(t, 100, is.EnforcingConsecutive5xx.Or(-1))
	assert.Equal(t, 0, is.EnforcingConsecutiveGatewayFailure.Or(-1))
	assert.Equal(t, 10, is.MaxEjectionPercent.Or(-1))

	g := outlier.GRPCDefaults()
	assert.True(t, g.Disabled.Has(outlier.KindConsecutive5xx))
	assert.True(t, g.Disabled.Has(outlier.KindConsecutiveGatewayFailure))
	assert.False(t, g.Disabled.Has(outlier.KindSuccessRate))
	assert.Equal(t, 100, g.EnforcingSuccessRate.Or(-1))
	assert.Equal(t, 0, g.EnforcingFailurePercentage.Or(-1))
	assert.True(t, g.AlwaysEjectOneHost)

	for _, c := range []outlier.Config{d, is, g, {}} {
		assert.NoError(t, c.Validate())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  outlier.Config
		want string
	}{
		{"negative consecutive", outlier.Config{Consecutive5xx: -1}, "consecutive_5xx must be >= 0, got -1"},
		{"negative volume", outlier.Config{FailurePercentageRequestVolume: -3}, "failure_percentage_request_volume must be >= 0, got -3"},
		{"threshold over 100", outlier.Config{FailurePercentageThreshold: 101}, "failure_percentage_threshold must be in [0, 100], got 101"},
		{"percent over 100", outlier.Config{MaxEjectionPercent: outlier.Pct(101)}, "max_ejection_percent must be in [0, 100], got 101"},
		{"negative enforcing", outlier.Config{EnforcingSuccessRate: outlier.Pct(-1)}, "enforcing_success_rate must be in [0, 100], got -1"},
		{"negative interval", outlier.Config{Interval: -time.Second}, "interval must be in [0, 438000h0m0s], got -1s"},
		{"huge jitter", outlier.Config{MaxEjectionTimeJitter: outlier.MaxSpan + 1}, "max_ejection_time_jitter must be in [0, 438000h0m0s], got 438000h0m0.000000001s"},
		{"max below base", outlier.Config{BaseEjectionTime: time.Minute, MaxEjectionTime: 30 * time.Second},
			"max_ejection_time 30s is smaller than base_ejection_time 1m0s"},
		{"max below default base", outlier.Config{MaxEjectionTime: 10 * time.Second}, "max_ejection_time 10s is smaller than base_ejection_time 30s"},
		{"unknown detector", outlier.Config{Disabled: 1 << 6}, "disabled holds unknown detectors 0x40"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err)
			assert.True(t, errors.Is(err, outlier.ErrConfig))
			assert.Equal(t, "outlier: invalid configuration: "+tc.want, err.Error())
			_, err = outlier.New(sim.NewScheduler(sim.Config{}), sim.NewRand(1, 0), 3, tc.cfg)
			assert.ErrorIs(t, err, outlier.ErrConfig)
		})
	}
}

func TestNewRejects(t *testing.T) {
	s, rnd := sim.NewScheduler(sim.Config{}), sim.NewRand(1, 0)
	_, err := outlier.New(nil, rnd, 3, outlier.Config{})
	assert.ErrorIs(t, err, outlier.ErrConfig)
	_, err = outlier.New(s, nil, 3, outlier.Config{})
	assert.ErrorIs(t, err, outlier.ErrConfig)
	_, err = outlier.New(s, rnd, -1, outlier.Config{})
	assert.ErrorIs(t, err, outlier.ErrConfig)
	d, err := outlier.New(s, rnd, 0, outlier.Config{})
	require.NoError(t, err)
	d.Start()
	require.NoError(t, s.RunUntil(sim.Time(time.Minute)))
	assert.Equal(t, 0, d.NumEjected())
}

func TestNames(t *testing.T) {
	assert.Equal(t, "consecutive_gateway_failure", outlier.KindConsecutiveGatewayFailure.String())
	assert.Equal(t, "Kind(7)", outlier.Kind(7).String())
	assert.Equal(t, "local_origin_failure", outlier.LocalOriginFailure.String())
	assert.Equal(t, "default", outlier.Percent{}.String())
	assert.Equal(t, "0%", outlier.Pct(0).String())
	assert.False(t, outlier.Percent{}.IsSet())
	assert.True(t, outlier.Pct(0).IsSet())
}
