package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resolved is one variant of a scenario at one point of its sweep, with
// their overrides applied.
type Resolved struct {
	// Name is the variant's name, or "baseline" for a scenario without
	// variants; with a sweep, it is followed by the point's label (see
	// PointLabel): "p2c rate=400/s", or the label alone without variants.
	Name string
	// Variant is the variant's name without the point ("baseline" for a
	// scenario without variants).
	Variant string
	// Point is the sweep point, one value per sweep path in sweep order;
	// nil without a sweep.
	Point []PointValue
	// Scenario is the scenario as the variant sees it. Its Variants and
	// Sweep are nil.
	Scenario *Scenario
}

// PointValue is the value one sweep path takes at a point.
type PointValue struct {
	Path  string // the sweep path, e.g. workloads.web.arrival.rate
	Label string // its last segment, or the whole path if two paths share it
	Value string // the value as written, e.g. 400/s
}

// PointLabel names a sweep point: label=value pairs joined by spaces,
// e.g. "rate=400/s".
func PointLabel(pt []PointValue) string {
	parts := make([]string, len(pt))
	for i, v := range pt {
		parts[i] = v.Label + "=" + v.Value
	}
	return strings.Join(parts, " ")
}

// Expand returns the scenario's variants in the order the file lists them,
// each at every point of the sweep (points in grid order, the last sweep
// path varying fastest), with its overrides, then the point's, applied to
// a copy of the YAML tree, then decoded, defaulted and validated like the
// original. A scenario without variants expands like one variant named
// "baseline" without overrides; without a sweep as well, to one Resolved
// whose Scenario is d.Scenario itself. Each call decodes afresh, so the
// Scenarios it returns share nothing with each other or with d.Scenario.
// Parse has already expanded a Document it returns, so Expand fails only
// on a Document not made by Parse. It costs one decode of the file per
// variant and point: O(variants x points x file size).
func (d *Document) Expand() ([]Resolved, error) {
	if len(d.Scenario.Variants) == 0 && len(d.Scenario.Sweep) == 0 {
		return []Resolved{{Name: "baseline", Variant: "baseline", Scenario: d.Scenario}}, nil
	}
	if d.root == nil {
		return nil, fmt.Errorf("%w: document has variants or a sweep but no YAML source; make it with Parse or Load", ErrInvalid)
	}
	out, _, err := d.expand(nil)
	return out, err
}

// maxExpandNodes bounds the work of expanding all variants of a file: the
// nodes copied, walked by overrides and decoded. Without it, a 4 MiB file
// of many variants over a large tree could take minutes to load.
const maxExpandNodes = 5_000_000

// maxCopyDepth bounds how deep a copy with aliases expanded may nest. The
// schema is a handful of levels deep; only an alias that names its own
// ancestor (a: &a [*a]) goes deeper.
const maxCopyDepth = 64

func overExpandBudget() (msg, hint string) {
	return fmt.Sprintf("the variants and sweep points expand to more than %d nodes or nest more than %d deep", maxExpandNodes, maxCopyDepth), "use fewer variants or sweep points, or split the file"
}

// labelledOverride is an override with the field path its errors name.
type labelledOverride struct {
	Override
	label string
}

// expand resolves every variant at every sweep point, returning their
// warnings too, except those equal to one of the scenario's own, base.
func (d *Document) expand(base []*Error) ([]Resolved, []string, error) {
	sk := newSink(d.Scenario.File)
	var out []Resolved
	var warnings []string
	budget := maxExpandNodes
	variants := d.Scenario.Variants
	named := len(variants) > 0
	if !named {
		variants = []Variant{{Name: "baseline"}}
	}
	points := sweepPoints(d.Scenario.Sweep)
	for i, v := range variants {
		var ovs []labelledOverride
		for _, o := range v.Set {
			ovs = append(ovs, labelledOverride{o, fmt.Sprintf("variants[%d].set.%s", i, o.Path)})
		}
		label := fmt.Sprintf("variants[%d]", i)
		if !named {
			label = "sweep"
		}
		for _, pt := range points {
			r := Resolved{Name: v.Name, Variant: v.Name}
			povs := ovs
			if pt != nil {
				r.Point = pt.values
				r.Name = PointLabel(pt.values)
				if named {
					r.Name = v.Name + " " + r.Name
				}
				povs = append(slices.Clip(ovs), pt.overrides...)
			}
			prefix := variantPrefix(r.Name)
			if pt != nil && !named {
				prefix = "sweep point " + r.Name + ": "
			}
			s, w := d.resolve(label, prefix, povs, sk, &budget)
			if budget < 0 {
				return nil, nil, sk.err() // reported once, in this variant
			}
			r.Scenario = s
			out = append(out, r)
			warnings = append(warnings, formatWarnings(w, prefix, base)...)
		}
	}
	if err := sk.err(); err != nil {
		return nil, nil, err
	}
	return out, warnings, nil
}

// sweepPoint is one point of a sweep's grid.
type sweepPoint struct {
	values    []PointValue
	overrides []labelledOverride
}

// sweepPoints returns the grid of axes in order, the last axis varying
// fastest: one nil point without a sweep. O(points x axes).
func sweepPoints(axes []SweepAxis) []*sweepPoint {
	if len(axes) == 0 {
		return []*sweepPoint{nil}
	}
	labels := make([]string, len(axes))
	count := map[string]int{}
	for i, a := range axes {
		segs := splitOverridePath(a.Path)
		labels[i] = segs[len(segs)-1]
		count[labels[i]]++
	}
	for i, a := range axes {
		if count[labels[i]] > 1 {
			labels[i] = a.Path
		}
	}
	n := 1
	for _, a := range axes {
		n *= len(a.Values)
	}
	pts := make([]*sweepPoint, n)
	for k := range pts {
		pt := &sweepPoint{}
		rest := k
		idx := make([]int, len(axes))
		for i := len(axes) - 1; i >= 0; i-- {
			idx[i] = rest % len(axes[i].Values)
			rest /= len(axes[i].Values)
		}
		for i, a := range axes {
			val := a.Values[idx[i]]
			pt.values = append(pt.values, PointValue{Path: a.Path, Label: labels[i], Value: nodeText(val)})
			pt.overrides = append(pt.overrides, labelledOverride{
				// Errors about the path point at the sweep's key; those
				// about the value at the value, whose node keeps its place.
				Override: Override{Path: a.Path, Value: val, Line: a.Line, Col: a.Col},
				label:    fmt.Sprintf("sweep.%s[%d]", a.Path, idx[i]),
			})
		}
		pts[k] = pt
	}
	return pts
}

// nodeText is a value as written: a scalar's text, or a one-line flow
// rendering of a mapping or list, such as {dist: constant, mean: 5ms}.
func nodeText(n *yaml.Node) string {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	budget := maxExpandNodes
	c := expandCopy(n, &budget, 0)
	setFlow(c)
	b, err := yaml.Marshal(c)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// setFlow makes n and everything under it flow style.
func setFlow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}

// resolve applies the overrides ovs to a copy of the tree and decodes it.
// The copy has every alias replaced by a copy of what it names, so that an
// override changes exactly the place its path names: setting
// services.s.replicas does not change a service that merges s's anchor
// (<<: *s), nor one that shares its service_time through an alias. Errors
// in values an override set point at the override's lines, since the
// values are its own nodes, and every path is prefixed with prefix. label
// names where a budget overrun is reported.
func (d *Document) resolve(label, prefix string, ovs []labelledOverride, sk *sink, budget *int) (*Scenario, []*Error) {
	overBudget := func() {
		line, col := d.pos.at(label)
		msg, hint := overExpandBudget()
		sk.add(line, col, label, hint, msg)
	}
	// The copy is decoded as a scenario of its own, without variants or
	// sweep.
	src := d.root.Content[0]
	root := &yaml.Node{Kind: src.Kind, Tag: src.Tag, Line: src.Line, Column: src.Column}
	for j := 0; j+1 < len(src.Content); j += 2 {
		if k := src.Content[j]; k.Kind == yaml.ScalarNode && (k.Value == "variants" || k.Value == "sweep") {
			continue
		}
		root.Content = append(root.Content, expandCopy(src.Content[j], budget, 0), expandCopy(src.Content[j+1], budget, 0))
	}
	if *budget < 0 {
		overBudget()
		return nil, nil
	}
	before := len(sk.errs)
	for _, o := range ovs {
		applyOverride(root, o.Override, o.label, sk, budget)
		if *budget < 0 {
			overBudget()
			return nil, nil
		}
	}
	if len(sk.errs) > before {
		return nil, nil
	}
	dec := newDecoder(sk, prefix)
	if *budget < dec.budget {
		dec.budget = *budget
		dec.overBudget, dec.overBudgetHint = overExpandBudget()
	}
	start := dec.budget
	s := dec.decodeScenario(root)
	*budget -= start - dec.budget
	s.File, s.Source = d.Scenario.File, d.Scenario.Source
	s.Variants, s.Sweep = nil, nil
	applyDefaults(s, dec.pos.present)
	c := &checker{sink: sk, prefix: prefix, pos: dec.pos, bad: dec.bad}
	c.check(s)
	return s, c.warnings
}

// variantPrefix is put before the paths of errors in a variant.
func variantPrefix(name string) string { return "variant " + name + ": " }

// percentileSegRE matches the fraction part of a key such as p99.9, which
// a dotted path splits in two.
var percentileSegRE = regexp.MustCompile(`^p\d+$`)

// splitOverridePath splits a dotted override path into its segments,
// keeping a percentile key such as p99.9 whole when it comes last.
func splitOverridePath(path string) []string {
	segs := strings.Split(path, ".")
	if n := len(segs); n >= 2 && percentileSegRE.MatchString(segs[n-2]) && isDigits(segs[n-1]) {
		segs = append(segs[:n-2], segs[n-2]+"."+segs[n-1])
	}
	return segs
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// applyOverride sets o.Path in the mapping root to a copy of o.Value.
// Through a mapping the next segment is a key, created if missing (with the
// override's position, so errors about it point at the override); through
// a list of mappings it is the name of an entry. root must hold no aliases
// (see expandCopy). Problems are reported at the override's key, under
// label. Each node walked or copied is taken from budget; the caller checks
// it.
func applyOverride(root *yaml.Node, o Override, label string, sk *sink, budget *int) {
	fail := func(hint, format string, args ...any) {
		sk.add(o.Line, o.Col, label, hint, fmt.Sprintf(format, args...))
	}
	val := o.Value
	if val == nil {
		fail("", "override has no value node")
		return
	}
	segs := splitOverridePath(o.Path)
	slot := &root
	for i, seg := range segs {
		if *budget < 0 {
			return
		}
		n := *slot
		if isNull(n) {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: o.Line, Column: o.Col}
			*slot = n
		}
		walked := strings.Join(segs[:i], ".")
		switch n.Kind {
		case yaml.MappingNode:
			slot = mappingSlot(n, seg, o, budget)
		case yaml.SequenceNode:
			var names []string
			slot = nil
			for k, e := range n.Content {
				name, ok := entryName(e, budget)
				if ok && name == seg {
					slot = &n.Content[k]
					break
				}
				if ok {
					names = append(names, name)
				}
			}
			if slot == nil {
				sk.addLazy(o.Line, o.Col, label, func() string {
					if hint := didYouMean(seg, names); hint != "" || len(names) == 0 {
						return hint
					}
					return "names are " + sortedList(names)
				}, fmt.Sprintf("%s has no entry named %q", walked, seg))
				return
			}
		default:
			fail("", "cannot set %s: %s is %s, not a mapping", o.Path, walked, describe(n))
			return
		}
	}
	*slot = expandCopy(val, budget, 0)
}

// mappingSlot returns where the value of key lives in mapping n, adding the
// key if n lacks it. A key that n has only through a merge (<<) is copied
// in, so that setting a field inside it keeps its other fields.
func mappingSlot(n *yaml.Node, key string, o Override, budget *int) **yaml.Node {
	*budget -= len(n.Content)
	for j := 0; j+1 < len(n.Content); j += 2 {
		if k := n.Content[j]; k.Kind == yaml.ScalarNode && !isMergeKey(k) && k.Value == key {
			return &n.Content[j+1]
		}
	}
	var val *yaml.Node
	pairs, _, _ := mappingPairs(n, budget)
	for _, p := range pairs {
		if p.key.Kind == yaml.ScalarNode && p.key.Value == key {
			val = expandCopy(p.val, budget, 0)
			break
		}
	}
	if val == nil {
		val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: o.Line, Column: o.Col}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: o.Line, Column: o.Col}
	n.Content = append(n.Content, k, val)
	return &n.Content[len(n.Content)-1]
}

// entryName returns the name: of a list entry, if it has one.
func entryName(e *yaml.Node, budget *int) (string, bool) {
	e = resolve(e)
	if e.Kind != yaml.MappingNode {
		return "", false
	}
	pairs, _, _ := mappingPairs(e, budget)
	for _, p := range pairs {
		if k, v := p.key, resolve(p.val); k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode {
			return v.Value, true
		}
	}
	return "", false
}

// expandCopy returns a deep copy of n in which every alias is replaced by
// a copy of the node it names, and anchors are dropped, so that no two
// places of the copy share a node. Each node copied is taken from budget;
// past it, or past maxCopyDepth, the rest is copied as nulls and budget is
// left negative for the caller to report.
func expandCopy(n *yaml.Node, budget *int, depth int) *yaml.Node {
	if *budget--; *budget < 0 || depth > maxCopyDepth {
		*budget = min(*budget, -1)
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	if n.Kind == yaml.AliasNode {
		t := resolve(n)
		if t == nil || t.Kind == yaml.AliasNode {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		return expandCopy(t, budget, depth+1)
	}
	c := *n
	c.Anchor, c.Alias = "", nil
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, e := range n.Content {
			c.Content[i] = expandCopy(e, budget, depth+1)
		}
	}
	return &c
}
