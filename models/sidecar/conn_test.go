package sidecar

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

const ms = time.Millisecond

func constant(t *testing.T, d time.Duration) dist.Dist {
	t.Helper()
	c, err := dist.Constant(d)
	require.NoError(t, err)
	return c
}

// connCluster is one host 1ms away (each way) behind a proxy with
// connection pools.
func connCluster(t *testing.T, s *sim.Scheduler, p Policy, u *upstream) (*Cluster, *caller) {
	t.Helper()
	pool := &mesh.Pool{}
	if p.LB == "" {
		p.LB = "round_robin"
	}
	c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Policy: p, Pool: pool,
		Latency: []dist.Dist{constant(t, ms)}})
	require.NoError(t, err)
	return c, &caller{s: s, pool: pool}
}

// sendAt sends one request through c at each of the times.
func sendAt(s *sim.Scheduler, c *Cluster, cl *caller, at ...time.Duration) {
	for _, d := range at {
		s.Schedule(sim.Time(0).Add(d), sender{c: c, cl: cl}, sim.Event{})
	}
}

func TestConnectionSetupAndReuse(t *testing.T) {
	// One host 1ms away, 10ms of service. A new connection costs a TCP
	// round trip (2ms), and with mTLS a TLS round trip (2ms) and the
	// handshake's work (3ms); each request and answer costs 100us of
	// encryption with mTLS.
	mtls := &MTLS{Handshake: constant(t, 3*ms), PerRequest: constant(t, 100*time.Microsecond)}
	for _, tc := range []struct {
		name   string
		conns  Connections
		at     []time.Duration
		ended  []string
		opened int64
		closed int64
	}{
		{"http2: the first request waits for the connection, the second reuses it",
			Connections{}, []time.Duration{0, 50 * ms},
			[]string{"ok@14ms", "ok@62ms"}, 1, 0},
		{"http2 with mTLS",
			Connections{MTLS: mtls}, []time.Duration{0, 50 * ms},
			[]string{"ok@19.2ms", "ok@62.2ms"}, 1, 0},
		{"http2: concurrent requests share the connection being opened",
			Connections{}, []time.Duration{0, ms},
			[]string{"ok@14ms", "ok@14ms"}, 1, 0},
		{"http2: an idle connection closes after the idle timeout",
			Connections{IdleTimeout: 30 * ms}, []time.Duration{0, 50 * ms},
			[]string{"ok@14ms", "ok@64ms"}, 2, 1},
		{"http1: concurrent requests open a connection each",
			Connections{Protocol: HTTP1}, []time.Duration{0, ms},
			[]string{"ok@14ms", "ok@15ms"}, 2, 0},
		{"http1: sequential requests reuse one connection",
			Connections{Protocol: HTTP1}, []time.Duration{0, 20 * ms, 40 * ms},
			[]string{"ok@14ms", "ok@32ms", "ok@52ms"}, 1, 0},
		{"http1: at max_connections a request waits for the connection",
			Connections{Protocol: HTTP1, MaxConnections: 1}, []time.Duration{0, ms},
			[]string{"ok@14ms", "ok@26ms"}, 1, 0},
		{"http1: over max_pending_requests a request is refused at once",
			Connections{Protocol: HTTP1, MaxConnections: 1, MaxPendingRequests: 1}, []time.Duration{0, ms, 3 * ms},
			[]string{"rejected@1ms", "ok@14ms", "ok@26ms"}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			u := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
			conns := tc.conns
			c, cl := connCluster(t, s, Policy{Connections: &conns, Retries: RetryPolicy{NumRetries: 2, RetryOn: Retry5xx}}, u)
			sendAt(s, c, cl, tc.at...)
			require.NoError(t, s.Run())
			assert.Equal(t, tc.ended, cl.ended)
			st := c.ConnStats()
			assert.Equal(t, tc.opened, st.Opened, "connections opened")
			assert.Equal(t, tc.closed, st.Closed, "connections closed")
			assert.Zero(t, c.Unanswered())
			assert.Zero(t, c.InTransit())
			assert.Zero(t, c.pendingTotal)
			assert.Equal(t, int64(len(tc.at)), c.Stats().Calls)
		})
	}
}

func TestHTTP1ResetClosesTheConnection(t *testing.T) {
	// A per-try timeout resets the attempt: over HTTP/1 its connection is
	// closed, so the retry opens a new one (2ms more); over HTTP/2 only the
	// stream is reset and the retry reuses the connection.
	for _, tc := range []struct {
		proto  Protocol
		opened int64
		ended  string
	}{
		// Connected at 2ms, the per-try timeout (which starts when the
		// attempt has its connection, as in Envoy) fires at 22ms; the
		// retry answers 12ms later over HTTP/2, and 14ms later over HTTP/1
		// after a new connection.
		{HTTP2, 1, "ok@34ms"},
		{HTTP1, 2, "ok@36ms"},
	} {
		s := sim.NewScheduler(sim.Config{})
		u := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
		u.delays = []time.Duration{30 * ms, 10 * ms}
		c, cl := connCluster(t, s, Policy{Connections: &Connections{Protocol: tc.proto}, PerTryTimeout: 20 * ms,
			Retries: RetryPolicy{NumRetries: 1, RetryOn: Retry5xx, BaseInterval: time.Nanosecond, MaxInterval: time.Nanosecond}}, u)
		cl.send(c)
		require.NoError(t, s.Run())
		assert.Equal(t, []string{tc.ended}, cl.ended, "%v", tc.proto)
		assert.Equal(t, tc.opened, c.ConnStats().Opened, "%v", tc.proto)
		assert.Zero(t, c.Unanswered())
	}
}

func TestConnectFailuresAndResets(t *testing.T) {
	// Every connection attempt fails: retry_on connect-failure (and 5xx)
	// retries it, Istio's retriable-status-codes alone does not; the
	// origin is answered 503. An upstream reset is retried under reset
	// but not under connect-failure.
	for _, tc := range []struct {
		name     string
		connFail float64
		upstream mesh.Outcome
		retryOn  RetryOn
		attempts int64
		ended    string
	}{
		{"connect failure, retry_on connect-failure", 1, mesh.OutcomeOK, RetryConnectFailure, 3, "rejected"},
		{"connect failure, retry_on 5xx", 1, mesh.OutcomeOK, Retry5xx, 3, "rejected"},
		{"connect failure, retry_on retriable-status-codes", 1, mesh.OutcomeOK, RetryRetriableStatusCodes, 1, "rejected"},
		{"reset, retry_on reset", 0, mesh.OutcomeReset, RetryReset, 3, "rejected"},
		{"reset, retry_on connect-failure", 0, mesh.OutcomeReset, RetryConnectFailure, 1, "rejected"},
		{"reset, retry_on gateway-error", 0, mesh.OutcomeReset, RetryGatewayError, 3, "rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sim.NewScheduler(sim.Config{})
			u := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{tc.upstream}}
			c, cl := connCluster(t, s, Policy{Connections: &Connections{ConnectFailure: tc.connFail},
				Retries: RetryPolicy{NumRetries: 2, RetryOn: tc.retryOn}}, u)
			cl.send(c)
			require.NoError(t, s.Run())
			require.Len(t, cl.ended, 1)
			assert.Contains(t, cl.ended[0], tc.ended+"@")
			assert.Equal(t, tc.attempts, c.Stats().Attempts)
			if tc.connFail > 0 {
				assert.Equal(t, tc.attempts, c.ConnStats().ConnectFailures)
				assert.Empty(t, u.arrived, "no request reached the host")
			}
			assert.Zero(t, c.Unanswered())
			assert.Zero(t, c.InTransit())
		})
	}
	// In direct mode (no retries) a connection failure is answered 503.
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
	c, cl := connCluster(t, s, Policy{Connections: &Connections{ConnectFailure: 1}}, u)
	cl.send(c)
	require.NoError(t, s.Run())
	assert.Equal(t, []string{"rejected@2ms"}, cl.ended)
	assert.Zero(t, c.Unanswered())
}

func TestConnectionsAllocateNothing(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	u := &upstream{s: s, delay: time.Millisecond, script: []mesh.Outcome{mesh.OutcomeOK}}
	for _, proto := range []Protocol{HTTP1, HTTP2} {
		c, cl := connCluster(t, s, Policy{Connections: &Connections{Protocol: proto,
			MTLS: &MTLS{Handshake: constant(t, ms), PerRequest: constant(t, time.Microsecond)}}}, u)
		q := &quiet{pool: cl.pool}
		send := func() {
			u.arrived, u.keys = u.arrived[:0], u.keys[:0]
			for i := 0; i < 3; i++ {
				r := q.pool.Get()
				r.Origin = q
				r.Measured = true
				c.Send(r)
			}
			for s.Step() {
			}
		}
		for i := 0; i < 100; i++ {
			send()
		}
		assert.Zero(t, testing.AllocsPerRun(1000, send), "%v", proto)
	}
}

func TestConnectFailureWakesPoolsWaitingAtMaxConnections(t *testing.T) {
	// HTTP/1, max_connections 2 over two hosts 1ms away. At 0 a request
	// to host 1 opens a connection and holds it for 100ms, and a request
	// to host 0 opens the second, but host 0 is across a partition: the
	// attempt fails at the 50ms connect timeout. A request to host 1 at
	// 1ms needs a second connection there and waits for max_connections.
	// When the failed attempt frees its slot the waiting pool must get it:
	// connected at 52ms, answered at 64ms, instead of waiting for the
	// first connection of host 1 (104ms).
	s := sim.NewScheduler(sim.Config{})
	pool := &mesh.Pool{}
	u0 := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
	u1 := &upstream{s: s, delays: []time.Duration{100 * ms, 10 * ms}, script: []mesh.Outcome{mesh.OutcomeOK}}
	c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u0, u1}, Dynamic: true, Pool: pool,
		Policy:  Policy{LB: "round_robin", Connections: &Connections{Protocol: HTTP1, MaxConnections: 2, ConnectTimeout: 50 * ms}},
		Latency: []dist.Dist{constant(t, ms), constant(t, ms)}})
	require.NoError(t, err)
	cl := &caller{s: s, pool: pool}
	c.SetCut([]bool{true, false})
	to := func(h int) { c.SetEndpoints([]int{h}); cl.send(c) }
	to(1)
	to(0)
	s.Schedule(sim.Time(ms), handlerFunc(func() { to(1) }), sim.Event{})
	require.NoError(t, s.RunUntil(sim.Time(time.Second)))
	assert.Equal(t, []string{"rejected@50ms", "ok@64ms", "ok@104ms"}, cl.ended)
	assert.Zero(t, c.Unanswered())
	assert.Zero(t, c.pendingTotal)
}

func TestPoolWithoutConnectionsOpensOneAtMaxConnections(t *testing.T) {
	// max_connections 1 over two hosts 1ms away (10ms of service). A
	// request to host 0 at 0 opens the only connection, which stays open
	// and idle. A request to host 1 at 20ms finds the limit reached by
	// another pool: Envoy's pool with no connection opens one anyway
	// (ConnPoolImplBase::tryCreateNewConnection), counting an overflow,
	// instead of waiting for the idle one to time out an hour later.
	for _, proto := range []Protocol{HTTP1, HTTP2} {
		s := sim.NewScheduler(sim.Config{})
		pool := &mesh.Pool{}
		u0 := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
		u1 := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
		c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u0, u1}, Dynamic: true, Pool: pool,
			Policy:  Policy{LB: "round_robin", Connections: &Connections{Protocol: proto, MaxConnections: 1}},
			Latency: []dist.Dist{constant(t, ms), constant(t, ms)}})
		require.NoError(t, err)
		cl := &caller{s: s, pool: pool}
		c.SetEndpoints([]int{0})
		cl.send(c)
		s.Schedule(sim.Time(20*ms), handlerFunc(func() { c.SetEndpoints([]int{1}); cl.send(c) }), sim.Event{})
		require.NoError(t, s.RunUntil(sim.Time(time.Second)))
		assert.Equal(t, []string{"ok@14ms", "ok@34ms"}, cl.ended, "%v", proto)
		st := c.ConnStats()
		assert.Equal(t, int64(2), st.Opened, "%v", proto)
		assert.Equal(t, int64(1), st.Overflow, "%v: upstream_cx_overflow", proto)
		assert.Equal(t, 2, st.MaxOpen, "%v: one over max_connections", proto)
		assert.Zero(t, c.pendingTotal, "%v", proto)
	}
}

type handlerFunc func()

func (f handlerFunc) Handle(sim.Event) { f() }

// mortal is an upstream whose process can crash: it answers each request
// after delay, refuses requests while down, and a crash resets the
// requests it holds.
type mortal struct {
	s     *sim.Scheduler
	delay time.Duration
	down  bool
	held  []*mesh.Request
}

func (u *mortal) Arrive(r *mesh.Request) {
	if u.down {
		r.Origin.Finish(r, mesh.OutcomeRefused)
		return
	}
	u.held = append(u.held, r)
	u.s.After(u.delay, u, sim.Event{Ptr: r})
}

func (u *mortal) Handle(ev sim.Event) {
	r := ev.Ptr.(*mesh.Request)
	for i, h := range u.held {
		if h == r {
			u.held = append(u.held[:i], u.held[i+1:]...)
			r.Origin.Finish(r, mesh.OutcomeOK)
			return
		}
	}
}

func (u *mortal) Weight() uint32 { return 1 }

func (u *mortal) State() mesh.State {
	if u.down {
		return mesh.StateDown
	}
	return mesh.StateUp
}

// crash takes u down as mesh.Instance.Crash does: the proxy learns of it
// first, then the requests u held are reset.
func (u *mortal) crash(c *Cluster) {
	u.down = true
	c.HostCrashed(0)
	held := u.held
	u.held = nil
	for _, r := range held {
		r.Origin.Finish(r, mesh.OutcomeReset)
	}
}

func TestCrashClosesTheConnectionsToTheHost(t *testing.T) {
	// One host 1ms away, 10ms of service. Two requests at 0 open a
	// connection each over HTTP/1, one over HTTP/2; at 20ms a request
	// reuses one; at 25ms the host crashes: its connections close (the
	// idle one too), and the request it held is reset (503 at 26ms). A
	// request at 30ms finds the host down: the new connection is refused
	// (503 at 32ms). The host is back at 40ms; a request at 50ms opens a
	// fresh connection (answered at 64ms).
	for _, tc := range []struct {
		proto          Protocol
		opened, closed int64
	}{
		{HTTP1, 3, 2},
		{HTTP2, 2, 1},
	} {
		s := sim.NewScheduler(sim.Config{})
		u := &mortal{s: s, delay: 10 * ms}
		pool := &mesh.Pool{}
		c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Pool: pool,
			Policy: Policy{LB: "round_robin", Connections: &Connections{Protocol: tc.proto}}, Latency: []dist.Dist{constant(t, ms)}})
		require.NoError(t, err)
		cl := &caller{s: s, pool: pool}
		at := func(d time.Duration, f func()) { s.Schedule(sim.Time(0).Add(d), handlerFunc(f), sim.Event{}) }
		send := func() { cl.send(c) }
		at(0, send)
		at(0, send)
		at(20*ms, send)
		at(25*ms, func() { u.crash(c) })
		at(30*ms, send)
		at(40*ms, func() { u.down = false })
		at(50*ms, send)
		require.NoError(t, s.Run())
		assert.Equal(t, []string{"ok@14ms", "ok@14ms", "rejected@26ms", "rejected@32ms", "ok@64ms"}, cl.ended, "%v", tc.proto)
		st := c.ConnStats()
		assert.Equal(t, tc.opened, st.Opened, "%v: reconnected after the restart", tc.proto)
		assert.Equal(t, tc.closed, st.Closed, "%v: closed by the crash", tc.proto)
		assert.Equal(t, int64(1), st.ConnectFailures, "%v: refused while down", tc.proto)
		assert.Equal(t, 1, c.open, "%v: the fresh connection", tc.proto)
		assert.Zero(t, c.Unanswered(), "%v", tc.proto)
		assert.Zero(t, c.pendingTotal, "%v", tc.proto)
	}
}

func TestCrashFailsTheConnectionsBeingOpened(t *testing.T) {
	// A request at 0 opens a connection, due at 2ms; the host crashes at
	// 1ms and is back at 1.5ms: the handshake was with the dead process,
	// so the connection fails (503 at 2ms). A request at 10ms connects.
	for _, proto := range []Protocol{HTTP1, HTTP2} {
		s := sim.NewScheduler(sim.Config{})
		u := &mortal{s: s, delay: 10 * ms}
		pool := &mesh.Pool{}
		c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Pool: pool,
			Policy: Policy{LB: "round_robin", Connections: &Connections{Protocol: proto}}, Latency: []dist.Dist{constant(t, ms)}})
		require.NoError(t, err)
		cl := &caller{s: s, pool: pool}
		cl.send(c)
		s.Schedule(sim.Time(ms), handlerFunc(func() { u.crash(c) }), sim.Event{})
		s.Schedule(sim.Time(1500*time.Microsecond), handlerFunc(func() { u.down = false }), sim.Event{})
		s.Schedule(sim.Time(10*ms), handlerFunc(func() { cl.send(c) }), sim.Event{})
		require.NoError(t, s.Run())
		assert.Equal(t, []string{"rejected@2ms", "ok@24ms"}, cl.ended, "%v", proto)
		st := c.ConnStats()
		assert.Equal(t, int64(1), st.ConnectFailures, "%v", proto)
		assert.Equal(t, int64(1), st.Opened, "%v", proto)
		assert.Equal(t, 1, c.open, "%v", proto)
	}
}

func TestAbandonedAttemptLeavesThePendingQueue(t *testing.T) {
	// One host 20ms away (10ms of service), max_pending_requests 1. A
	// request at 0 with a 10ms deadline waits for the connection (due at
	// 40ms) and its call times out at 10ms: Envoy cancels the pending
	// stream (UpstreamRequest::resetStream, cancelAnyPendingStream), so
	// the queue is empty at once and the call is free. A request at 20ms
	// is then queued rather than refused as a pending overflow, and takes
	// the connection at 40ms (answered at 90ms).
	for _, proto := range []Protocol{HTTP1, HTTP2} {
		s := sim.NewScheduler(sim.Config{})
		u := &upstream{s: s, delay: 10 * ms, script: []mesh.Outcome{mesh.OutcomeOK}}
		pool := &mesh.Pool{}
		c, err := NewCluster(s, sim.NewStreams(1, 0), Config{Name: "web->api", Upstreams: []Upstream{u}, Pool: pool,
			Policy:  Policy{LB: "round_robin", Connections: &Connections{Protocol: proto, MaxPendingRequests: 1}},
			Latency: []dist.Dist{constant(t, 20*ms)}})
		require.NoError(t, err)
		cl := &caller{s: s, pool: pool}
		r := pool.Get()
		r.Origin, r.Measured, r.Deadline = cl, true, sim.Time(10*ms)
		c.Send(r)
		s.Schedule(sim.Time(15*ms), handlerFunc(func() {
			assert.Zero(t, c.pendingTotal, "%v: the abandoned attempt left the queue", proto)
			assert.Zero(t, c.InTransit(), "%v", proto)
			assert.Zero(t, c.Unanswered(), "%v", proto)
			assert.Len(t, c.calls, 1, "%v: the call is free", proto)
		}), sim.Event{})
		s.Schedule(sim.Time(20*ms), handlerFunc(func() { cl.send(c) }), sim.Event{})
		require.NoError(t, s.Run())
		assert.Equal(t, []string{"timeout@10ms", "ok@90ms"}, cl.ended, "%v", proto)
		assert.Zero(t, c.ConnStats().PendingOverflow, "%v", proto)
		assert.Zero(t, c.pendingTotal, "%v", proto)
		assert.Zero(t, c.Unanswered(), "%v", proto)
		assert.Len(t, u.arrived, 1, "%v: only the second request reached the host", proto)
	}
}
