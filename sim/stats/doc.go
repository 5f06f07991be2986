// Package stats holds the streaming statistics primitives of meshsim: a
// mergeable log-bucketed histogram, time-weighted averages, and confidence
// intervals across replications. Nothing here allocates per sample, and
// memory never grows with the number of samples.
package stats
