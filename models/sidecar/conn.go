package sidecar

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// Protocol is the upstream protocol of a connection pool.
type Protocol uint8

// The protocols modelled.
const (
	// HTTP2 multiplexes every request to a host over one connection per
	// worker (Envoy's HTTP/2 pool with its default max_concurrent_streams
	// of 2^31-1; Linkerd and Istio's sidecar-to-sidecar traffic).
	HTTP2 Protocol = iota
	// HTTP1 carries one request at a time per connection: a request takes
	// an idle connection, or opens one, or waits for one (Envoy's HTTP/1.1
	// pool). Resetting a request (a per-try or route timeout) closes its
	// connection, as HTTP/1.1 has no way to cancel one request.
	HTTP1
)

func (p Protocol) String() string {
	if p == HTTP1 {
		return "http1"
	}
	return "http2"
}

// Connections configures a proxy's connection pools: one pool per worker
// and host, as Envoy keeps them. Opening a connection takes one network
// round trip for TCP and, with mTLS, another for the TLS 1.3 handshake
// plus its cryptographic cost; requests wait for it. A nil *Connections in
// a Policy means connections are free and always open (the default).
type Connections struct {
	Protocol Protocol
	// IdleTimeout closes a connection with no request for this long
	// (Envoy's idle_timeout, default 1h).
	IdleTimeout time.Duration
	// MaxConnections caps the connections open from the proxy to the
	// service (Envoy's max_connections circuit breaker, default 1024);
	// over it, requests wait for one to be released, except that a pool
	// with no connection at all opens one anyway, as Envoy's does.
	MaxConnections int
	// MaxPendingRequests caps the requests waiting for a connection
	// (Envoy's max_pending_requests, default 1024); over it a request is
	// answered a local 503 at once (an overflow, not retried).
	MaxPendingRequests int
	// ConnectFailure is the probability that opening a connection fails
	// (refused or reset during the handshake): every request waiting for
	// it fails with a connect failure, which retry_on connect-failure and
	// 5xx retry.
	ConnectFailure float64
	// MTLS, when set, secures every connection with mutual TLS.
	MTLS *MTLS
	// ConnectTimeout bounds a connection attempt that gets no answer (a
	// partition): Envoy's connect_timeout, default 5s (Istio sets 10s).
	ConnectTimeout time.Duration
}

// MTLS is the cost of mutual TLS between sidecars: Handshake is the
// cryptographic work of the TLS 1.3 handshake (both certificates
// verified, ECDHE), added to the handshake's extra round trip when a
// connection opens; PerRequest is the symmetric encryption and decryption
// of one request or answer, added to each direction.
type MTLS struct {
	Handshake  dist.Dist
	PerRequest dist.Dist
}

// withDefaults fills Envoy's defaults and validates.
func (c *Connections) validate() error {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = time.Hour
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 1024
	}
	if c.MaxPendingRequests == 0 {
		c.MaxPendingRequests = 1024
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	switch {
	case c.Protocol > HTTP1:
		return fmt.Errorf("%w: unknown protocol %d", ErrConfig, c.Protocol)
	case c.IdleTimeout < 0:
		return fmt.Errorf("%w: idle_timeout must be positive, got %v", ErrConfig, c.IdleTimeout)
	case c.MaxConnections < 1 || c.MaxPendingRequests < 1:
		return fmt.Errorf("%w: max_connections and max_pending_requests must be >= 1", ErrConfig)
	case !(c.ConnectFailure >= 0 && c.ConnectFailure <= 1):
		return fmt.Errorf("%w: connect_failure must be between 0 and 1, got %g", ErrConfig, c.ConnectFailure)
	case c.MTLS != nil && (c.MTLS.Handshake == nil || c.MTLS.PerRequest == nil):
		return fmt.Errorf("%w: mtls needs a handshake and a per_request cost", ErrConfig)
	}
	return nil
}

// connPool is one worker's connections to one host. With HTTP/2 it holds
// at most one connection, with any number of streams; with HTTP/1 each
// connection carries one request at a time, and idle ones wait in a LIFO
// stack (Envoy reuses the most recently used).
type connPool struct {
	worker, host int
	connecting   int        // connections being opened
	ready        int        // HTTP/2: 1 when the connection is open
	streams      int        // requests in flight on open connections
	idleSince    sim.Time   // HTTP/2: when streams last fell to 0
	idle         []sim.Time // HTTP/1: idle connections, by when they became idle
	pending      []*mesh.Request
	// gen is the generation of the pool's connections: a crash of the
	// host closes them all and starts a new one. A stream and a
	// connection being opened carry the generation they belong to, so
	// that the end of a stream on a closed connection changes nothing
	// and a handshake with the dead process fails.
	gen uint32
}

// process is the optional capability of an Upstream whose process can be
// down (mesh.Instance): connections to it are then refused.
type process interface {
	State() mesh.State
}

// Event kinds of connections.
const (
	evConnected     int32 = iota + 100 // Ptr is the *connPool, Arg its generation: a connection opened
	evConnectFailed                    // Ptr is the *connPool: opening one failed
)

// ConnStats counts what the connection pools did for all requests,
// measured or not (connections are shared by both).
type ConnStats struct {
	Opened          int64 // connections opened (handshakes completed)
	ConnectFailures int64 // connection attempts that failed
	Closed          int64 // connections closed: idle timeout, a reset request on HTTP/1, or the host's crash
	PendingOverflow int64 // requests refused because too many were waiting
	// Overflow counts the times a pool wanted a connection at the
	// max_connections limit (Envoy's upstream_cx_overflow), whether it
	// then waited or, having none, opened one anyway.
	Overflow int64
	MaxOpen  int // the most connections open at once
}

// pool returns worker's pool towards host h.
func (c *Cluster) pool(worker, h int) *connPool {
	return &c.pools[worker*len(c.hosts)+h]
}

// canSend reports whether an attempt to host h can be sent or queued:
// false when it would have to wait for a connection and the pending
// queue is full (Envoy's max_pending_requests overflow).
func (c *Cluster) canSend(worker, h int) bool {
	if c.conns == nil || c.pendingTotal < c.conns.MaxPendingRequests {
		return true
	}
	p := c.pool(worker, h)
	now := c.s.Now()
	c.expire(p, now)
	if c.conns.Protocol == HTTP2 {
		return p.ready > 0
	}
	return len(p.idle) > 0
}

// expire closes the pool's connections that have been idle for the idle
// timeout. It runs lazily, when the pool is next used: a closed
// connection costs nothing until then.
func (c *Cluster) expire(p *connPool, now sim.Time) {
	limit := c.conns.IdleTimeout
	if c.conns.Protocol == HTTP2 {
		if p.ready > 0 && p.streams == 0 && now.Sub(p.idleSince) >= limit {
			p.ready = 0
			c.closeConn()
		}
		return
	}
	// The stack is ordered by idle time, oldest at the bottom.
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n]) >= limit {
		n++
	}
	if n > 0 {
		p.idle = append(p.idle[:0], p.idle[n:]...)
		for ; n > 0; n-- {
			c.closeConn()
		}
	}
}

func (c *Cluster) closeConn() {
	c.open--
	c.connStats.Closed++
}

// connect sends r to host h over worker's pool: at once on an open
// connection, or after one opens.
func (c *Cluster) connect(worker, h int, r *mesh.Request) {
	p := c.pool(worker, h)
	now := c.s.Now()
	c.expire(p, now)
	switch {
	case c.conns.Protocol == HTTP2 && p.ready > 0:
		p.streams++
		c.markStream(p, r)
		c.transmit(h, r)
		return
	case c.conns.Protocol == HTTP1 && len(p.idle) > 0:
		p.idle = p.idle[:len(p.idle)-1]
		p.streams++
		c.markStream(p, r)
		c.transmit(h, r)
		return
	}
	p.pending = append(p.pending, r)
	c.pendingTotal++
	if r.Measured {
		c.transitMeasure++ // waiting in the proxy: neither at the host nor answered
	}
	if a, ok := r.Origin.(*attempt); ok {
		a.queued = true
	}
	// HTTP/2 opens one connection for all waiting requests; HTTP/1 one
	// per waiting request, within max_connections.
	if (c.conns.Protocol == HTTP2 && p.connecting == 0) ||
		(c.conns.Protocol == HTTP1 && p.connecting < len(p.pending)) {
		c.open1(p)
	}
}

// open1 starts opening one connection of p, if max_connections allows
// or p has no connection at all. The set-up takes a TCP round trip, and
// with mTLS a TLS round trip plus the handshake's cost; it fails with the
// ConnectFailure probability.
func (c *Cluster) open1(p *connPool) {
	if c.open >= c.conns.MaxConnections {
		// Close the connections that have idled out in any pool first.
		// Idle timeouts are applied when a pool is used, not on a timer,
		// so a pool waiting at max_connections is woken when a connection
		// is closed or released, not at the instant another idles out.
		now := c.s.Now()
		for i := range c.pools {
			c.expire(&c.pools[i], now)
		}
		if c.open >= c.conns.MaxConnections {
			c.connStats.Overflow++
			if p.connecting > 0 || p.ready > 0 || len(p.idle) > 0 || p.streams > 0 {
				return // the requests wait for a connection of p, or for a slot
			}
			// The limit is held by other pools and p has no connection:
			// open one anyway, over the limit, or p's requests could wait
			// for ever behind idle connections to other hosts. This is
			// Envoy's ConnPoolImplBase::tryCreateNewConnection
			// (source/common/conn_pool/conn_pool_base.cc): "If we are at
			// the connection circuit-breaker limit due to other upstreams
			// having too many open connections, and this upstream has no
			// connections, always create one", after counting
			// upstream_cx_overflow.
		}
	}
	c.open++
	c.connStats.MaxOpen = max(c.connStats.MaxOpen, c.open)
	p.connecting++
	var d time.Duration
	if c.latency != nil {
		d = 2 * c.latency[p.host].Sample(c.connRnd) // SYN, SYN-ACK; the request follows the ACK
	}
	rtt := d
	if m := c.conns.MTLS; m != nil {
		if c.latency != nil {
			d += 2 * c.latency[p.host].Sample(c.connRnd) // ClientHello .. server Finished
		}
		d += m.Handshake.Sample(c.connRnd)
	}
	kind := evConnected
	if c.conns.ConnectFailure > 0 && c.connRnd.Bernoulli(c.conns.ConnectFailure) {
		kind = evConnectFailed
	}
	if pr := c.hosts[p.host].proc; pr != nil && pr.State() == mesh.StateDown {
		// The host's process is gone and its port closed: the SYN is
		// answered by a RST, a connect failure after one round trip.
		// (The draws above are made all the same, so that a crash does
		// not shift the stream.)
		kind, d = evConnectFailed, rtt
	}
	if c.cut != nil && c.cut[p.host] {
		// Across a partition the SYN goes unanswered: the attempt fails
		// at the connect timeout.
		kind, d = evConnectFailed, c.conns.ConnectTimeout
	}
	c.s.After(d, c, sim.Event{Kind: kind, Arg: int64(p.gen), Ptr: p})
}

// connected handles a connection of p that opened: HTTP/2 sends every
// waiting request over it, HTTP/1 the first waiting one. A connection
// of an older generation was being opened to a process that has crashed
// since: it fails.
func (c *Cluster) connected(p *connPool, gen uint32) {
	if gen != p.gen {
		c.connectFailed(p)
		return
	}
	p.connecting--
	c.connStats.Opened++
	now := c.s.Now()
	if c.conns.Protocol == HTTP2 {
		p.ready = 1
		p.idleSince = now
		for len(p.pending) > 0 {
			c.flush1(p)
		}
		return
	}
	c.handOut(p)
}

// handOut gives a free HTTP/1 connection of p to the first waiting
// request, or keeps it idle.
func (c *Cluster) handOut(p *connPool) {
	if len(p.pending) > 0 {
		c.flush1(p)
		return
	}
	p.idle = append(p.idle, c.s.Now())
}

// flush1 sends the first waiting request of p over a connection it just
// got. (An abandoned attempt has left the queue already: dequeue.)
func (c *Cluster) flush1(p *connPool) {
	r := p.pending[0]
	copy(p.pending, p.pending[1:])
	p.pending[len(p.pending)-1] = nil
	p.pending = p.pending[:len(p.pending)-1]
	c.pendingTotal--
	if r.Measured {
		c.transitMeasure--
	}
	p.streams++
	c.markStream(p, r)
	c.transmit(p.host, r)
}

// dequeue removes attempt a, which its call has abandoned, from the queue
// of requests waiting for a connection, at once: Envoy's router cancels
// the pending stream when it resets the upstream request
// (UpstreamRequest::resetStream calls cancelAnyPendingStream, and
// ConnPoolImplBase::onPendingStreamCancel takes it off the list), so it
// stops counting against max_pending_requests and holds its call no
// longer. A connection being opened for it is left to open (the Default
// cancel policy), and then waits idle or serves the next request. The
// attempt is released; the caller releases the call (maybeRelease). The
// queue keeps its order. O(requests waiting in the pool).
func (c *Cluster) dequeue(a *attempt) {
	p := c.pool(a.call.worker, a.host)
	i := 0
	for i < len(p.pending) && p.pending[i].Origin != mesh.Origin(a) {
		i++
	}
	if i == len(p.pending) {
		panic(fmt.Sprintf("sidecar: cluster %s: a queued attempt is not in its pool's queue", c.name))
	}
	r := p.pending[i]
	n := len(p.pending) - 1
	copy(p.pending[i:], p.pending[i+1:])
	p.pending[n] = nil
	p.pending = p.pending[:n]
	c.pendingTotal--
	if r.Measured {
		c.transitMeasure--
		c.unansweredMeasured-- // it never left the proxy
	}
	a.call.refs--
	c.putAttempt(a)
	c.reqs.Put(r)
}

// connectFailed fails every request waiting on p that no other connection
// being opened will carry, and gives the slot under max_connections to a
// pool waiting for one.
func (c *Cluster) connectFailed(p *connPool) {
	p.connecting--
	c.open--
	c.connStats.ConnectFailures++
	keep := 0
	if c.conns.Protocol == HTTP1 {
		keep = p.connecting // each connection being opened will take one
	}
	for len(p.pending) > keep {
		r := p.pending[len(p.pending)-1]
		p.pending[len(p.pending)-1] = nil
		p.pending = p.pending[:len(p.pending)-1]
		c.pendingTotal--
		if r.Measured {
			c.transitMeasure--
		}
		c.failConnect(r)
	}
	c.wakeOthers() // the failed connection's slot is free for a pool waiting at max_connections
}

// failConnect answers r, which never reached its host, with a connect
// failure.
func (c *Cluster) failConnect(r *mesh.Request) {
	if a, ok := r.Origin.(*attempt); ok {
		a.connectFailed = true
		c.answer(a, r, mesh.OutcomeReset)
		c.reqs.Put(r)
		return
	}
	c.Finish(r, mesh.OutcomeReset)
}

// markStream records that r has a connection of p and is being sent. For
// an attempt it starts the per-try timeout: Envoy arms it when the
// connection pool is ready (UpstreamRequest::onPoolReady), so waiting for
// a connection counts against the route timeout only.
func (c *Cluster) markStream(p *connPool, r *mesh.Request) {
	if a, ok := r.Origin.(*attempt); ok {
		a.stream, a.conn, a.queued = true, p.gen, false
		if d := a.call.pol.PerTryTimeout; d > 0 {
			a.perTry = c.s.After(d, c, sim.Event{Kind: evPerTryTimeout, Ptr: a})
		}
		return
	}
	r.Hop.Stream, r.Hop.Conn = true, p.gen
}

// released ends a request's use of a connection of p of generation gen:
// its answer came back (reset false), or the proxy reset it (a timeout:
// reset true). HTTP/1 closes a reset connection and otherwise gives it to
// the next waiting request or keeps it idle; HTTP/2 only counts the
// stream. A connection of an older generation was closed when its host
// crashed, and its streams with it: nothing is left to release.
func (c *Cluster) released(p *connPool, reset bool, gen uint32) {
	if gen != p.gen {
		return
	}
	now := c.s.Now()
	if c.conns.Protocol == HTTP2 {
		p.streams--
		if p.streams == 0 {
			p.idleSince = now
		}
		return
	}
	p.streams--
	if reset {
		c.closeConn()
		if len(p.pending) > p.connecting {
			c.open1(p)
		}
		c.wakeOthers()
		return
	}
	c.handOut(p)
}

// HostCrashed tells the proxy that host h's process has died (a crash, or
// a pod stopped): the kernel closed its sockets, so every connection of
// every worker to h closes now, idle or carrying streams, and counts as
// closed. The streams on them are lost with the host, which answers their
// requests reset; connections being opened to it fail; new ones are
// refused while its process is down (an Upstream with a State method);
// after a restart the proxy opens fresh ones, handshakes included.
// Requests waiting for a connection to h stay queued: a pool left with
// none opens one, which fails while h is down. The proxy learns of the
// crash at once, not one network delay later as a RST would tell it.
// O(pools).
func (c *Cluster) HostCrashed(h int) {
	if c.conns == nil {
		return
	}
	for w := range c.policy.Workers {
		p := c.pool(w, h)
		n := p.ready + len(p.idle)
		if c.conns.Protocol == HTTP1 {
			n += p.streams // one connection per stream
		}
		for ; n > 0; n-- {
			c.closeConn()
		}
		p.ready, p.streams, p.idle = 0, 0, p.idle[:0]
		p.gen++
		if (c.conns.Protocol == HTTP2 && p.connecting == 0 && len(p.pending) > 0) ||
			(c.conns.Protocol == HTTP1 && p.connecting < len(p.pending)) {
			c.open1(p)
		}
	}
	c.wakeOthers()
}

// wakeOthers opens a connection for a pool that is waiting for
// max_connections to allow one, in pool order, when a slot is free. Only
// an HTTP/1 pool that has connections waits so: one with none opens one
// over the limit (open1).
func (c *Cluster) wakeOthers() {
	if c.pendingTotal == 0 {
		return
	}
	for i := range c.pools {
		if c.open >= c.conns.MaxConnections {
			return
		}
		p := &c.pools[i]
		if len(p.pending) > p.connecting && (c.conns.Protocol == HTTP1 || p.connecting == 0) {
			c.open1(p)
		}
	}
}

// Pooled reports whether the proxy keeps connection pools (a non-nil
// Policy.Connections); without them ConnStats stays zero. Pools are fixed
// for the cluster's life: SetPolicy cannot change them.
func (c *Cluster) Pooled() bool { return c.conns != nil }

// ConnStats returns the connection pools' counts since the start, or
// since the last ResetConnStats.
func (c *Cluster) ConnStats() ConnStats { return c.connStats }

// ResetConnStats restarts the connection counts (at the end of the
// warm-up): the most connections open starts from those open now.
func (c *Cluster) ResetConnStats() { c.connStats = ConnStats{MaxOpen: c.open} }
