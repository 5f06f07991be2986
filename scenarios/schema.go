package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/doc/comment"
	"reflect"
	"strings"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/sidecar"
)

// The schema and the field reference are generated from the Go types by
// reflection, with the decoder's own field names (fieldsOf), so that a new
// field appears in both without editing anything here. What the types do
// not say (which fields are required, ranges, registered names) comes from
// the rules below, which mirror validate.go and failures.go; a field
// without a rule still appears, with its type and doc comment. The doc
// comments come from docs, generated from the source at go generate time:
//
//go:generate go run ./internal/gendocs
//go:generate go run ./internal/genref -o ../docs/scenario.md

// schemaDraft is the JSON Schema dialect Schema emits. Editors' YAML
// support (yaml-language-server, through vscode-json-languageservice)
// implements draft-07 fully and 2020-12 partly, so the schema keeps to
// keywords that mean the same in both: $defs is only reached through $ref
// JSON pointers, exclusiveMinimum is a number (draft-06 and later), and
// there is no unevaluatedProperties or $dynamicRef.
const schemaDraft = "https://json-schema.org/draft/2020-12/schema"

// obj is a JSON Schema object. encoding/json writes map keys sorted, so the
// output is the same bytes on every run.
type obj = map[string]any

// Patterns of the custom scalars, as the decoder parses them (RE2 and
// ECMAScript alike, for editors). A duration is what time.ParseDuration
// takes, without a sign; a bare 0 is allowed as a number too.
const (
	durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	ratePattern     = `^[ \t]*([0-9_]*[1-9][0-9_]*(\.[0-9]*)?|[0-9_]*\.[0-9]*[1-9][0-9]*)([eE][+-]?[0-9]+)?[ \t]*/[ \t]*(h|min|s|ms|us|µs)[ \t]*$`
	targetPattern   = `^[^\[\]]+(\[[0-9]+\])?$`
	// overridePattern is a variant's field path: dotted, no empty segment.
	overridePattern = `^[^.\s]+(\.[^.\s]+)*$`
)

// fieldRule is what validation checks about a field beyond its Go type.
// For a list, enum, pattern, bounds and maxLength apply to each item.
type fieldRule struct {
	required     bool
	enum         func() []any
	pattern      string
	maxLength    int
	min, max     *float64
	exclusiveMin *float64
	minItems     int
	def          any    // the default, as written in YAML
	defText      string // the default in words, when it is not a value
	schema       string // a $defs entry to use instead of the type's
}

func num(f float64) *float64 { return &f }

func strs(f func() []string) func() []any {
	return func() []any {
		var out []any
		for _, s := range f() {
			out = append(out, s)
		}
		return out
	}
}

// nameRule is nameRE and maxNameLen: what entity names look like.
var nameRule = fieldRule{pattern: nameRE.String(), maxLength: maxNameLen}

func required(r fieldRule) fieldRule { r.required = true; return r }

// fieldRules are keyed by Go type and field name, as docs are. A test
// checks that each names a field that exists.
var fieldRules = map[string]fieldRule{
	"Scenario.Version":      {required: true, enum: func() []any { return []any{1} }},
	"Scenario.Name":         {pattern: nameRule.pattern, maxLength: maxNameLen, defText: "the file name, made valid"},
	"Scenario.Seed":         {def: defaultSeed},
	"Scenario.Duration":     {required: true},
	"Scenario.Replications": {min: num(1), max: num(maxReplications), def: defaultReplications},
	"Scenario.Workloads":    {required: true, minItems: 1},
	"Scenario.Services":     {minItems: 1}, // a bus-only scenario has none
	"Limits.MaxEvents":      {min: num(1), def: defaultMaxEvents},

	"Workload.Name":    required(nameRule),
	"Workload.Arrival": {required: true, schema: "Arrival"},
	"Workload.Zone":    nameRule,
	"Header.Name":      {required: true},

	"Service.Name":            required(nameRule),
	"Service.Replicas":        {min: num(1), max: num(maxReplicas), def: 1},
	"Service.Concurrency":     {min: num(1), max: num(maxConcurrency), def: 1},
	"Service.Queue":           {def: "unbounded"},
	"Service.ServiceTime":     {required: true},
	"Service.Zones":           nameRule,
	"ErrorRate.Probability":   {min: num(0), max: num(1)},
	"RateLimit.MaxTokens":     {required: true, min: num(1)},
	"RateLimit.TokensPerFill": {min: num(0), def: 1},
	"RateLimit.FillInterval":  {required: true},
	"Auth.Deny":               {min: num(0), max: num(1)},

	"RouteSpec.Match":    {required: true, pattern: "^/"},
	"Destination.To":     {required: true},
	"Destination.Weight": {min: num(0)},
	"CallStep.Wait":      {min: num(0)},
	"Producer.Acks":      {enum: func() []any { return []any{"0", "1", "all", 0, 1} }},

	"Network.ConnectFailure": {min: num(0), max: num(1)},

	"Failure.Kind":        {required: true, enum: strs(func() []string { return failureKinds })},
	"Failure.Target":      {pattern: targetPattern}, // a partition has zones instead
	"Failure.Probability": {min: num(0), max: num(1)},

	"Sidecar.Preset":          {enum: strs(PresetNames)},
	"LB.Policy":               {enum: strs(lb.Names), def: defaultPolicy},
	"ConnectionPool.Protocol": {enum: func() []any { return []any{"http1", "http2"} }},
	"Retries.RetryOn":         {enum: strs(sidecar.RetryOnNames)},

	"Variant.Name": required(nameRule),

	"Service.TerminationGracePeriod":    {def: "30s"},
	"Autoscale.MinReplicas":             {min: num(1), def: 1},
	"Autoscale.MaxReplicas":             {required: true, min: num(1), max: num(maxReplicas)},
	"Autoscale.Metric":                  {enum: strs(func() []string { return autoscaleMetrics }), def: "utilization"},
	"Autoscale.Target":                  {required: true, exclusiveMin: num(0)},
	"Autoscale.SyncPeriod":              {def: "15s"},
	"Autoscale.Tolerance":               {min: num(0), max: num(1), def: 0.1},
	"Autoscale.ScaleDownStabilization":  {def: "5m"},
	"Autoscale.ScaleUpStabilization":    {def: "0s"},
	"ScalingPolicy.Type":                {required: true, enum: strs(func() []string { return policyTypes })},
	"ScalingPolicy.Value":               {required: true, min: num(1)},
	"ScalingPolicy.Period":              {required: true},
	"Deploy.At":                         {required: true},
	"Deploy.Service":                    {required: true},
	"Deploy.MaxSurge":                   {def: "25%"},
	"Deploy.MaxUnavailable":             {def: "25%"},
	"VersionSpec.Name":                  nameRule,
	"HealthCheck.Timeout":               {def: "1s"},
	"HealthCheck.Interval":              {def: "3s"},
	"HealthCheck.UnhealthyThreshold":    {min: num(0), def: 3},
	"HealthCheck.HealthyThreshold":      {min: num(0), def: 1},
	"HealthCheck.IntervalJitterPercent": {min: num(0), max: num(100)},
	"OutlierDetection.SuccessfulActiveHealthCheckUnejectHost": {def: true},
}

// typeRules add what validation checks across the fields of one type.
var typeRules = map[string]func(s obj){
	"RouteSpec": exactlyOne("to", "split"),
	"CallStep":  exactlyOne("to", "parallel", "publish"),
	"Call":      exactlyOne("to", "publish"),
	"Workload":  exactlyOne("target", "publish"),
	"Auth":      exactlyOne("service", "cost"),
	// A slow failure needs its factor (failures.go).
	"Failure": func(s obj) {
		s["allOf"] = []any{obj{
			"if":   obj{"properties": obj{"kind": obj{"enum": []any{"slow"}}}, "required": []string{"kind"}},
			"then": obj{"properties": obj{"factor": obj{"exclusiveMinimum": 0}}, "required": []string{"factor"}},
		}}
	},
}

// exactlyOne requires exactly one of the fields.
func exactlyOne(fields ...string) func(s obj) {
	return func(s obj) {
		var branches []any
		for _, f := range fields {
			branches = append(branches, obj{"required": []string{f}})
		}
		s["oneOf"] = branches
	}
}

// distForms are the alternative sets of parameters a distribution takes
// (validate.go's dist): one branch of the schema each. A distribution of
// distInfos missing here gets one branch that allows its parameters.
var distForms = map[string][][]string{
	"constant":         {{"value"}},
	"uniform":          {{"min", "max"}},
	"erlang":           {{"k", "mean"}},
	"exponential":      {{"mean"}, {"rate"}},
	"hyperexponential": {{"mean", "scv"}},
	"lognormal":        {{"mean", "p99"}, {"median", "sigma"}},
	"pareto":           {{"scale", "shape"}, {"mean", "shape"}},
	"weibull":          {{"scale", "shape"}},
}

// distParamRules are the bounds validate.go puts on parameters.
var distParamRules = map[string]fieldRule{
	"k":     {min: num(1)},
	"scv":   {min: num(1)},
	"sigma": {exclusiveMin: num(0)},
	"shape": {exclusiveMin: num(0)},
}

// percentilePattern is percentileRE as a JSON Schema pattern.
var percentilePattern = percentileRE.String()

// Schema returns a JSON Schema (draft 2020-12) of scenario files (YAML v1),
// for editors: every field with its type, doc comment, bounds and default,
// and additionalProperties false everywhere, as the decoder is strict. The
// output is the same bytes on every call. It errs only if a scenario type
// has a field of a kind it cannot describe, which is a bug.
func Schema() ([]byte, error) {
	b := newSchemaBuilder()
	root := b.structure(reflect.TypeFor[Scenario]())
	if b.err != nil {
		return nil, b.err
	}
	root["$schema"] = schemaDraft
	root["title"] = "meshsim scenario (YAML v1)"
	root["description"] = docText(docs["Scenario"])
	root["$defs"] = b.defs
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("scenario: schema: %w", err)
	}
	return buf.Bytes(), nil
}

// schemaBuilder turns Go types into schemas, collecting named types in defs.
type schemaBuilder struct {
	defs obj
	err  error
}

func newSchemaBuilder() *schemaBuilder { return &schemaBuilder{defs: obj{}} }

func ref(name string) obj { return obj{"$ref": "#/$defs/" + name} }

// def returns a reference to the $defs entry name, building it once.
func (b *schemaBuilder) def(name string, build func() obj) obj {
	if _, ok := b.defs[name]; !ok {
		b.defs[name] = obj{} // a placeholder, for recursive types
		s := build()
		if d := docText(docs[name]); d != "" {
			s["description"] = d
		}
		b.defs[name] = s
	}
	return ref(name)
}

// typ returns the schema of a value of type t.
func (b *schemaBuilder) typ(t reflect.Type) obj {
	switch t {
	case durationType:
		return b.def("Duration", func() obj {
			return obj{"oneOf": []any{
				obj{"type": "string", "pattern": durationPattern},
				obj{"type": "number", "enum": []any{0}},
			}}
		})
	case rateType:
		return b.def("Rate", func() obj { return obj{"type": "string", "pattern": ratePattern} })
	case queueType:
		return b.def("Queue", func() obj {
			return obj{"oneOf": []any{
				obj{"type": "integer", "minimum": 0},
				obj{"type": "string", "enum": []any{"unbounded"}},
			}}
		})
	case statusType:
		return b.def("Status", func() obj {
			return obj{"oneOf": []any{
				obj{"type": "integer", "enum": []any{500, 503}},
				obj{"type": "string", "enum": []any{"reset"}},
			}}
		})
	case intOrPercentType:
		return b.def("IntOrPercent", func() obj {
			return obj{"oneOf": []any{
				obj{"type": "integer", "minimum": 0},
				obj{"type": "string", "pattern": intOrPercentRE.String()},
			}}
		})
	case distSpecType:
		return b.def("DistSpec", b.distSpec)
	case overridesType:
		return obj{"type": "object", "propertyNames": obj{"pattern": overridePattern}}
	case sweepType:
		return obj{"type": "object", "propertyNames": obj{"pattern": overridePattern},
			"additionalProperties": obj{"type": "array", "minItems": 1}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.typ(t.Elem())
	case reflect.Slice:
		return obj{"type": "array", "items": b.typ(t.Elem())}
	case reflect.Struct:
		return b.def(t.Name(), func() obj { return b.structure(t) })
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return obj{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	}
	if b.err == nil {
		b.err = fmt.Errorf("scenario: schema: no JSON Schema for Go type %s", t)
	}
	return obj{}
}

// structure returns the schema of a struct decoded from a mapping.
func (b *schemaBuilder) structure(t reflect.Type) obj {
	props := obj{}
	var req []string
	for _, f := range fieldsOf(t) {
		sf := t.Field(f.index)
		key := t.Name() + "." + sf.Name
		rule := fieldRules[key]
		props[f.name] = b.field(sf.Type, rule, docText(docs[key]))
		if rule.required {
			req = append(req, f.name)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		s["required"] = req
	}
	if tr := typeRules[t.Name()]; tr != nil {
		tr(s)
	}
	return s
}

// field returns the schema of one field of type t.
func (b *schemaBuilder) field(t reflect.Type, rule fieldRule, doc string) obj {
	var s obj
	if rule.schema != "" {
		s = ref(rule.schema)
		b.namedDef(rule.schema)
	} else {
		s = b.typ(t)
	}
	if doc != "" {
		s["description"] = doc
	}
	if rule.def != nil {
		s["default"] = rule.def
	}
	if rule.minItems > 0 {
		s["minItems"] = rule.minItems
	}
	scalar := s
	if items, ok := s["items"].(obj); ok {
		scalar = items
	}
	rule.applyTo(scalar)
	return s
}

// applyTo adds the rule's constraints on a single value to s.
func (r fieldRule) applyTo(s obj) {
	if r.enum != nil {
		values := r.enum()
		s["enum"] = values
		for _, v := range values {
			if _, isString := v.(string); !isString && s["type"] == "string" {
				delete(s, "type") // an enum of several types: the enum alone says what is valid
				break
			}
		}
	}
	if r.pattern != "" {
		s["pattern"] = r.pattern
	}
	if r.maxLength > 0 {
		s["maxLength"] = r.maxLength
	}
	if r.min != nil {
		s["minimum"] = *r.min
	}
	if r.max != nil {
		s["maximum"] = *r.max
	}
	if r.exclusiveMin != nil {
		s["exclusiveMinimum"] = *r.exclusiveMin
	}
}

// namedDef builds the $defs entries that rules name rather than types.
func (b *schemaBuilder) namedDef(name string) {
	switch name {
	case "Arrival":
		b.def("Arrival", func() obj {
			return obj{
				"description": "Arrival is a distribution of inter-arrival times, or {rate: R} alone for a Poisson process (exponential inter-arrival times with mean 1/R).",
				"oneOf": []any{
					b.typ(distSpecType),
					obj{
						"type":                 "object",
						"title":                "poisson",
						"properties":           obj{"rate": b.typ(rateType)},
						"required":             []string{"rate"},
						"additionalProperties": false,
					},
				},
			}
		})
	default:
		if b.err == nil {
			b.err = fmt.Errorf("scenario: schema: no definition %q", name)
		}
	}
}

// distParam returns the schema of the DistSpec parameter key, from the
// type of the DistSpec field of that name.
func (b *schemaBuilder) distParam(key string) obj {
	f, ok := distSpecType.FieldByNameFunc(func(n string) bool { return strings.ToLower(n) == key })
	if !ok {
		if b.err == nil {
			b.err = fmt.Errorf("scenario: schema: DistSpec has no field for parameter %q", key)
		}
		return obj{}
	}
	s := b.typ(f.Type)
	distParamRules[key].applyTo(s)
	return s
}

// distSpec returns one branch per distribution form, each allowing only
// its own parameters.
func (b *schemaBuilder) distSpec() obj {
	var branches []any
	for _, info := range distInfos {
		forms := distForms[info.name]
		if info.params == nil { // empirical: percentiles
			branches = append(branches, obj{
				"type":                 "object",
				"title":                info.name,
				"properties":           obj{"dist": obj{"enum": []any{info.name}}},
				"patternProperties":    obj{percentilePattern: b.typ(durationType)},
				"required":             []string{"dist"},
				"minProperties":        2,
				"additionalProperties": false,
			})
			continue
		}
		if len(forms) == 0 {
			forms = [][]string{nil} // a distribution without a form: any of its parameters
		}
		for _, form := range forms {
			allowed := form
			if len(forms) == 1 {
				allowed = info.params
			}
			props := obj{"dist": obj{"enum": []any{info.name}}}
			for _, p := range allowed {
				props[p] = b.distParam(p)
			}
			branches = append(branches, obj{
				"type":                 "object",
				"title":                strings.TrimSpace(info.name + " " + strings.Join(form, ", ")),
				"properties":           props,
				"required":             append([]string{"dist"}, form...),
				"additionalProperties": false,
			})
		}
	}
	return obj{"oneOf": branches}
}

// docText turns a doc comment into plain text for a description: each
// paragraph on one line, code blocks indented by a tab.
func docText(doc string) string {
	if doc == "" {
		return ""
	}
	var p comment.Parser
	pr := comment.Printer{TextWidth: -1}
	return strings.TrimSpace(string(pr.Text(p.Parse(doc))))
}
