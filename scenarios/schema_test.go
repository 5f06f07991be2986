package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/meshsim/meshsim/scenarios/internal/docparse"
)

// The validator below handles exactly the JSON Schema keywords Schema
// emits; TestSchemaKeywords keeps the two in step.

// schemaKeywords are the keywords the validator implements, and those it
// ignores because they only annotate.
var (
	schemaKeywords = []string{
		"$ref", "type", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "maxLength",
		"properties", "patternProperties", "additionalProperties", "required", "minProperties", "propertyNames",
		"items", "minItems", "oneOf", "allOf", "if", "then",
	}
	annotationKeywords = []string{"$schema", "$defs", "title", "description", "default"}
)

// validator checks values against one root schema.
type validator struct {
	root obj
}

func loadSchema(t *testing.T) validator {
	t.Helper()
	data, err := Schema()
	require.NoError(t, err)
	var root obj
	require.NoError(t, json.Unmarshal(data, &root))
	return validator{root}
}

// validate returns the problems with v at path; none means v is valid.
func (vd validator) validate(s obj, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	if r, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(r, "#/$defs/")
		def, ok := vd.root["$defs"].(obj)[name].(obj)
		if !found || !ok {
			fail("unresolvable $ref %q", r)
			return errs
		}
		errs = append(errs, vd.validate(def, v, path)...)
	}
	if typ, ok := s["type"].(string); ok && !hasType(v, typ) {
		fail("expected %s, got %T %v", typ, v, v)
		return errs
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return jsonEqual(e, v) }) {
		fail("%v is not one of %v", v, enum)
	}
	if str, ok := v.(string); ok {
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if n, ok := s["maxLength"].(float64); ok && float64(len([]rune(str))) > n {
			fail("longer than %g characters", n)
		}
	}
	if f, ok := number(v); ok {
		if m, ok := s["minimum"].(float64); ok && f < m {
			fail("%v is below the minimum %g", v, m)
		}
		if m, ok := s["maximum"].(float64); ok && f > m {
			fail("%v is above the maximum %g", v, m)
		}
		if m, ok := s["exclusiveMinimum"].(float64); ok && f <= m {
			fail("%v is not above %g", v, m)
		}
	}
	if m, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(obj)
		patterns, _ := s["patternProperties"].(obj)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			kpath := path + "." + k
			matched := false
			if ps, ok := props[k].(obj); ok {
				matched = true
				errs = append(errs, vd.validate(ps, m[k], kpath)...)
			}
			for p, ps := range patterns {
				if regexp.MustCompile(p).MatchString(k) {
					matched = true
					errs = append(errs, vd.validate(ps.(obj), m[k], kpath)...)
				}
			}
			if pn, ok := s["propertyNames"].(obj); ok {
				errs = append(errs, vd.validate(pn, k, kpath)...)
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap && !matched {
					fail("unknown field %q", k)
				}
			case obj:
				if !matched {
					errs = append(errs, vd.validate(ap, m[k], kpath)...)
				}
			}
		}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := m[r.(string)]; !ok {
					fail("missing required field %q", r)
				}
			}
		}
		if n, ok := s["minProperties"].(float64); ok && float64(len(m)) < n {
			fail("fewer than %g fields", n)
		}
	}
	if list, ok := v.([]any); ok {
		if n, ok := s["minItems"].(float64); ok && float64(len(list)) < n {
			fail("fewer than %g items", n)
		}
		if is, ok := s["items"].(obj); ok {
			for i, e := range list {
				errs = append(errs, vd.validate(is, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, vd.validate(sub.(obj), v, path)...)
		}
	}
	if cond, ok := s["if"].(obj); ok && len(vd.validate(cond, v, path)) == 0 {
		if then, ok := s["then"].(obj); ok {
			errs = append(errs, vd.validate(then, v, path)...)
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		var matched []int
		var why []string
		for i, sub := range one {
			if e := vd.validate(sub.(obj), v, path); len(e) == 0 {
				matched = append(matched, i)
			} else {
				why = append(why, strings.Join(e, "; "))
			}
		}
		if len(matched) != 1 {
			fail("matches %d of the oneOf schemas, not 1 (%s)", len(matched), strings.Join(why, " | "))
		}
	}
	return errs
}

// number returns v as a float64 if it is a number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		f, ok := number(v)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

// jsonEqual compares as JSON Schema's enum does: numbers by value.
func jsonEqual(a, b any) bool {
	fa, aok := number(a)
	fb, bok := number(b)
	if aok || bok {
		return aok && bok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// yamlValue decodes YAML text into the values a JSON Schema describes, as
// an editor does before validating: merge keys and aliases resolved.
func yamlValue(t *testing.T, text []byte) any {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal(text, &v))
	return v
}

// walkSchema calls f on every schema object inside s, s included.
func walkSchema(s obj, path string, f func(s obj, path string)) {
	f(s, path)
	for k, v := range s {
		switch k {
		case "properties", "patternProperties", "$defs":
			for name, sub := range v.(obj) {
				walkSchema(sub.(obj), path+"/"+k+"/"+name, f)
			}
		case "items", "additionalProperties", "propertyNames", "if", "then":
			if sub, ok := v.(obj); ok {
				walkSchema(sub, path+"/"+k, f)
			}
		case "oneOf", "allOf":
			for i, sub := range v.([]any) {
				walkSchema(sub.(obj), fmt.Sprintf("%s/%s/%d", path, k, i), f)
			}
		}
	}
}

func TestSchemaIsDeterministicJSON(t *testing.T) {
	a, err := Schema()
	require.NoError(t, err)
	b, err := Schema()
	require.NoError(t, err)
	require.True(t, json.Valid(a))
	assert.True(t, bytes.Equal(a, b), "two calls gave different bytes")
	var root obj
	require.NoError(t, json.Unmarshal(a, &root))
	assert.Equal(t, schemaDraft, root["$schema"])
}

// TestSchemaKeywords checks that the schema uses only keywords the test
// validator implements, that every mapping rejects unknown fields as the
// decoder does, that every pattern compiles and that defaults are valid.
func TestSchemaKeywords(t *testing.T) {
	vd := loadSchema(t)
	walkSchema(vd.root, "#", func(s obj, path string) {
		for k := range s {
			assert.True(t, slices.Contains(schemaKeywords, k) || slices.Contains(annotationKeywords, k), "%s: keyword %q", path, k)
		}
		if s["type"] == "object" && s["propertyNames"] == nil {
			assert.Equal(t, false, s["additionalProperties"], "%s: additionalProperties", path)
		}
		if p, ok := s["pattern"].(string); ok {
			_, err := regexp.Compile(p)
			assert.NoError(t, err, path)
		}
		if d, ok := s["default"]; ok {
			plain := obj{}
			for k, v := range s {
				if k != "default" {
					plain[k] = v
				}
			}
			assert.Empty(t, vd.validate(plain, d, path), "%s: default %v", path, d)
		}
	})
}

// shippedScenarios returns the library's files and the valid ones of
// testdata (those Parse accepts), by path.
func shippedScenarios(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, glob := range []string{"library/*.yaml", "testdata/*.yaml"} {
		paths, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			if _, err := Parse(p, data); err != nil {
				require.True(t, strings.HasPrefix(p, "testdata/"), "%s: %v", p, err)
				continue
			}
			files[p] = data
		}
	}
	require.GreaterOrEqual(t, len(files), 10)
	return files
}

func TestSchemaAcceptsShippedScenarios(t *testing.T) {
	vd := loadSchema(t)
	files := shippedScenarios(t)
	files["decode_test.go validYAML"] = []byte(validYAML)
	for path, data := range files {
		t.Run(path, func(t *testing.T) {
			assert.Empty(t, vd.validate(vd.root, yamlValue(t, data), "$"))
		})
	}
}

// TestSchemaRejects checks malformed scenarios, each a change to a valid
// one, against the schema; Parse rejects them all too.
func TestSchemaRejects(t *testing.T) {
	vd := loadSchema(t)
	const base = `version: 1
duration: 1m
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services:
  - name: api
    queue: 10
    service_time: {dist: exponential, mean: 5ms}
`
	require.Empty(t, vd.validate(vd.root, yamlValue(t, []byte(base)), "$"))
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "queue: 10", "queu: 10", `unknown field "queu"`},
		{"missing version", "version: 1\n", "", `missing required field "version"`},
		{"unsupported version", "version: 1", "version: 2", "not one of"},
		{"workload without target or publish", "target: api}]", "}]", "matches 0 of the oneOf"},
		{"no workloads", "workloads: [{name: web, arrival: {rate: 100/s}, target: api}]", "workloads: []", "fewer than 1 items"},
		{"duration without unit", "duration: 1m", "duration: 60", "expected string"},
		{"negative duration", "duration: 1m", "duration: -1m", "does not match"},
		{"rate without unit", "rate: 100/s", "rate: 100", "matches 0 of the oneOf"},
		{"rate unit m", "rate: 100/s", "rate: 100/m", "matches 0 of the oneOf"},
		{"zero rate", "rate: 100/s", "rate: 0/s", "matches 0 of the oneOf"},
		{"queue word", "queue: 10", "queue: infinite", "matches 0 of the oneOf"},
		{"negative queue", "queue: 10", "queue: -1", "matches 0 of the oneOf"},
		{"status", "queue: 10", "queue: 10\n    errors: {probability: 0.1, status: 404}", "matches 0 of the oneOf"},
		{"probability", "queue: 10", "queue: 10\n    errors: {probability: 1.5}", "above the maximum"},
		{"unknown distribution", "dist: exponential", "dist: poisson", "matches 0 of the oneOf"},
		{"parameter of another distribution", "mean: 5ms}", "mean: 5ms, sigma: 1}", "matches 0 of the oneOf"},
		{"two forms", "{dist: exponential, mean: 5ms}", "{dist: lognormal, mean: 5ms, sigma: 0.5}", "matches 0 of the oneOf"},
		{"mean and rate", "mean: 5ms}", "mean: 5ms, rate: 10/s}", "matches 0 of the oneOf"},
		{"empirical without points", "{dist: exponential, mean: 5ms}", "{dist: empirical}", "matches 0 of the oneOf"},
		{"service time missing", "    service_time: {dist: exponential, mean: 5ms}\n", "", `missing required field "service_time"`},
		{"replicas zero", "queue: 10", "queue: 10\n    replicas: 0", "below the minimum"},
		{"replicas text", "queue: 10", "queue: 10\n    replicas: \"3\"", "expected integer"},
		{"name", "name: api", "name: API", "does not match"},
		{"lb policy", "queue: 10", "queue: 10\n    sidecar: {lb: {policy: round-robin}}", "not one of"},
		{"retry_on", "queue: 10", "queue: 10\n    sidecar: {retries: {attempts: 2, retry_on: [5xx, 4xx]}}", "not one of"},
		{"route match", "queue: 10", "queue: 10\n    routes: [{match: checkout, to: api}]", "does not match"},
		{"route to and split", "queue: 10", "queue: 10\n    routes: [{match: /, to: api, split: [{to: api, weight: 1}]}]", "matches 2 of the oneOf"},
		{"call step empty", "queue: 10", "queue: 10\n    calls: [{wait: 1}]", "matches 0 of the oneOf"},
		{"slow failure without factor", "services:", "failures: [{at: 1s, kind: slow, target: \"api[0]\"}]\nservices:", `missing required field "factor"`},
		{"failure target", "services:", "failures: [{kind: errors, target: \"api[x]\"}]\nservices:", "does not match"},
		{"variant path", "services:", "variants: [{name: v, set: {services..replicas: 2}}]\nservices:", "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(base, tc.old, tc.new, 1)
			require.NotEqual(t, base, text)
			_, err := Parse("bad.yaml", []byte(text))
			require.Error(t, err, "Parse accepts it, so the schema should too")
			errs := vd.validate(vd.root, yamlValue(t, []byte(text)), "$")
			require.NotEmpty(t, errs)
			assert.Contains(t, strings.Join(errs, "\n"), tc.want)
		})
	}
}

// TestSchemaRulesNameFields checks that every rule names a field of a
// scenario type: a renamed field must not leave its rule behind.
func TestSchemaRulesNameFields(t *testing.T) {
	fields := map[string]bool{}
	types := map[string]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || types[t.Name()] {
			return
		}
		types[t.Name()] = true
		for _, f := range fieldsOf(t) {
			sf := t.Field(f.index)
			fields[t.Name()+"."+sf.Name] = true
			visit(sf.Type)
		}
	}
	visit(reflect.TypeFor[Scenario]())
	for key := range fieldRules {
		assert.True(t, fields[key], "fieldRules[%q] names no field", key)
	}
	for name := range typeRules {
		assert.True(t, types[name], "typeRules[%q] names no type", name)
	}
	for name := range distForms {
		assert.Contains(t, distNames(), name, "distForms")
	}
}

// TestDocsAreGenerated fails when schema_docs.go is stale: run
// go generate ./scenarios/ after changing a scenario type's comments.
func TestDocsAreGenerated(t *testing.T) {
	want, err := docparse.Generate(".")
	require.NoError(t, err)
	got, err := os.ReadFile(docparse.Output)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "%s is stale: run go generate ./scenarios/", docparse.Output)
}

// TestReferenceIsGenerated fails when docs/scenario.md is stale: run
// go generate ./scenarios/ after changing a scenario type or its comments.
func TestReferenceIsGenerated(t *testing.T) {
	got, err := os.ReadFile("../docs/scenario.md")
	require.NoError(t, err)
	want := Reference()
	assert.True(t, bytes.Equal(want, Reference()), "two calls gave different bytes")
	assert.True(t, bytes.Equal(want, got), "docs/scenario.md is stale: run go generate ./scenarios/")
}

// TestReferenceDefaults checks defaults read from doc comments, and that
// one that is not a value of the field is left out.
func TestReferenceDefaults(t *testing.T) {
	dur, boolean := reflect.TypeFor[Duration](), reflect.TypeFor[bool]()
	for _, tc := range []struct {
		typ       reflect.Type
		doc, want string
	}{
		{dur, "default 25ms", "`25ms`"},
		{dur, "Default none.", "`none`"},
		{dur, "default 1h (Envoy)", "`1h` (Envoy)"},
		{dur, "Envoy's default is 15s, a proxy here has none unless set", ""},
		{dur, "default 10 x base_interval", ""},
		{boolean, "re-picks hosts (default 1; Istio uses 5).", ""},
		{boolean, "lets a request through; by default such a request is denied", ""},
		{reflect.TypeFor[Status](), "500 (default), 503 or reset", "`500`"},
		{reflect.TypeFor[[]string](), "default [5xx] when attempts > 0.", "`[5xx]`"},
	} {
		assert.Equal(t, tc.want, defaultLabel(tc.typ, fieldRule{}, tc.doc), tc.doc)
	}
}
