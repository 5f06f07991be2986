//go:build !unix

package benchmarks

// processCPU reports that process CPU time is not measured on this system.
func processCPU() (int64, bool) { return 0, false }
