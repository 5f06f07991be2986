package scenarios

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExplainGolden pins the resolved configuration of a scenario that uses
// presets, overrides and variants. Review a diff of the golden like code:
// it is a change in what runs.
func TestExplainGolden(t *testing.T) {
	doc, err := Load("testdata/explain.yaml")
	require.NoError(t, err)
	got, err := doc.Explain()
	require.NoError(t, err)
	golden := filepath.Join("testdata", "explain.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}
