// Package sim is the meshsim kernel: virtual time, a deterministic event
// scheduler with cancellable timers, and named random-number streams.
//
// The kernel imports nothing from the rest of the repository. It does no I/O,
// never reads the wall clock, starts no goroutines and never touches a global
// random number generator, so that the same scenario, seed and version always
// produce the same sequence of events on every machine.
//
// Events are ordered by (time, sequence number). The sequence number is
// assigned when an event is scheduled, so events scheduled for the same
// instant fire in the order in which they were scheduled.
//
// Statistics primitives live in sim/stats and probability distributions in
// sim/dist; both build only on this package.
package sim
