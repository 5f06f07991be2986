//go:build unix

package benchmarks

import "syscall"

// processCPU returns the CPU time, user plus system, that this process has
// used so far, in ns, and true. The benchmarks allocate nothing in steady
// state, so no garbage collector runs and this is the benchmark's own work.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
