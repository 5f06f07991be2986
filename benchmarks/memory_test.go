package benchmarks

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heapGrowth runs fn and returns how much the live heap (HeapAlloc after a
// full GC) grew while the value fn returns is still reachable, and how many
// bytes fn allocated in all (TotalAlloc, garbage included).
func heapGrowth(t *testing.T, fn func(t *testing.T) any) (live int64, allocated uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep := fn(t)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), after.TotalAlloc - before.TotalAlloc
}

// TestMemoryDoesNotGrowWithCustomers checks DESIGN.md's rule that memory
// must not grow with the number of requests simulated: M/M/1 at rho = 0.9
// run for 100k and for 1M customers leaves live heaps (the models, or the
// results of the scenario run, still reachable) within 1 MiB of each other.
func TestMemoryDoesNotGrowWithCustomers(t *testing.T) {
	const small, large = 100_000, 1_000_000
	const slack = 1 << 20 // 1 MiB
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, customers int) any
	}{
		{"models", func(t *testing.T, customers int) any {
			m, err := newMM1Models(benchInterarrival, benchService, benchSeed)
			require.NoError(t, err)
			require.NoError(t, m.s.RunUntil(durationFor(customers, benchLambdaPerS)))
			return m
		}},
		{"scenario", func(t *testing.T, customers int) any {
			w, err := runMM1Scenario(benchInterarrival, benchService, durationFor(customers, benchLambdaPerS), benchSeed)
			require.NoError(t, err)
			return w
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			liveS, allocS := heapGrowth(t, func(t *testing.T) any { return tc.run(t, small) })
			liveL, allocL := heapGrowth(t, func(t *testing.T) any { return tc.run(t, large) })
			t.Logf("%d customers: live heap %+d B, allocated %d B; %d customers: live heap %+d B, allocated %d B",
				small, liveS, allocS, large, liveL, allocL)
			assert.Less(t, liveL-liveS, int64(slack), "live heap grows with the number of customers")
			assert.Less(t, int64(allocL)-int64(allocS), int64(slack), "allocation grows with the number of customers")
		})
	}
}
