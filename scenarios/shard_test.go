package scenarios_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/report"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

// TestShardsMergeToTheWholeRun runs shipped scenarios whole and in 1, 3
// and 7 shards (more shards than tasks), encodes and decodes
// every part as a file would, merges them in reverse order, and requires
// every rendered file to be byte-identical to the whole run's.
func TestShardsMergeToTheWholeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three scenarios five times")
	}
	for _, name := range []string{"slow-pod", "broker-failover", "pod-crash-discovery-lag", "load-sweep"} {
		doc, err := scenarios.Load(name)
		require.NoError(t, err)
		opts := scenarios.Options{Workers: 2, Replications: 2, Version: "test"}
		whole, err := scenarios.Run(context.Background(), doc, opts)
		require.NoError(t, err)
		want, err := report.Render(whole)
		require.NoError(t, err)
		for _, n := range []int{1, 3, 7} {
			var parts []*results.Part
			for i := n - 1; i >= 0; i-- {
				o := opts
				o.Shard, o.Shards = i, n
				p, err := scenarios.RunPart(context.Background(), doc, o)
				require.NoError(t, err)
				data, err := p.Encode()
				require.NoError(t, err)
				back, err := results.DecodePart(data)
				require.NoError(t, err)
				parts = append(parts, back)
			}
			merged, err := results.Merge(parts)
			require.NoError(t, err, "%s in %d shards", name, n)
			got, err := report.Render(merged)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for k := range want {
				assert.Equal(t, want[k].Name, got[k].Name)
				assert.True(t, string(want[k].Data) == string(got[k].Data), "%s in %d shards: %s differs", name, n, want[k].Name)
			}
		}
	}
}

func TestMergeRefusesIncompleteOrMixedParts(t *testing.T) {
	doc, err := scenarios.Load("quickstart")
	require.NoError(t, err)
	run := func(i, n int, seed uint64) *results.Part {
		p, err := scenarios.RunPart(context.Background(), doc, scenarios.Options{Workers: 1, Replications: 2, Shard: i, Shards: n, Seed: &seed})
		require.NoError(t, err)
		return p
	}
	a, b := run(0, 2, 1), run(1, 2, 1)
	_, err = results.Merge([]*results.Part{a})
	assert.ErrorContains(t, err, "is in no part: a shard is missing (the parts say 2 shards)")
	_, err = results.Merge([]*results.Part{a, a, b})
	assert.ErrorContains(t, err, "is in part 0/2 and in part 0/2")
	_, err = results.Merge([]*results.Part{a, run(1, 2, 2)})
	assert.ErrorContains(t, err, "is of another run")
	_, err = results.Merge([]*results.Part{a, run(1, 3, 1)})
	assert.ErrorContains(t, err, "different shardings")
	_, err = results.DecodePart([]byte("not a part"))
	assert.ErrorContains(t, err, "not a meshsim part file")
	_, err = scenarios.RunPart(context.Background(), doc, scenarios.Options{Shard: 2, Shards: 2})
	assert.ErrorContains(t, err, "shards are numbered 0 to 1")
}
