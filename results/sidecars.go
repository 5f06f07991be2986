package results

// SidecarSummary is what one caller's proxy did towards one service,
// summed over replications.
type SidecarSummary struct {
	Caller   string `json:"caller"`
	Service  string `json:"service"`
	Calls    int64  `json:"calls"`
	Attempts int64  `json:"attempts"`
	// Amplification is attempts per call: 1 without retries, up to
	// 1 + retries.attempts. Omitted when there were no calls.
	Amplification  *float64 `json:"amplification,omitempty"`
	Retries        int64    `json:"retries"`
	RetryOverflows int64    `json:"retry_overflows"`
	Overflows      int64    `json:"overflows"`
	PerTryTimeouts int64    `json:"per_try_timeouts"`
	RouteTimeouts  int64    `json:"route_timeouts"`
	Ejections      int64    `json:"ejections"`
	Hedges         int64    `json:"hedges"`
	HedgeWins      int64    `json:"hedge_wins"`
	// DeadlineExceeded counts calls failed before sending because the
	// request's propagated deadline had passed.
	DeadlineExceeded int64 `json:"deadline_exceeded"`
	// ConnectionsOpened and ConnectFailures count connection handshakes
	// that succeeded and failed (0 without a connection pool).
	ConnectionsOpened int64 `json:"connections_opened"`
	ConnectFailures   int64 `json:"connect_failures"`
	// ConnectionsClosed, ConnectionOverflows (max_connections reached,
	// Envoy's upstream_cx_overflow) and PendingOverflows (requests
	// refused at max_pending_requests) are 0 without a connection pool.
	ConnectionsClosed   int64 `json:"connections_closed"`
	ConnectionOverflows int64 `json:"connection_overflows"`
	PendingOverflows    int64 `json:"pending_overflows"`
	// MaxOpenConnections is the most connections one of the caller's
	// proxies held open at once, the largest over the caller's instances
	// and the replications (peaks do not add up); omitted without
	// connection pools, and so marks the proxies that have them.
	MaxOpenConnections *int      `json:"max_open_connections,omitempty"`
	HostShare          []float64 `json:"host_share,omitempty"` // each instance's share of the attempts
	// UnhealthyMarks counts the times active health checking marked a
	// host unhealthy, over the whole run; omitted without health_check.
	UnhealthyMarks *int64 `json:"unhealthy_marks,omitempty"`
}

// summarizeSidecars sums each (caller, service) proxy over the
// replications, in order of first appearance.
func summarizeSidecars(v *Variant) []SidecarSummary {
	out := []SidecarSummary{}
	index := map[[2]string]int{}
	hosts := [][]int64{}
	for _, r := range v.Replications {
		for _, sc := range r.Sidecars {
			key := [2]string{sc.Caller, sc.Service}
			i, ok := index[key]
			if !ok {
				i = len(out)
				index[key] = i
				out = append(out, SidecarSummary{Caller: sc.Caller, Service: sc.Service})
				hosts = append(hosts, nil)
			}
			s := &out[i]
			s.Calls += sc.Calls
			s.Attempts += sc.Attempts
			s.Retries += sc.Retries
			s.RetryOverflows += sc.RetryOverflows
			s.Overflows += sc.Overflows
			s.PerTryTimeouts += sc.PerTryTimeouts
			s.RouteTimeouts += sc.RouteTimeouts
			s.Ejections += sc.Ejections
			s.Hedges += sc.Hedges
			s.HedgeWins += sc.HedgeWins
			s.DeadlineExceeded += sc.DeadlineExceeded
			s.ConnectionsOpened += sc.ConnectionsOpened
			s.ConnectFailures += sc.ConnectFailures
			s.ConnectionsClosed += sc.ConnectionsClosed
			s.ConnectionOverflows += sc.ConnectionOverflows
			s.PendingOverflows += sc.PendingOverflows
			if sc.Pooled {
				if s.MaxOpenConnections == nil {
					s.MaxOpenConnections = new(int)
				}
				*s.MaxOpenConnections = max(*s.MaxOpenConnections, sc.MaxOpenConnections)
			}
			if sc.HealthChecked {
				if s.UnhealthyMarks == nil {
					s.UnhealthyMarks = new(int64)
				}
				*s.UnhealthyMarks += int64(len(sc.Unhealthy))
			}
			for len(hosts[i]) < len(sc.HostAttempts) {
				hosts[i] = append(hosts[i], 0)
			}
			for h, n := range sc.HostAttempts {
				hosts[i][h] += n
			}
		}
	}
	for i := range out {
		s := &out[i]
		if s.Calls > 0 {
			a := float64(s.Attempts) / float64(s.Calls)
			s.Amplification = &a
		}
		if s.Attempts > 0 {
			for _, n := range hosts[i] {
				s.HostShare = append(s.HostShare, float64(n)/float64(s.Attempts))
			}
		}
	}
	return out
}
