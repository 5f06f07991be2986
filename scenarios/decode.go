package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The decoder walks a yaml.Node tree itself, rather than calling
// yaml.Node.Decode, so that every error carries the line, column and field
// path of the node it is about, all errors of a file are reported at once,
// and the custom scalar types (Duration, Rate, Queue) and the DistSpec and
// Variant.Set mappings are parsed with messages that say what to write.

// Limits on the work one file can cause. Aliases let a small file stand for
// a huge tree ("billion laughs"), so the decoder counts the nodes it visits
// after expanding aliases and gives up past maxNodes.
const (
	maxSourceBytes = 4 << 20
	maxNodes       = 1_000_000
	maxMergeDepth  = 32
)

var (
	durationType = reflect.TypeFor[Duration]()
	rateType     = reflect.TypeFor[Rate]()
	queueType    = reflect.TypeFor[Queue]()
	statusType   = reflect.TypeFor[Status]()
	// intOrPercentType decodes as a string (2 or "25%"); only the schema
	// tells it apart.
	intOrPercentType = reflect.TypeFor[IntOrPercent]()
	distSpecType     = reflect.TypeFor[DistSpec]()
	overridesType    = reflect.TypeFor[[]Override]()
	sweepType        = reflect.TypeFor[[]SweepAxis]()
)

// span is where a field was found: its key and its value.
type span struct {
	keyLine, keyCol int
	line, col       int
	null            bool // the value was null or missing (a bare "key:")
}

// positions maps field paths (services[0].replicas) to where they were
// found. It is only ever looked up by key, never iterated.
type positions map[string]span

func (p positions) setKey(path string, k *yaml.Node) {
	s := p[path]
	s.keyLine, s.keyCol = k.Line, k.Column
	p[path] = s
}

func (p positions) setValue(path string, v *yaml.Node) {
	s := p[path]
	s.line, s.col, s.null = v.Line, v.Column, isNull(v)
	if s.keyLine == 0 {
		s.keyLine, s.keyCol = v.Line, v.Column
	}
	p[path] = s
}

// present reports whether path was given a non-null value.
func (p positions) present(path string) bool {
	s, ok := p[path]
	return ok && !s.null
}

// at returns the position of path's value or, if path was not given, of the
// value of its nearest ancestor that was: a missing field is reported at the
// mapping that lacks it.
func (p positions) at(path string) (line, col int) {
	for {
		if s, ok := p[path]; ok && s.line > 0 {
			return s.line, s.col
		}
		if path == "" {
			return 1, 1
		}
		path = parentPath(path)
	}
}

// keyAt returns the position of path's key, or at(path) if it has none.
func (p positions) keyAt(path string) (line, col int) {
	if s, ok := p[path]; ok && s.keyLine > 0 {
		return s.keyLine, s.keyCol
	}
	return p.at(path)
}

// parentPath returns the path of the mapping or list that holds path:
// services for services[0], services[0] for services[0].name, "" for name.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func joinPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// badPaths holds the paths that failed to decode, and their ancestors, so
// that validation does not pile consequential errors on them ("duration is
// required" after "duration 10 has no unit").
type badPaths struct {
	bad       map[string]bool
	ancestors map[string]bool
}

func newBadPaths() badPaths {
	return badPaths{bad: map[string]bool{}, ancestors: map[string]bool{}}
}

func (b badPaths) mark(path string) {
	b.bad[path] = true
	for p := path; p != ""; {
		p = parentPath(p)
		b.ancestors[p] = true
	}
}

// covers reports whether path, one of its ancestors or one of its
// descendants failed to decode.
func (b badPaths) covers(path string) bool {
	if b.ancestors[path] {
		return true
	}
	for p := path; ; p = parentPath(p) {
		if b.bad[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// Node helpers.

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "integer " + v
		case "!!float":
			return "number " + v
		case "!!bool":
			return "boolean " + v
		default:
			return fmt.Sprintf("string %q", v)
		}
	}
	return "nothing"
}

// pair is one key: value entry of a mapping.
type pair struct {
	key, val *yaml.Node
}

// mappingPairs returns the entries of mapping n in document order, with the
// entries of merge keys (<<: *base, or <<: [*a, *b]) spliced in where the
// merge key stands. As in YAML 1.1, keys given explicitly win over merged
// ones, and an earlier merged mapping wins over a later one. budget is
// decremented for each entry visited; bad is the first node that is not a
// valid merge source, with the reason.
func mappingPairs(n *yaml.Node, budget *int) (pairs []pair, bad *yaml.Node, why string) {
	return mergePairs(n, budget, 0)
}

func mergePairs(n *yaml.Node, budget *int, depth int) (pairs []pair, bad *yaml.Node, why string) {
	if depth > maxMergeDepth {
		return nil, n, fmt.Sprintf("merges (<<) are nested more than %d deep", maxMergeDepth)
	}
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && !isMergeKey(k) {
			explicit[k.Value] = true
		}
	}
	merged := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if *budget--; *budget < 0 {
			return pairs, k, "too many nodes"
		}
		if !isMergeKey(k) {
			pairs = append(pairs, pair{k, v})
			continue
		}
		var sources []*yaml.Node
		switch rv := resolve(v); rv.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{rv}
		case yaml.SequenceNode:
			for _, e := range rv.Content {
				if re := resolve(e); re.Kind == yaml.MappingNode {
					sources = append(sources, re)
				} else {
					return pairs, e, "a merge (<<) takes a mapping or a list of mappings, got " + describe(e)
				}
			}
		default:
			return pairs, v, "a merge (<<) takes a mapping or a list of mappings, got " + describe(v)
		}
		for _, src := range sources {
			sub, b, w := mergePairs(src, budget, depth+1)
			if b != nil {
				return pairs, b, w
			}
			for _, p := range sub {
				if p.key.Kind == yaml.ScalarNode {
					if explicit[p.key.Value] || merged[p.key.Value] {
						continue
					}
					merged[p.key.Value] = true
				}
				pairs = append(pairs, p)
			}
		}
	}
	return pairs, nil, ""
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// Parsing YAML text.

// parserProblems are the messages of yaml.v3's parser (parserc.go), as
// opposed to its scanner.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

var (
	lineRE   = regexp.MustCompile(`^line (\d+): `)
	anchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parseYAML parses data into a document node. A syntax error comes back as
// an *Error at the best position known: yaml.v3 reports only a line (that of
// the construct it was reading, not always the offending character), so a
// tab in indentation and an unknown anchor are located in the text here.
func parseYAML(file string, data []byte) (doc *yaml.Node, e *Error) {
	defer func() {
		// yaml.v3 has panicked on malformed input before (CVE-2022-28948).
		// A panic in a third-party parser is still just a bad file to the
		// user, so it is reported as one instead of crashing the program.
		if r := recover(); r != nil {
			doc, e = nil, &Error{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("syntax: %v", r)}
		}
	}()
	if len(data) > maxSourceBytes {
		return nil, &Error{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("file is %d bytes; the limit is %d", len(data), maxSourceBytes)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Col: 1, Msg: "empty file", Hint: "a scenario needs at least version, duration, workloads and services"}
		}
		return nil, syntaxError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(file, data, err)
	default:
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		return nil, &Error{File: file, Line: line, Col: 1, Msg: "a second YAML document", Hint: "a scenario file holds one document; remove the --- separator or split the file"}
	}
	return &n, nil
}

func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Line: 1, Col: 1}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		// yaml.v3 adds one to the 0-based line of scanner errors but not
		// of parser errors (decode.go, parser.fail).
		if slices.Contains(parserProblems, msg) {
			e.Line++
		}
	}
	lines := strings.Split(string(data), "\n")
	switch {
	case strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token"):
		// For a tab that breaks indentation yaml.v3 reports the line of
		// the enclosing block, so the tab is on it or below it; for a
		// character that cannot start a token, the line is exact.
		last := len(lines)
		if !strings.Contains(msg, "tab character") {
			last = min(e.Line, len(lines))
		}
		for i := max(e.Line-1, 0); i < last; i++ {
			indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			if j := strings.IndexByte(indent, '\t'); j >= 0 {
				e.Line, e.Col = i+1, j+1
				e.Hint = "indent with spaces: YAML does not allow tabs in indentation"
				break
			}
		}
	case anchorRE.MatchString(msg):
		ref := "*" + anchorRE.FindStringSubmatch(msg)[1]
		for i, l := range lines {
			if j := strings.Index(l, ref); j >= 0 {
				e.Line, e.Col = i+1, len([]rune(l[:j]))+1
				break
			}
		}
	}
	e.Msg = "syntax: " + msg
	return e
}

// The reflective walker.

// decoder decodes one node tree into a Scenario.
type decoder struct {
	sink   *sink
	prefix string // put before every path: "variant p2c: "
	pos    positions
	bad    badPaths
	budget int
	// overBudget is reported, once, when budget runs out, with its hint.
	overBudget, overBudgetHint string
}

func newDecoder(s *sink, prefix string) *decoder {
	return &decoder{sink: s, prefix: prefix, pos: positions{}, bad: newBadPaths(), budget: maxNodes,
		overBudget:     fmt.Sprintf("too many nodes (more than %d after expanding aliases)", maxNodes),
		overBudgetHint: "aliases may make a small file stand for a huge one",
	}
}

// errorf reports a problem with the node n at path and marks path bad.
func (d *decoder) errorf(n *yaml.Node, path, hint, format string, args ...any) {
	d.bad.mark(path)
	d.sink.add(n.Line, n.Column, d.prefix+path, hint, fmt.Sprintf(format, args...))
}

// spend takes one node from the budget, reporting once when it runs out.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	d.budget--
	return d.checkBudget(n, path)
}

// checkBudget reports whether there is budget left, reporting at n the
// first time there is not.
func (d *decoder) checkBudget(n *yaml.Node, path string) bool {
	if d.budget >= 0 {
		return true
	}
	if d.overBudget != "" {
		d.errorf(n, path, d.overBudgetHint, "%s", d.overBudget)
		d.overBudget = ""
	}
	return false
}

// decodeScenario decodes the mapping root into a new Scenario.
func (d *decoder) decodeScenario(root *yaml.Node) *Scenario {
	s := &Scenario{}
	d.pos.setValue("", root)
	d.value(root, reflect.ValueOf(s).Elem(), "")
	return s
}

// value decodes n into v. A null node leaves v at its zero value, as an
// absent field does; validation tells the two apart through positions when
// it matters.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, path) {
		return
	}
	n = resolve(n)
	if path != "" {
		d.pos.setValue(path, n)
	}
	if isNull(n) {
		return
	}
	switch v.Type() {
	case durationType:
		if dur, ok := d.duration(n, path); ok {
			v.SetInt(int64(dur))
		}
		return
	case rateType:
		if r, ok := d.rate(n, path); ok {
			v.SetFloat(float64(r))
		}
		return
	case queueType:
		d.queue(n, v.Addr().Interface().(*Queue), path)
		return
	case statusType:
		if st, ok := d.status(n, path); ok {
			v.SetInt(int64(st))
		}
		return
	case distSpecType:
		d.distSpec(n, v.Addr().Interface().(*DistSpec), path)
		return
	case overridesType:
		d.overrides(n, v.Addr().Interface().(*[]Override), path)
		return
	case sweepType:
		d.sweep(n, v.Addr().Interface().(*[]SweepAxis), path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem(), path)
		v.Set(p)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "", "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i, ok := d.integer(n, path, v.Type().Bits()); ok {
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u, ok := d.unsigned(n, path, v.Type().Bits()); ok {
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		if f, ok := d.float(n, path); ok {
			v.SetFloat(f)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errorf(n, path, "", "expected true or false, got %s", describe(n))
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	default:
		// A field type the walker does not know is a bug in this package,
		// but it is still reported rather than panicking on user input.
		d.errorf(n, path, "", "internal error: cannot decode into %s", v.Type())
	}
}

// field is one YAML field of a struct.
type field struct {
	name  string
	index int
}

// fieldsOf returns the YAML fields of struct type t in declaration order,
// named by their yaml tag or, without one, by the lowercased Go name, as
// yaml.v3 does. Fields tagged "-" and unexported fields are left out.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fs = append(fs, field{name, i})
	}
	return fs
}

// keyName checks that k is a plain scalar key and returns its text.
func (d *decoder) keyName(k *yaml.Node, path string) (string, bool) {
	if k = resolve(k); k.Kind != yaml.ScalarNode {
		d.errorf(k, path, "", "field names must be plain strings, got %s", describe(k))
		return "", false
	}
	return k.Value, true
}

// pairs returns the entries of mapping n, reporting bad merges.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	ps, bad, why := mappingPairs(n, &d.budget)
	switch {
	case !d.checkBudget(n, path):
		return nil
	case bad != nil:
		d.errorf(bad, path, "", "%s", why)
	}
	return ps
}

// structure decodes mapping n into struct v, rejecting unknown and
// duplicate fields.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	fields := fieldsOf(v.Type())
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "", "expected a mapping, got %s", describe(n))
		return
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	seen := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, path) {
		name, ok := d.keyName(p.key, path)
		if !ok {
			continue
		}
		fpath := joinPath(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(p.key, fpath, fmt.Sprintf("first given at line %d", first.Line), "duplicate field %q", name)
			continue
		}
		seen[name] = p.key
		i := slices.Index(names, name)
		if i < 0 {
			hint := didYouMean(name, names)
			if c := closest(name, names); c != "" {
				// The field the user meant is effectively missing; do not
				// also report it as missing.
				d.bad.mark(joinPath(path, c))
			} else {
				hint = "valid fields: " + sortedList(names)
			}
			d.sink.add(p.key.Line, p.key.Column, d.prefix+fpath, hint, fmt.Sprintf("unknown field %q", name))
			continue
		}
		d.pos.setKey(fpath, p.key)
		d.value(p.val, v.Field(fields[i].index), fpath)
	}
}

// sequence decodes list n into slice v.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if n.Kind == yaml.MappingNode {
			hint = "start each entry on its own line with \"- \""
		}
		d.errorf(n, path, hint, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.value(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// integer parses an integer scalar. YAML integers may be written 1_000,
// 0x10 or 0o17; a float with no fractional part (2e9) is accepted too.
func (d *decoder) integer(n *yaml.Node, path string, bits int) (int64, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int":
			i, err := strconv.ParseInt(n.Value, 0, bits)
			if err != nil {
				d.errorf(n, path, "", "%s is out of range", n.Value)
				return 0, false
			}
			return i, true
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			switch {
			case err != nil || f != math.Trunc(f): // fractional, or inf or nan
			case math.Abs(f) >= math.Ldexp(1, bits-1):
				d.errorf(n, path, "", "%s is out of range", n.Value)
				return 0, false
			default:
				return int64(f), true
			}
		case "!!str":
			if _, err := strconv.ParseInt(n.Value, 0, bits); err == nil {
				d.errorf(n, path, "remove the quotes", "expected an integer, got %s", describe(n))
				return 0, false
			}
		}
	}
	d.errorf(n, path, "", "expected an integer, got %s", describe(n))
	return 0, false
}

// unsigned parses a non-negative integer scalar.
func (d *decoder) unsigned(n *yaml.Node, path string, bits int) (uint64, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && strings.HasPrefix(n.Value, "-") {
		d.errorf(n, path, "", "must not be negative, got %s", n.Value)
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		u, err := strconv.ParseUint(strings.TrimPrefix(n.Value, "+"), 0, bits)
		if err != nil {
			d.errorf(n, path, "", "%s is out of range", n.Value)
			return 0, false
		}
		return u, true
	}
	i, ok := d.integer(n, path, 64)
	if ok && i < 0 {
		d.errorf(n, path, "", "must not be negative, got %s", n.Value)
		return 0, false
	}
	return uint64(i), ok
}

// float parses a finite number.
func (d *decoder) float(n *yaml.Node, path string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			if i, ierr := strconv.ParseInt(n.Value, 0, 64); ierr == nil {
				return float64(i), true
			}
		}
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.errorf(n, path, "", "expected a finite number, got %s", n.Value)
			return 0, false
		}
		return f, true
	}
	hint := ""
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
			hint = "remove the quotes"
		}
	}
	d.errorf(n, path, hint, "expected a number, got %s", describe(n))
	return 0, false
}

// durationHint says how to write a duration.
const durationHint = "write 250ms, 1.5s or 2m (units: ns, us, ms, s, m, h)"

// duration parses a non-negative span with units. A bare 0 is accepted,
// since zero needs no unit; any other bare number is an error, because
// guessing seconds or milliseconds is how wrong results are made.
func (d *decoder) duration(n *yaml.Node, path string) (Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, durationHint, "expected a duration, got %s", describe(n))
		return 0, false
	}
	v := strings.TrimSpace(n.Value)
	switch n.ShortTag() {
	case "!!int", "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64); err == nil && f == 0 {
			return 0, true
		}
		if strings.HasPrefix(v, "-") {
			d.errorf(n, path, "", "must not be negative, got %s", v)
			return 0, false
		}
		d.errorf(n, path, durationHint, "duration %s has no unit", v)
		return 0, false
	case "!!str":
		dur, err := time.ParseDuration(v)
		switch {
		case err != nil && strings.HasPrefix(v, "-"):
		case err != nil:
			d.errorf(n, path, durationHint, "invalid duration %q", v)
			return 0, false
		case dur >= 0:
			return Duration(dur), true
		}
		d.errorf(n, path, "", "must not be negative, got %s", v)
		return 0, false
	}
	d.errorf(n, path, durationHint, "expected a duration, got %s", describe(n))
	return 0, false
}

// statusHint says which answers a failing request can get.
const statusHint = "meshsim models 500 (an error), 503 (unavailable) and reset (the stream reset)"

// status parses an error status: 500, 503 or reset.
func (d *decoder) status(n *yaml.Node, path string) (Status, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, statusHint, "expected a status, got %s", describe(n))
		return 0, false
	}
	v := strings.TrimSpace(n.Value)
	if n.ShortTag() == "!!int" {
		i, err := strconv.Atoi(v)
		if err != nil || (i != 500 && i != 503) {
			d.errorf(n, path, statusHint, "unsupported status %s", v)
			return 0, false
		}
		return Status(i), true
	}
	if v == "reset" {
		return StatusReset, true
	}
	hint := didYouMean(v, []string{"reset"})
	if hint == "" {
		hint = statusHint
	}
	d.errorf(n, path, hint, "unsupported status %q", v)
	return 0, false
}

// rateUnits are the time units a rate may be given per, in seconds.
var rateUnits = []struct {
	unit    string
	seconds float64
}{{"h", 3600}, {"min", 60}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"µs", 1e-6}}

// rateHint says how to write a rate.
const rateHint = "write 800/s, 50/ms, 3000/min or 2/h"

// rate parses a positive rate written as COUNT/UNIT into events per second.
func (d *decoder) rate(n *yaml.Node, path string) (Rate, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, rateHint, "expected a rate, got %s", describe(n))
		return 0, false
	}
	v := strings.TrimSpace(n.Value)
	num, unit, hasUnit := strings.Cut(v, "/")
	num, unit = strings.TrimSpace(num), strings.TrimSpace(unit)
	f, err := strconv.ParseFloat(strings.ReplaceAll(num, "_", ""), 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		d.errorf(n, path, rateHint, "invalid rate %q", v)
		return 0, false
	case f <= 0:
		d.errorf(n, path, "", "rate must be positive, got %s", v)
		return 0, false
	case !hasUnit:
		d.errorf(n, path, "", "rate needs a unit, e.g. %s/s", num)
		return 0, false
	}
	for _, u := range rateUnits {
		if unit == u.unit {
			r := f / u.seconds
			if math.IsInf(r, 0) {
				d.errorf(n, path, "", "rate %s is too large", v)
				return 0, false
			}
			return Rate(r), true
		}
	}
	hint := rateHint
	if unit == "m" {
		hint = "write /min for per minute or /ms for per millisecond"
	}
	d.errorf(n, path, hint, "unknown rate unit %q", "/"+unit)
	return 0, false
}

// unboundedWords are what people write when they mean "unbounded".
var unboundedWords = []string{"infinite", "infinity", "inf", ".inf", "unlimited", "none", "no", "off", "false", "max", "∞", "-1"}

// queue parses a non-negative bound or the word unbounded.
func (d *decoder) queue(n *yaml.Node, q *Queue, path string) {
	const hint = "write a non-negative number of requests, or unbounded"
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, hint, "expected a queue bound, got %s", describe(n))
		return
	}
	v := strings.TrimSpace(n.Value)
	switch {
	case v == "unbounded":
		*q = Queue{Unbounded: true, Set: true}
		return
	case slices.Contains(unboundedWords, strings.ToLower(v)):
		d.errorf(n, path, `did you mean "unbounded"?`, "invalid queue %q", v)
		return
	case n.ShortTag() == "!!int":
		i, err := strconv.ParseInt(v, 0, strconv.IntSize)
		switch {
		case err != nil:
			d.errorf(n, path, "", "%s is out of range", v)
		case i < 0:
			d.errorf(n, path, "write unbounded for no limit", "queue must not be negative, got %s", v)
		default:
			*q = Queue{Bound: int(i), Set: true}
		}
		return
	}
	h := didYouMean(v, []string{"unbounded"})
	if h == "" {
		h = hint
	}
	d.errorf(n, path, h, "invalid queue %q", v)
}

// distKeys are the parameters a DistSpec may have besides percentiles.
var distKeys = []string{"dist", "mean", "rate", "value", "min", "max", "k", "scv", "p99", "median", "sigma", "scale", "shape"}

// percentileRE matches the keys of empirical points: p50, p999, p99.9.
var percentileRE = regexp.MustCompile(`^p(\d{1,4})(\.(\d{1,4}))?$`)

// percentileKey returns the fraction a key such as p99 names: p5 is 0.05,
// p50 is 0.5, p99 is 0.99, p999 and p99.9 are 0.999, p9999 is 0.9999. The
// fraction is parsed from decimal text, so p999 and p99.9 give the same
// float64. Only 0 < p < 1 is a percentile an empirical distribution can
// pass through, so p0 and p100 are not keys.
func percentileKey(key string) (float64, bool) {
	m := percentileRE.FindStringSubmatch(key)
	if m == nil {
		return 0, false
	}
	whole, frac := m[1], m[3]
	var text string
	switch {
	case len(whole) <= 2:
		text = "0." + strings.Repeat("0", 2-len(whole)) + whole + frac
	case frac == "" && strings.HasPrefix(whole, "99"):
		text = "0." + whole
	default:
		return 0, false
	}
	p, err := strconv.ParseFloat(text, 64)
	return p, err == nil && p > 0 && p < 1
}

// distSpec decodes a distribution mapping. It checks only the form of each
// parameter; which parameters a distribution needs is validation's job.
func (d *decoder) distSpec(n *yaml.Node, spec *DistSpec, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "", "expected a distribution such as {dist: exponential, mean: 20ms}, got %s", describe(n))
		return
	}
	spec.Line, spec.Col = n.Line, n.Column
	spec.Has = map[string]bool{}
	seen := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, path) {
		name, ok := d.keyName(p.key, path)
		if !ok {
			continue
		}
		kpath := joinPath(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(p.key, kpath, fmt.Sprintf("first given at line %d", first.Line), "duplicate parameter %q", name)
			continue
		}
		seen[name] = p.key
		d.pos.setKey(kpath, p.key)
		val := resolve(p.val)
		d.pos.setValue(kpath, val)
		if !d.spend(val, kpath) {
			return
		}
		if isNull(val) {
			d.errorf(val, kpath, "", "%s has no value", name)
			continue
		}
		spec.Has[name] = true
		switch name {
		case "dist":
			if val.Kind != yaml.ScalarNode {
				d.errorf(val, kpath, "", "expected a distribution name, got %s", describe(val))
				continue
			}
			spec.Dist = val.Value
		case "mean":
			spec.Mean, _ = d.duration(val, kpath)
		case "value":
			spec.Value, _ = d.duration(val, kpath)
		case "min":
			spec.Min, _ = d.duration(val, kpath)
		case "max":
			spec.Max, _ = d.duration(val, kpath)
		case "median":
			spec.Median, _ = d.duration(val, kpath)
		case "scale":
			spec.Scale, _ = d.duration(val, kpath)
		case "rate":
			spec.Rate, _ = d.rate(val, kpath)
		case "k":
			if k, ok := d.integer(val, kpath, strconv.IntSize); ok {
				spec.K = int(k)
			}
		case "scv":
			spec.SCV, _ = d.float(val, kpath)
		case "sigma":
			spec.Sigma, _ = d.float(val, kpath)
		case "shape":
			spec.Shape, _ = d.float(val, kpath)
		default:
			pct, ok := percentileKey(name)
			if !ok {
				hint := didYouMean(name, distKeys)
				if c := closest(name, distKeys); c != "" {
					// As for fields: the parameter meant is not missing.
					d.bad.mark(joinPath(path, c))
				} else {
					hint = "parameters are " + sortedList(distKeys) + " and, for empirical, percentiles such as p50, p99, p999"
				}
				delete(spec.Has, name)
				d.sink.add(p.key.Line, p.key.Column, d.prefix+kpath, hint, fmt.Sprintf("unknown parameter %q", name))
				continue
			}
			if v, ok := d.duration(val, kpath); ok {
				spec.Percentiles = append(spec.Percentiles, Percentile{P: pct, Value: v})
				if name == "p99" {
					spec.P99 = v
				}
			}
		}
	}
	if spec.Dist != "empirical" {
		spec.Percentiles = nil
		return
	}
	slices.SortStableFunc(spec.Percentiles, func(a, b Percentile) int {
		switch {
		case a.P < b.P:
			return -1
		case a.P > b.P:
			return 1
		}
		return 0
	})
}

// sweep decodes the sweep: mapping of field paths to non-empty lists of
// values into SweepAxes in YAML order. The values are kept as nodes, to be
// decoded where they are applied.
func (d *decoder) sweep(n *yaml.Node, out *[]SweepAxis, path string) {
	const example = "e.g. sweep: {workloads.web.arrival.rate: [400/s, 600/s, 800/s]}"
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, example, "expected a mapping of field paths to lists of values, got %s", describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, path) {
		name, ok := d.keyName(p.key, path)
		if !ok {
			continue
		}
		apath := joinPath(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(p.key, apath, fmt.Sprintf("first given at line %d", first.Line), "duplicate sweep path %q", name)
			continue
		}
		seen[name] = p.key
		d.pos.setKey(apath, p.key)
		val := resolve(p.val)
		d.pos.setValue(apath, val)
		if val.Kind != yaml.SequenceNode || len(val.Content) == 0 {
			got := describe(val)
			if val.Kind == yaml.SequenceNode {
				got = "an empty list"
			}
			d.errorf(val, apath, example, "expected a non-empty list of the values %s takes, got %s", name, got)
			continue
		}
		*out = append(*out, SweepAxis{Path: name, Values: val.Content, Line: p.key.Line, Col: p.key.Column})
	}
}

// overrides decodes a variant's set: mapping into Overrides in YAML order.
// The values are kept as nodes, to be decoded where they are applied.
func (d *decoder) overrides(n *yaml.Node, out *[]Override, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "e.g. set: {services.checkout.sidecar.lb.policy: random}", "expected a mapping of field paths to values, got %s", describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, path) {
		name, ok := d.keyName(p.key, path)
		if !ok {
			continue
		}
		opath := joinPath(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(p.key, opath, fmt.Sprintf("first given at line %d", first.Line), "duplicate override %q", name)
			continue
		}
		seen[name] = p.key
		d.pos.setKey(opath, p.key)
		d.pos.setValue(opath, resolve(p.val))
		*out = append(*out, Override{Path: name, Value: p.val, Line: p.key.Line, Col: p.key.Column})
	}
}
