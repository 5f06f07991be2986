// Package dist provides the probability distributions of durations that
// meshsim uses by name: service times, think times, inter-arrival times,
// network delays. Each constructor validates its parameters and returns a
// Dist, or an error wrapping ErrParam that names the parameter.
//
// # Sampling and common random numbers
//
// A Dist draws only from the *sim.Rand passed to Sample, never from a
// global generator. Every distribution except Erlang draws exactly one
// uniform (Rand.Float64Open) per sample, Constant included, and all of
// them except Erlang and Hyperexponential return the inverse CDF at that
// uniform, so a sample is a non-decreasing function of its uniform. Two
// variants that differ only in a distribution's parameters, or even in its
// family, therefore consume their streams in step and see positively
// correlated samples, which is what makes paired comparisons across
// variants tight (DESIGN §3). Erlang(k) draws k uniforms per sample.
//
// Distributions that have a closed-form inverse CDF also implement
// Quantiler.
//
// # Determinism
//
// Samples are computed in float64 nanoseconds and rounded to the nearest
// nanosecond, saturating at the largest time.Duration. The transcendental
// functions used (exp, log, the normal quantile) are portable versions that
// give the same bits on every architecture and CPU, unlike math.Exp and
// math.Log (see fmath.go), so a seed gives the same samples everywhere.
//
// Sample is O(1) (Erlang O(k), Empirical O(log points)), allocates nothing,
// never returns a negative duration, and is not safe for concurrent use
// with the same Rand.
package dist
