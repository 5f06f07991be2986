// Package results is the data model of a finished experiment: the raw
// per-replication metrics a run produces (counts, mergeable histograms,
// time-weighted means), the summary derived from them (the versioned
// summary.json contract, see docs/summary.md), and paired comparisons
// between variants.
//
// It sits between the runner and the outputs: scenarios produces an
// Experiment, report renders it. It runs no simulation and does no I/O.
package results
