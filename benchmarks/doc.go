// Package benchmarks measures the meshsim engine against a hand-written,
// special-purpose simulation of the same model, as DESIGN.md section 3 asks:
// the kernel must run within 2x of a plain Go loop that does only what the
// model needs.
//
// baseline.go holds that loop for the M/M/1 queue (and, as an absolute floor
// that is not an event loop at all, the Lindley recursion). The _test.go
// files hold the benchmarks of the kernel alone (the hold model, an all-ties
// case and timer cancellation), of M/M/1 through the baseline, the models
// and a scenario file, and the tests that check that the baseline computes
// the right thing and that memory does not grow with the number of requests
// simulated. README.md says how to run them and records the figures measured.
package benchmarks
