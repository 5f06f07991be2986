package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadFile(t *testing.T) {
	doc, err := Load("testdata/minimal.yaml")
	require.NoError(t, err)
	assert.Equal(t, "minimal", doc.Scenario.Name)
	assert.Equal(t, "testdata/minimal.yaml", doc.Scenario.File)
}

func TestLoadLibrary(t *testing.T) {
	for _, name := range []string{"quickstart", "quickstart.yaml"} {
		doc, err := Load(name)
		require.NoError(t, err, name)
		assert.Equal(t, "quickstart", doc.Scenario.File)
		assert.Equal(t, "quickstart", doc.Scenario.Name)
		want, ok := LibraryFile("quickstart")
		require.True(t, ok)
		assert.Equal(t, want, doc.Scenario.Source)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("quickstrt")
	require.Error(t, err)
	assert.Equal(t, `scenario: no file or library scenario named "quickstrt" (see sim list); did you mean "quickstart"?`, err.Error())
	assert.ErrorIs(t, err, fs.ErrNotExist)

	_, err = Load("testdata/nope.yaml")
	assert.Equal(t, `scenario: no file or library scenario named "testdata/nope.yaml" (see sim list)`, err.Error())

	_, err = Load("testdata")
	assert.Equal(t, "scenario: testdata is a directory, not a scenario file", err.Error())

	path := t.TempDir() + "/bad.yaml"
	require.NoError(t, writeFile(path, "version: 1\nduration: 1m\nreplica: 2\n"))
	_, err = Load(path)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.Equal(t, path, list[0].File)
	assert.Equal(t, path+`:1:1: workloads: missing required field
`+path+`:1:1: services: missing required field
`+path+`:3:1: replica: unknown field "replica"; did you mean "replications"?`, err.Error())
}

func TestLibrary(t *testing.T) {
	lib := Library()
	require.NotEmpty(t, lib)
	var names []string
	for _, e := range lib {
		names = append(names, e.Name)
		assert.NotEmpty(t, e.Title, e.Name)
		assert.NotContains(t, e.Title, "\n")
	}
	assert.IsIncreasing(t, names)
	assert.Contains(t, names, "quickstart")

	// Every library scenario loads, without warnings, and expands.
	for _, e := range lib {
		t.Run(e.Name, func(t *testing.T) {
			doc, err := Load(e.Name)
			require.NoError(t, err)
			assert.Empty(t, doc.Warnings)
			_, err = doc.Expand()
			require.NoError(t, err)
		})
	}

	_, ok := LibraryFile("../library/quickstart")
	assert.False(t, ok)
	_, ok = LibraryFile("")
	assert.False(t, ok)
}

func TestTitle(t *testing.T) {
	assert.Equal(t, "First line.", title([]byte("description: |\n  First line.\n  Second.\n")))
	assert.Equal(t, "Plain", title([]byte("description: Plain\n")))
	assert.Equal(t, "", title([]byte("name: x\n")))
	assert.Equal(t, "", title([]byte("[")))
}

func TestErrorListCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nduration: 1m\n")
	for i := range 30 {
		fmt.Fprintf(&b, "field%d: x\n", i)
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, maxErrors)
	assert.Equal(t, "many.yaml:1:1: workloads: missing required field", list[0].Error())
	assert.Equal(t, `many.yaml:3:1: field0: unknown field "field0"; valid fields: bus, config_pushes, control_plane, deploys, description, duration, failures, limits, name, network, precision, random_failures, replications, report, seed, services, sweep, timeline, variants, version, warmup, workloads`, list[2].Error())
	// 2 missing lists and 30 unknown fields: 19 shown, 13 more, the first
	// of which is field17 on line 20.
	assert.Equal(t, "many.yaml:20:1: too many errors (13 more not shown)", list[maxErrors-1].Error())
	assert.True(t, errors.Is(err, ErrInvalid))
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "f.yaml", Line: 7, Col: 5, Path: "services[0].service_time.dist", Msg: `unknown distribution "expo"`, Hint: `did you mean "exponential"?`}
	assert.Equal(t, `f.yaml:7:5: services[0].service_time.dist: unknown distribution "expo"; did you mean "exponential"?`, e.Error())
	e.Hint, e.Path = "", ""
	assert.Equal(t, `f.yaml:7:5: unknown distribution "expo"`, e.Error())
	assert.ErrorIs(t, e, ErrInvalid)
	assert.ErrorIs(t, ErrorList{}, ErrInvalid)
}

func ExampleParse() {
	src := `version: 1
duration: 10m
workloads:
  - {name: web, arrival: {rate: 800/s}, target: checkout}
services:
  - name: checkout
    replica: 3
    service_time: {dist: expo, mean: 20ms}
`
	_, err := Parse("bad.yaml", []byte(src))
	fmt.Println(err)

	var list ErrorList
	if errors.As(err, &list) {
		fmt.Println(len(list), "errors; the first is at line", list[0].Line)
	}
	// Output:
	// bad.yaml:7:5: services[0].replica: unknown field "replica"; did you mean "replicas"?
	// bad.yaml:8:26: services[0].service_time.dist: unknown distribution "expo"; did you mean "exponential"?
	// 2 errors; the first is at line 7
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
