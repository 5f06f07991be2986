package benchmarks

import "testing"

// meter measures one benchmark round in wall time, as the testing package
// does, and in process CPU time. On a machine shared with other work, wall
// time counts the time the benchmark waited for a core; CPU time does not,
// so it is the steadier figure when the machine is busy.
type meter struct {
	cpu0 int64
	ok   bool
}

// startMeter starts measuring; call it right before the timed work.
func startMeter() meter {
	cpu, ok := processCPU()
	return meter{cpu0: cpu, ok: ok}
}

// report stops the timer and reports ns/<unit> (wall time) and
// cpu-ns/<unit> (process CPU time) per unit of work done, if any was.
func (m meter) report(b *testing.B, done int64, unit string) {
	b.StopTimer()
	if done <= 0 {
		return
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/"+unit)
	if cpu, ok := processCPU(); ok && m.ok {
		b.ReportMetric(float64(cpu-m.cpu0)/float64(done), "cpu-ns/"+unit)
	}
}
