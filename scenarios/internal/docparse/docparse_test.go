package docparse

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const src = `package scenarios

import "time"

// Scenario is the root.
type Scenario struct {
	// Name names it.
	Name     string   ` + "`yaml:\"name\"`" + `
	Services []Service ` + "`yaml:\"services\"`" + ` // the services
	Wait     Duration ` + "`yaml:\"wait\"`" + `
	// File is not a YAML field.
	File string ` + "`yaml:\"-\"`" + `
	hidden int
}

// Service is reached through a list.
type Service struct {
	Policy *Policy ` + "`yaml:\"policy\"`" + ` // through a pointer
}

// Policy is reached through a pointer.
type Policy struct{ Timeout time.Duration }

// Duration is a span.
type Duration time.Duration

// Options is not reachable from Scenario.
type Options struct {
	// Workers is not documented.
	Workers int
}
`

func TestParse(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "types.go"), []byte(src), 0o644))
	// The generated file is skipped, even when it does not parse.
	require.NoError(t, os.WriteFile(filepath.Join(dir, Output), []byte("<<<<<<< HEAD\n"), 0o644))
	docs, err := Parse(dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"Scenario":          "Scenario is the root.",
		"Scenario.Name":     "Name names it.",
		"Scenario.Services": "the services",
		"Service":           "Service is reached through a list.",
		"Service.Policy":    "through a pointer",
		"Policy":            "Policy is reached through a pointer.",
		"Duration":          "Duration is a span.",
	}, docs)

	a, err := Generate(dir)
	require.NoError(t, err)
	b, err := Generate(dir)
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
	assert.Contains(t, string(a), "DO NOT EDIT")
}

func TestParseNeedsRoot(t *testing.T) {
	_, err := Parse(t.TempDir())
	assert.ErrorContains(t, err, "no type Scenario")
}
