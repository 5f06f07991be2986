// Package mesh models services and their instances: each instance has a
// number of concurrency slots, a bounded FIFO waiting room and a service-time
// distribution, and callers reach a service through a Client that picks an
// instance with a load-balancing policy.
//
// Every request ends in exactly one terminal Outcome, reported once to the
// Origin that created it; requests still queued or in service when a run
// ends are counted as in flight by the origin (arrived minus finished), so
// the counts are conserved.
//
// Requests are pooled: in steady state a request's life allocates nothing.
package mesh
