// Package report renders a finished experiment: summary.json, report.md, a
// self-contained report.html, the latency CDF plot, bars of the latency
// percentiles with confidence whiskers, bars of the load per instance,
// and one timeline figure per workload (p99, throughput, errors and
// ejected hosts per window, with the failure windows shaded), each plot
// as SVG and PNG.
//
// It only formats: it runs no simulation, reads no clock and does no file
// I/O. Render returns the files as bytes and the caller (cmd/sim) writes
// them. The same Experiment always renders to byte-identical files: numbers
// are formatted with strconv at fixed precision, iteration follows the
// Experiment's slices (never a map), and the plot back ends used write no
// timestamps and embed no fonts.
package report
