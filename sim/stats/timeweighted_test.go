package stats

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

// twOp is one call on a TimeWeighted in a table-driven test.
type twOp struct {
	kind string // "set", "add", "reset"
	at   sim.Time
	v    int64
}

func apply(w *TimeWeighted, ops []twOp) {
	for _, op := range ops {
		switch op.kind {
		case "set":
			w.Set(op.at, op.v)
		case "add":
			w.Add(op.at, op.v)
		case "reset":
			w.Reset(op.at)
		default:
			panic("unknown op " + op.kind)
		}
	}
}

func TestTimeWeighted(t *testing.T) {
	tests := []struct {
		name      string
		ops       []twOp
		now       sim.Time
		wantMean  float64 // NaN for an empty window
		wantValue int64
	}{
		{"zero-value", nil, 10, 0, 0},
		{"zero-value-empty-window", nil, 0, math.NaN(), 0},
		{"constant", []twOp{{"set", 0, 5}}, 100, 5, 5},
		{"step", []twOp{{"set", 0, 2}, {"set", 10, 4}}, 20, 3, 4},
		{"set-later", []twOp{{"set", 10, 4}}, 20, 2, 4},
		{"adds-same-instant", []twOp{{"add", 5, 1}, {"add", 5, 1}, {"add", 15, -2}}, 20, 1, 0},
		{"queue", []twOp{{"add", 0, 1}, {"add", 1, 1}, {"add", 2, -1}, {"add", 4, -1}}, 4, 1.25, 0},
		{"current-value-counts-until-now", []twOp{{"set", 0, 1}, {"set", 10, 3}}, 40, 2.5, 3},
		{"warmup-deleted", []twOp{{"set", 0, 100}, {"set", 10, 1}, {"reset", 30, 0}}, 40, 1, 1},
		{"reset-keeps-value", []twOp{{"set", 0, 7}, {"reset", 50, 0}, {"add", 60, 1}}, 70, 7.5, 8},
		{"reset-empty-window", []twOp{{"set", 0, 7}, {"reset", 50, 0}}, 50, math.NaN(), 7},
		{"negative", []twOp{{"set", 0, -3}, {"set", 10, 3}}, 15, -1, 3},
		{"negative-cancels", []twOp{{"set", 0, -3}, {"set", 10, 3}}, 20, 0, 3},
		{"max-value-forever", []twOp{{"set", 0, math.MaxInt64}}, sim.MaxTime, math.MaxInt64, math.MaxInt64},
		{"min-value-forever", []twOp{{"set", 0, math.MinInt64}}, sim.MaxTime, math.MinInt64, math.MinInt64},
		{"extremes-cancel", []twOp{{"set", 0, math.MaxInt64}, {"set", 1 << 61, -math.MaxInt64}}, 1 << 62, 0, -math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w TimeWeighted
			apply(&w, tt.ops)
			got := w.Mean(tt.now)
			if math.IsNaN(tt.wantMean) {
				assert.True(t, math.IsNaN(got), "got %v", got)
			} else {
				assert.Equal(t, tt.wantMean, got)
			}
			assert.Equal(t, tt.wantValue, w.Value())
			// Mean does not change the state.
			again := w.Mean(tt.now)
			assert.Equal(t, math.Float64bits(got), math.Float64bits(again))
		})
	}
}

// TestTimeWeightedExact compares against a big-integer reference on random
// piecewise-constant paths with large values, where a float64 or int64
// accumulator would lose precision or overflow.
func TestTimeWeightedExact(t *testing.T) {
	r := sim.NewRand(3, 4)
	for trial := range 50 {
		var w TimeWeighted
		area := new(big.Int)
		var now, last, start sim.Time
		var v int64
		for i := range 200 {
			now += sim.Time(r.IntN(1 << 50))
			area.Add(area, new(big.Int).Mul(big.NewInt(v), big.NewInt(int64(now-last))))
			last = now
			switch {
			case i == 100:
				w.Reset(now)
				area.SetInt64(0)
				start = now
			case r.Bernoulli(0.5):
				v = int64(r.Uint64()) >> uint(r.IntN(20)) // large, either sign
				w.Set(now, v)
			default:
				d := int64(r.IntN(1000)) - 500
				v += d
				w.Add(now, d)
			}
		}
		end := now + sim.Time(r.IntN(1<<40)) + 1
		area.Add(area, new(big.Int).Mul(big.NewInt(v), big.NewInt(int64(end-last))))
		want, _ := new(big.Rat).SetFrac(area, big.NewInt(int64(end-start))).Float64()
		got := w.Mean(end)
		require.InEpsilon(t, want, got, 1e-15, "trial %d", trial)
		require.Equal(t, v, w.Value())
		require.Equal(t, start, w.Start())
	}
}

func TestTimeWeightedPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(w *TimeWeighted)
	}{
		{"set-in-past", func(w *TimeWeighted) { w.Set(5, 1) }},
		{"add-in-past", func(w *TimeWeighted) { w.Add(5, 1) }},
		{"reset-in-past", func(w *TimeWeighted) { w.Reset(5) }},
		{"mean-in-past", func(w *TimeWeighted) { w.Mean(5) }},
		{"add-overflow", func(w *TimeWeighted) { w.Set(20, math.MaxInt64); w.Add(20, 1) }},
		{"add-underflow", func(w *TimeWeighted) { w.Set(20, math.MinInt64); w.Add(20, -1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w TimeWeighted
			w.Set(10, 1)
			assert.Panics(t, func() { tt.f(&w) })
		})
	}
}

func TestTimeWeightedDoesNotAllocate(t *testing.T) {
	var w TimeWeighted
	now := sim.Time(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 3
		w.Add(now, 1)
		w.Set(now+1, 2)
		_ = w.Mean(now + 2)
	})
	assert.Zero(t, allocs)
}
