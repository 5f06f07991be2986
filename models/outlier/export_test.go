package outlier

// SetHistoryLimit lowers the number of ejections d keeps in its history.
func SetHistoryLimit(d *Detector, n int) { d.histLimit = n }

// Multiplier returns host's ejection-time multiplier k (Envoy's
// ejectTimeBackoff).
func Multiplier(d *Detector, host int) int64 { return d.hosts[host].k }
