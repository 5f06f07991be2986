package results

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// PartFormat names the format of a part file; a merge refuses any other.
const PartFormat = "meshsim/part/v1"

// Part is one shard's share of an experiment: the experiment as a whole
// run would describe it, with only the replications this shard ran filled
// in (Done says which). Shard i of n runs the tasks whose index in task
// order (variants in scenario order, then replications) is i modulo n, so
// that n shards together run every task exactly once, whatever n.
type Part struct {
	Format       string
	Shard, Count int
	Experiment   Experiment
	Done         [][]bool // [variant][replication]
}

// Encode writes p in the part file format (encoding/gob; histograms in
// their own binary encoding). The bytes depend only on p.
func (p *Part) Encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(p); err != nil {
		return nil, fmt.Errorf("results: encoding part %d/%d: %w", p.Shard, p.Count, err)
	}
	return b.Bytes(), nil
}

// DecodePart reads a part written by Encode.
func DecodePart(data []byte) (*Part, error) {
	var p Part
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&p); err != nil {
		return nil, fmt.Errorf("results: not a meshsim part file: %w", err)
	}
	if p.Format != PartFormat {
		return nil, fmt.Errorf("results: part format %q; this meshsim reads %q", p.Format, PartFormat)
	}
	return &p, nil
}

// Merge assembles the parts of one experiment into the experiment a single
// run would have produced: the same scenario, seed, version and tasks, and
// every task done by exactly one part. The result does not depend on the
// order of parts. O(total replications).
func Merge(parts []*Part) (*Experiment, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("results: nothing to merge")
	}
	first := &parts[0].Experiment
	out := *first
	out.Variants = make([]Variant, len(first.Variants))
	seen := make([][]int, len(first.Variants)) // shard+1 that ran each task, 0 none
	for v := range first.Variants {
		out.Variants[v] = first.Variants[v]
		out.Variants[v].Replications = make([]Replication, first.Replications)
		seen[v] = make([]int, first.Replications)
	}
	for _, p := range parts {
		e := &p.Experiment
		switch {
		case p.Count != parts[0].Count:
			return nil, fmt.Errorf("results: part %d/%d and part %d/%d come from different shardings", p.Shard, p.Count, parts[0].Shard, parts[0].Count)
		case e.Scenario != first.Scenario || e.Source != first.Source || e.Seed != first.Seed ||
			e.Version != first.Version || e.Replications != first.Replications || len(e.Variants) != len(first.Variants):
			return nil, fmt.Errorf("results: part %d/%d is of another run (scenario %q, seed %d, version %s, %d replications) than part %d/%d (scenario %q, seed %d, version %s, %d replications)",
				p.Shard, p.Count, e.Scenario, e.Seed, e.Version, e.Replications, parts[0].Shard, parts[0].Count, first.Scenario, first.Seed, first.Version, first.Replications)
		case len(p.Done) != len(e.Variants):
			return nil, fmt.Errorf("results: part %d/%d is malformed", p.Shard, p.Count)
		}
		for v := range e.Variants {
			if e.Variants[v].Name != first.Variants[v].Name || len(p.Done[v]) != e.Replications || len(e.Variants[v].Replications) != e.Replications {
				return nil, fmt.Errorf("results: part %d/%d has other variants than part %d/%d", p.Shard, p.Count, parts[0].Shard, parts[0].Count)
			}
			for r, done := range p.Done[v] {
				if !done {
					continue
				}
				if s := seen[v][r]; s != 0 {
					return nil, fmt.Errorf("results: variant %s replication %d is in part %d/%d and in part %d/%d", e.Variants[v].Name, r, s-1, p.Count, p.Shard, p.Count)
				}
				seen[v][r] = p.Shard + 1
				out.Variants[v].Replications[r] = e.Variants[v].Replications[r]
			}
		}
	}
	for v := range seen {
		for r, s := range seen[v] {
			if s == 0 {
				return nil, fmt.Errorf("results: variant %s replication %d is in no part: a shard is missing (the parts say %d shards)", first.Variants[v].Name, r, parts[0].Count)
			}
		}
	}
	return &out, nil
}
