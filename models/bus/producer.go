package bus

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/models/mesh"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
	"github.com/meshsim/meshsim/sim/stats"
)

// Key is a message key: a number, or null.
type Key struct {
	v  uint64
	ok bool
}

// KeyOf returns the key v.
func KeyOf(v uint64) Key { return Key{v, true} }

// NullKey is the null key: the producer partitions it stickily.
var NullKey = Key{}

// Event kinds of a Producer.
const (
	evWake        int32 = iota + 1 // room or a leader may be available for the waiting lanes
	evAdmit                        // buffer memory was freed: admit the publishes waiting for it
	evBufferBlock                  // the oldest publish waiting for buffer memory may have reached max_block
)

// Event kinds of a lane.
const (
	evLinger   int32 = iota + 1 // the head batch's linger elapsed
	evExpire                    // the head message reached max_block or delivery_timeout
	evResponse                  // Ptr's acknowledgement arrived
	evError                     // the error response of the oldest failed request arrived; Arg = the connection it was sent on
)

// ProducerStats is what a producer's messages experienced.
type ProducerStats struct {
	Published int64 // messages handed to Publish or Send
	Acked     int64 // acknowledged (a retried message once)
	Refused   int64 // rejected, timed out blocking, or not acknowledged within delivery_timeout
	Blocked   int64 // messages that had to wait for room (in the destination or the buffer memory)
	Waiting   int64 // messages in the producer now (waiting for buffer memory, accumulating, waiting for room, a leader or an in-flight slot)
	Sent      int64 // writes (a retried message counts again)
	Batches   int64 // batches sent
	// BufferBlocked counts the messages that had to wait for buffer
	// memory (they count in Blocked too); BufferBytes is the buffer memory
	// held now, BufferPeak the most held at once.
	BufferBlocked int64
	BufferBytes   int64
	BufferPeak    int64
	// Retries counts messages returned by a leader's failure to be sent
	// again; DedupedRetries those of them the broker recognised as already
	// written (idempotence), DuplicateWrites those it wrote twice.
	Retries         int64
	DedupedRetries  int64
	DuplicateWrites int64
	// Errors counts produce requests (batches) that failed with a
	// retriable error (ErrorProb); OutOfOrder those an idempotent
	// producer's broker refused because an earlier sequence was missing
	// (OUT_OF_ORDER_SEQUENCE_NUMBER). Their messages count in Retries.
	Errors     int64
	OutOfOrder int64
	// AckLatency is publish to acknowledgement, ns; QueueTime is publish
	// to the write (linger, waiting for an in-flight slot, a leader or
	// room), ns.
	AckLatency *stats.Histogram
	QueueTime  *stats.Histogram
}

// Producer publishes messages to one destination: a key's partition is
// Kafka's murmur2 partitioner, a null key goes to a sticky partition.
// Each partition has an accumulator (a lane) whose messages are sent in
// batches of up to batch_bytes/message_bytes messages, once the batch is
// full or has lingered Linger, with at most MaxInFlight batches
// unanswered; a batch is answered at send (acks=0), at the leader's append
// (acks=1) or when the write is replicated (acks=all), plus ResponseTime.
// With the block policy a lane whose partition is full waits for room, up
// to MaxBlock; one whose partition has no leader (or too few in-sync
// replicas for acks=all) waits for one, up to DeliveryTimeout after each
// message's publish, and then resends, in order. Publish and Send are
// O(1) amortised and allocate nothing in steady state.
//
// Every message holds MessageBytes of the producer's BufferMemory from
// publish until it is acknowledged or refused (with acks=0, until it is
// sent), as a record holds Kafka's BufferPool memory from its append to
// the accumulator until its batch completes, through linger, the wait
// for an in-flight slot, a leader or room, the send, replication and the
// response, and retries. A publish that finds the memory full waits
// before its accumulator, in publish order (BufferPool serves its waiters
// first come, first served), until enough is freed, up to MaxBlock after
// its publish; then it is refused (DropBlockTimeout), as Kafka's send()
// blocks in BufferPool.allocate and throws a TimeoutException after
// max.block.ms. A message that waited for memory counts its
// DeliveryTimeout from its admission (Kafka's from the batch's
// creation, after the allocation).
//
// A Producer implements workload.Sender through Send: a workload's
// request is answered OK when its message is acknowledged, rejected or
// timed out when it is refused.
type Producer struct {
	cfg        ProducerConfig
	s          *sim.Scheduler
	dest       Destination
	pool       *Pool
	keyRnd     *sim.Rand
	partRnd    *sim.Rand
	respRnd    *sim.Rand
	errRnd     *sim.Rand
	backoffRnd *sim.Rand
	idempotent bool
	batchMsgs  int
	zipf       []float64 // KeyZipf: cumulative weights of keys 0..KeySpace-1

	sticky     int32
	stickyLeft int

	lanes      []*lane
	wakePosted bool

	// Buffer memory (buffer.memory): the bytes held by admitted messages,
	// and the publishes waiting for memory, in publish order.
	bufUsed     int64
	bufWait     ring[*Message]
	bufTimer    sim.Timer
	admitPosted bool

	st ProducerStats
}

// lane is a producer's accumulator for one partition.
type lane struct {
	p        *Producer
	part     int32
	acc      ring[*Message] // not yet written, in order
	inflight int            // batches sent on connection conn and not yet answered
	// conn numbers the lane's connection to its partition's leader: a
	// failover breaks it (and every request in flight on it) and the lane
	// reconnects to the new leader with conn+1 and no request in flight.
	conn  uint32
	resp  []*Message // written, their acknowledgements on the way (any order)
	known bool       // registered with the partition, which tells it of a failover
	// wait is offerFull while waiting for room, offerUnavailable while
	// waiting for a leader, offerAccepted otherwise.
	wait        offerResult
	flushing    bool
	lingerTimer sim.Timer
	expireTimer sim.Timer
	// Failed produce requests whose error response is on its way: their
	// messages in send order, the size of each request, and when the last
	// error arrives (responses come in request order).
	errMsgs  ring[*Message]
	errSizes ring[int32]
	errLast  sim.Time
	// gap (idempotent producers): the broker is missing the sequence of
	// message gapID, which failed; it refuses every later batch until a
	// batch starting at gapID arrives.
	gap   bool
	gapID uint64
}

// NewProducer returns a producer publishing to dest. Keys are drawn from
// streams.Get(name, "key"), sticky partitions from
// streams.Get(name, "partition"), response times from
// streams.Get(name, "response").
func NewProducer(s *sim.Scheduler, streams sim.Streams, pool *Pool, dest Destination, cfg ProducerConfig) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil || dest == nil {
		return nil, fmt.Errorf("%w: producer %q: no message pool or destination", ErrConfig, cfg.Name)
	}
	cfg = cfg.withDefaults()
	p := &Producer{
		cfg: cfg, s: s, dest: dest, pool: pool,
		keyRnd: streams.Get(cfg.Name, "key"), partRnd: streams.Get(cfg.Name, "partition"), respRnd: streams.Get(cfg.Name, "response"),
		errRnd: streams.Get(cfg.Name, "error"), backoffRnd: streams.Get(cfg.Name, "backoff"),
		idempotent: cfg.idempotent(), batchMsgs: max(1, cfg.BatchBytes/cfg.MessageBytes),
		sticky: -1, st: ProducerStats{AckLatency: stats.NewHistogram(), QueueTime: stats.NewHistogram()},
	}
	for i := range dest.Partitions() {
		p.lanes = append(p.lanes, &lane{p: p, part: int32(i)})
	}
	if cfg.Keys == KeyZipf {
		p.zipf = zipfTable(cfg.KeySpace, cfg.KeySkew)
	}
	return p, nil
}

// Name returns the producer name.
func (p *Producer) Name() string { return p.cfg.Name }

// Stats returns the producer's counts so far. O(partitions).
func (p *Producer) Stats() ProducerStats {
	st := p.st
	st.Waiting = int64(p.bufWait.len())
	st.BufferBytes = p.bufUsed
	for _, ln := range p.lanes {
		st.Waiting += int64(ln.acc.len())
	}
	st.AckLatency = p.st.AckLatency.Clone()
	st.QueueTime = p.st.QueueTime.Clone()
	return st
}

// Held returns the pending messages waiting in the producer (a retry's
// copy of a message already written is not one), failed requests
// included. O(messages waiting).
func (p *Producer) Held() int64 {
	n := int64(p.bufWait.len())
	for _, ln := range p.lanes {
		for _, q := range []*ring[*Message]{&ln.acc, &ln.errMsgs} {
			for i := 0; i < q.len(); i++ {
				if q.at(i).dupOf == nil {
					n++
				}
			}
		}
	}
	return n
}

// Publish publishes one message with key k and trace id traceID, and
// returns it. The message belongs to the bus: the caller may read it only
// until it returns control to the scheduler.
func (p *Producer) Publish(k Key, traceID uint64) *Message {
	return p.publish(k, traceID, nil)
}

// Send publishes one message for the workload request r (its trace id is
// r.ID, its key chosen by the Keys mode) and answers r when the message is
// acknowledged or refused.
func (p *Producer) Send(r *mesh.Request) {
	var k Key
	switch p.cfg.Keys {
	case KeyRequest:
		k = KeyOf(r.Key)
	case KeyUniform:
		k = KeyOf(uint64(p.keyRnd.IntN(p.cfg.KeySpace)))
	case KeyZipf:
		k = KeyOf(uint64(zipfKey(p.zipf, p.keyRnd.Float64())))
	}
	id := r.ID
	if r.Trace != nil {
		id = r.Trace.ID()
	}
	p.publish(k, id, r)
}

// zipfTable returns the cumulative weights of keys 0..n-1 under Zipf's law
// with exponent s, normalised so that the last is 1. The weights are
// summed in key order, so the table is the same on every machine. O(n).
func zipfTable(n int, s float64) []float64 {
	t := make([]float64, n)
	var sum float64
	for k := range n {
		sum += dist.Pow(float64(k+1), -s) // portable: bit-identical on every architecture
		t[k] = sum
	}
	for k := range t {
		t[k] /= sum
	}
	t[n-1] = 1
	return t
}

// zipfKey returns the key whose cumulative weight interval holds u in
// [0, 1): the first k with table[k] > u. O(log n), no allocation.
func zipfKey(table []float64, u float64) int {
	k, _ := slices.BinarySearch(table, u)
	if k < len(table) && table[k] == u {
		k++ // table[k] > u is wanted, not >=
	}
	return min(k, len(table)-1)
}

func (p *Producer) publish(k Key, traceID uint64, ref any) *Message {
	m := p.pool.Get()
	m.Key, m.HasKey, m.TraceID = k.v, k.ok, traceID
	m.Topic = p.dest.Name()
	m.Produced = p.s.Now()
	m.Bytes = int32(p.cfg.MessageBytes)
	m.producer, m.ref = p, ref
	m.Partition = p.partition(k)
	ls := p.dest.ledgerList()
	m.setTracks(len(ls))
	if req, ok := ref.(*mesh.Request); ok && req.Trace != nil {
		m.trace = req.Trace // held by each track while it is pending
	}
	for i, l := range ls {
		l.published(m.tr(i))
		if m.trace != nil {
			m.trace.Hold()
		}
	}
	p.st.Published++
	if p.bufWait.len() > 0 || p.bufUsed+int64(m.Bytes) > p.cfg.BufferMemory {
		// send() blocks in BufferPool.allocate, behind the earlier waiters.
		p.bufWait.push(m)
		p.st.Blocked++
		p.st.BufferBlocked++
		if !p.s.Scheduled(p.bufTimer) {
			p.bufTimer = p.s.Schedule(m.Produced.Add(p.cfg.MaxBlock), p, sim.Event{Kind: evBufferBlock})
		}
		return m
	}
	p.admit(m, false)
	return m
}

// admit appends m to its partition's accumulator, taking its bytes of
// buffer memory; waited says whether it waited for them.
func (p *Producer) admit(m *Message, waited bool) {
	if p.cfg.Acks == AcksNone {
		p.ack(m) // the producer does not wait
	}
	p.bufUsed += int64(m.Bytes)
	p.st.BufferPeak = max(p.st.BufferPeak, p.bufUsed)
	m.buffered = true
	m.appended = p.s.Now()
	ln := p.lanes[m.Partition]
	ln.acc.push(m)
	ln.flush()
	if !waited && ln.wait == offerFull && ln.acc.len() > 0 && ln.acc.at(ln.acc.len()-1) == m {
		p.st.Blocked++
	}
}

// free gives m's buffer memory back, if it holds any, and lets the
// waiting publishes in (after the current event, as BufferPool.deallocate
// signals the first waiter).
func (p *Producer) free(m *Message) {
	if !m.buffered {
		return
	}
	m.buffered = false
	p.bufUsed -= int64(m.Bytes)
	if !p.admitPosted && p.bufWait.len() > 0 && p.bufUsed+int64(p.bufWait.at(0).Bytes) <= p.cfg.BufferMemory {
		p.admitPosted = true
		p.s.After(0, p, sim.Event{Kind: evAdmit})
	}
}

// partition picks m's partition: murmur2 of the key, or the sticky
// partition for a null key.
func (p *Producer) partition(k Key) int32 {
	n := p.dest.Partitions()
	if k.ok {
		return int32(PartitionForKey(k.v, n))
	}
	if p.stickyLeft == 0 || p.sticky < 0 {
		// BuiltInPartitioner.nextPartition: uniform, may pick the same
		// partition again.
		p.sticky = int32(p.partRnd.IntN(n))
		p.stickyLeft = p.cfg.StickyBatch
	}
	p.stickyLeft--
	return p.sticky
}

// flush sends the lane's batches while it may: not waiting for room or a
// leader, an in-flight slot free, and the head batch full or lingered
// (a retried batch goes at once). A flush re-entered from an
// acknowledgement during a send returns at once; the outer loop goes on.
func (ln *lane) flush() {
	p := ln.p
	if ln.wait != offerAccepted || ln.flushing {
		return
	}
	ln.flushing = true
	ln.flushLoop()
	ln.flushing = false
	if ln.acc.len() == 0 {
		p.s.Cancel(ln.expireTimer)
	}
}

func (ln *lane) flushLoop() {
	p := ln.p
	for ln.acc.len() > 0 && ln.inflight < p.cfg.MaxInFlight {
		head := ln.acc.at(0)
		n := min(ln.acc.len(), p.batchMsgs)
		if head.retried && head.retryAt > p.s.Now() {
			// retry.backoff.ms: the partition's queue waits behind its head
			// (RecordAccumulator.drain skips a backing-off first batch).
			if !p.s.Scheduled(ln.lingerTimer) {
				ln.lingerTimer = p.s.Schedule(head.retryAt, ln, sim.Event{Kind: evLinger})
			}
			return
		}
		if n < p.batchMsgs && p.cfg.Linger > 0 && !head.retried {
			// linger.ms counts from the batch's first record.
			if due := head.Produced.Add(p.cfg.Linger); due > p.s.Now() {
				if !p.s.Scheduled(ln.lingerTimer) {
					ln.lingerTimer = p.s.Schedule(due, ln, sim.Event{Kind: evLinger})
				}
				return
			}
		}
		if !ln.send(n) {
			return
		}
	}
}

// send writes the head batch of n messages and reports whether the lane
// may go on (false: it waits for room or a leader).
func (ln *lane) send(n int) bool {
	p := ln.p
	if p.cfg.Acks != AcksNone && (p.cfg.ErrorProb > 0 || ln.gap) && ln.fails(n) {
		return true
	}
	first := ln.acc.at(0)
	var last *Message
	ok := true
	for range n {
		m := ln.acc.at(0)
		res := p.dest.offer(m)
		if res == offerFull || res == offerUnavailable {
			ln.block(res)
			ok = false
			break
		}
		ln.acc.pop()
		m.retried = false
		if p.cfg.Acks == AcksNone {
			p.free(m) // the batch completes once sent
		}
		switch res {
		case offerAccepted:
			p.st.Sent++
			p.st.QueueTime.Record(int64(p.s.Now().Sub(m.Produced)))
			if m.dupOf != nil {
				p.st.DuplicateWrites++
			}
			last = m
		case offerRejected:
			p.refuse(m, DropRejected)
		case offerDeduped:
			p.st.DedupedRetries++
			p.ack(m)
			m.gone = true
			p.pool.release(m)
		}
	}
	if last != nil {
		p.st.Batches++
		if !last.acked { // answered later: the batch holds an in-flight slot
			last.batchLast = true
			ln.inflight++
		}
	}
	if ln.gap && first.ID == ln.gapID && (ln.acc.len() == 0 || ln.acc.at(0) != first) {
		ln.gap = false // the missing sequence arrived: the broker takes the next ones again
	}
	return ok
}

// fails decides whether the produce request of the head n messages fails,
// and if so takes them out of the queue until its error response arrives,
// holding an in-flight slot: an idempotent producer's broker that misses
// an earlier sequence refuses the request (OUT_OF_ORDER_SEQUENCE_NUMBER),
// and any request fails with probability ErrorProb (a retriable error).
// The first failure of an idempotent producer opens the gap.
func (ln *lane) fails(n int) bool {
	p := ln.p
	head := ln.acc.at(0)
	switch {
	case ln.gap && head.ID != ln.gapID:
		p.st.OutOfOrder++
	case p.cfg.ErrorProb > 0 && p.errRnd.Bernoulli(p.cfg.ErrorProb):
		p.st.Errors++
		if p.idempotent && !ln.gap {
			ln.gap, ln.gapID = true, head.ID
		}
	default:
		return false
	}
	for range n {
		ln.errMsgs.push(ln.acc.pop())
	}
	ln.errSizes.push(int32(n))
	ln.inflight++
	at := p.s.Now()
	if p.cfg.ResponseTime != nil {
		at = at.Add(p.cfg.ResponseTime.Sample(p.respRnd))
	}
	at = max(at, ln.errLast) // a connection's responses come in request order
	ln.errLast = at
	p.s.Schedule(at, ln, sim.Event{Kind: evError, Arg: int64(ln.conn)})
	return true
}

// failed handles the error response of the oldest failed request, sent
// on connection conn: its slot is free, and its messages go back into the
// queue in sequence order (Sender.reenqueueBatch, insertInSequenceOrder for
// an idempotent producer; a non-idempotent one puts the batch first, which
// is the same place here, since everything queued is newer), to be resent
// after the backoff, or are dropped if that would pass their delivery
// timeout.
func (ln *lane) failed(conn uint32) {
	p := ln.p
	n := int(ln.errSizes.pop())
	if conn == ln.conn {
		if ln.inflight <= 0 {
			panic(fmt.Sprintf("bus: producer %s lane %d: an error response with no request in flight (seq %d)", p.cfg.Name, ln.part, p.s.Fired()))
		}
		ln.inflight--
	}
	// Else a failover broke the request's connection: its slot went with
	// it, and the slots counted now are the new connection's.
	if n == 0 {
		return
	}
	att := ln.errMsgs.at(0).attempts
	if att < 255 {
		att++
	}
	retryAt := p.s.Now().Add(p.backoff(att))
	for range n {
		m := ln.errMsgs.pop()
		m.attempts = att
		p.st.Retries++
		if retryAt >= m.appended.Add(p.cfg.DeliveryTimeout) {
			if ln.gap && m.ID == ln.gapID {
				// KIP-360: the producer bumps its epoch and starts the
				// partition's sequence over.
				ln.gap = false
			}
			p.refuse(m, DropDeliveryTimeout)
			continue
		}
		m.retried, m.retryAt = true, retryAt
		ln.insert(m)
	}
	ln.flush()
}

// insert puts m, a message to retry, into the queue in sequence (ID)
// order: after the retries older than it, before everything newer.
// O(retries queued).
func (ln *lane) insert(m *Message) {
	ln.acc.pushFront(m)
	for i := 0; i+1 < ln.acc.len() && ln.acc.at(i+1).ID < m.ID; i++ {
		ln.acc.set(i, ln.acc.at(i+1))
		ln.acc.set(i+1, m)
	}
}

// backoff returns the wait before the n-th retry of a batch:
// min(RetryBackoffMax, RetryBackoff*2^(n-1)) times a jitter uniform in
// [0.8, 1.2] (Kafka's ExponentialBackoff with jitter 0.2, KIP-580).
func (p *Producer) backoff(n uint8) time.Duration {
	d, hi := p.cfg.RetryBackoff, p.cfg.RetryBackoffMax
	for i := uint8(1); i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	j := float64(0.8 + float64(0.4*p.backoffRnd.Float64()))
	return time.Duration(float64(float64(d) * j))
}

// block makes the lane wait for room (offerFull) or a leader.
func (ln *lane) block(why offerResult) {
	ln.wait = why
	ln.p.dest.await(ln.part, ln.p)
	ln.armExpire()
}

// armExpire schedules the head's max_block or delivery_timeout deadline.
// A head that waited for a leader past its max_block before it found the
// partition full has its deadline behind it: it expires now.
func (ln *lane) armExpire() {
	p := ln.p
	p.s.Cancel(ln.expireTimer)
	if ln.acc.len() == 0 {
		return
	}
	ln.expireTimer = p.s.Schedule(max(ln.deadline(ln.acc.at(0)), p.s.Now()), ln, sim.Event{Kind: evExpire})
}

// deadline returns when m, waiting in the lane, is given up on: max_block
// after its publish while the lane waits for room, delivery_timeout after
// its admission otherwise.
func (ln *lane) deadline(m *Message) sim.Time {
	if ln.wait == offerFull {
		return m.Produced.Add(ln.p.cfg.MaxBlock)
	}
	return m.appended.Add(ln.p.cfg.DeliveryTimeout)
}

// Handle implements sim.Handler.
func (ln *lane) Handle(ev sim.Event) {
	p := ln.p
	switch ev.Kind {
	case evLinger:
		ln.flush()
	case evExpire:
		now := p.s.Now()
		r := DropDeliveryTimeout
		if ln.wait == offerFull {
			r = DropBlockTimeout
		}
		for ln.acc.len() > 0 && ln.deadline(ln.acc.at(0)) <= now {
			p.refuse(ln.acc.pop(), r)
		}
		if ln.acc.len() > 0 {
			ln.armExpire()
			if ln.wait != offerAccepted {
				// Try again now, as Kafka's sender does after expiring
				// batches.
				ln.wait = offerAccepted
				ln.flush()
			}
		}
	case evError:
		ln.failed(uint32(ev.Arg))
	case evResponse:
		m := ev.Ptr.(*Message)
		ln.dropResp(m)
		m.respPending = false
		m.holders--
		p.ack(m)
		p.pool.release(m)
	default:
		panic(fmt.Sprintf("bus: producer %s lane %d got event kind %d", p.cfg.Name, ln.part, ev.Kind))
	}
}

// wake is called by a destination when room or a leader may be available.
func (p *Producer) wake() {
	if !p.wakePosted {
		p.wakePosted = true
		p.s.After(0, p, sim.Event{Kind: evWake})
	}
}

// Handle implements sim.Handler.
func (p *Producer) Handle(ev sim.Event) {
	switch ev.Kind {
	case evWake:
		p.wakePosted = false
		for _, ln := range p.lanes {
			if ln.wait != offerAccepted {
				ln.wait = offerAccepted
				ln.flush()
			}
		}
	case evAdmit:
		p.admitPosted = false
		for p.bufWait.len() > 0 && p.bufUsed+int64(p.bufWait.at(0).Bytes) <= p.cfg.BufferMemory {
			p.admit(p.bufWait.pop(), true)
		}
	case evBufferBlock:
		// max.block.ms: the waiting publishes' deadlines come in publish
		// order; the timer may be an admitted one's, and is then moved on.
		now := p.s.Now()
		for p.bufWait.len() > 0 && p.bufWait.at(0).Produced.Add(p.cfg.MaxBlock) <= now {
			p.refuse(p.bufWait.pop(), DropBlockTimeout)
		}
		if p.bufWait.len() > 0 {
			p.bufTimer = p.s.Schedule(p.bufWait.at(0).Produced.Add(p.cfg.MaxBlock), p, sim.Event{Kind: evBufferBlock})
		}
	default:
		panic(fmt.Sprintf("bus: producer %s got event kind %d", p.cfg.Name, ev.Kind))
	}
}

// refuse ends m, which the destination did not take. A retry's copy of a
// message already written takes nothing from the accounting: the original
// is in the log.
func (p *Producer) refuse(m *Message, r DropReason) {
	p.free(m)
	if m.dupOf == nil {
		for i, l := range p.dest.ledgerList() {
			l.dropped(m, m.tr(i), r)
		}
	}
	p.st.Refused++
	if req, ok := m.ref.(*mesh.Request); ok { // nil with acks=0: answered at send
		o := mesh.OutcomeRejected
		if r == DropBlockTimeout || r == DropDeliveryTimeout {
			o = mesh.OutcomeTimeout
		}
		m.ref = nil
		req.Origin.Finish(req, o)
	}
	m.producer = nil
	m.gone = true
	p.pool.release(m)
}

// appended is called by a partition or queue when the leader appended m.
func (p *Producer) appended(m *Message) {
	if p.cfg.Acks == AcksLeader {
		p.respond(m)
	}
}

// replicated is called when m is replicated (visible to consumers).
func (p *Producer) replicated(m *Message) {
	if p.cfg.Acks == AcksAll {
		p.respond(m)
	}
}

// respond sends m's acknowledgement, which arrives after ResponseTime.
func (p *Producer) respond(m *Message) {
	if p.cfg.ResponseTime == nil {
		p.ack(m)
		return
	}
	ln := p.lanes[m.Partition]
	m.respPending = true
	m.holders++
	m.rslot = int32(len(ln.resp))
	ln.resp = append(ln.resp, m)
	m.respTimer = p.s.After(p.cfg.ResponseTime.Sample(p.respRnd), ln, sim.Event{Kind: evResponse, Ptr: m})
}

// dropResp takes m off the pending responses. O(1).
func (ln *lane) dropResp(m *Message) {
	last := ln.resp[len(ln.resp)-1]
	ln.resp[m.rslot] = last
	last.rslot = m.rslot
	ln.resp[len(ln.resp)-1] = nil
	ln.resp = ln.resp[:len(ln.resp)-1]
}

// cancelResponse drops m's acknowledgement on its way: the connection to
// its leader broke.
func (p *Producer) cancelResponse(m *Message) {
	p.s.Cancel(m.respTimer)
	p.lanes[m.Partition].dropResp(m)
	m.respPending = false
	m.holders--
	m.batchLast = false
}

// responseLost is called when m, written and replicated, lost its
// acknowledgement to a leader failure: it returns the copy the producer
// will resend, which carries m's request.
func (p *Producer) responseLost(m *Message) *Message {
	p.cancelResponse(m)
	c := p.pool.clone(m)
	c.producer, c.ref = p, m.ref
	c.buffered, m.buffered = m.buffered, false // the batch holds its memory until the resend completes
	c.Offset = -1
	m.ref, m.producer = nil, nil
	return c
}

// reconnect is called when partition part's leader failed, before its
// messages come back (requeue): the connection broke, and every request in
// flight on it failed with it (Kafka's NetworkClient fails the in-flight
// requests of a dropped connection), so the lane's next connection starts
// with every max_in_flight slot free. The error responses still on their
// way name the old connection and free nothing (failed).
func (p *Producer) reconnect(part int32) {
	ln := p.lanes[part]
	ln.conn++
	ln.inflight = 0
}

// requeue takes back m, not acknowledged, whose leader failed: it goes to
// the head of its lane (a failover calls it in reverse offset order), and
// the lane waits for a new leader.
func (p *Producer) requeue(m *Message) {
	ln := p.lanes[m.Partition]
	m.batchLast, m.retried = false, true
	ln.acc.pushFront(m)
	p.st.Retries++
	p.s.Cancel(ln.lingerTimer)
	ln.block(offerUnavailable)
}

func (p *Producer) ack(m *Message) {
	p.free(m) // nothing held yet with acks=0: it is freed at send
	m.acked = true
	p.st.Acked++
	p.st.AckLatency.Record(int64(p.s.Now().Sub(m.Produced) / time.Nanosecond))
	if req, ok := m.ref.(*mesh.Request); ok {
		m.ref = nil
		req.Origin.Finish(req, mesh.OutcomeOK)
	}
	m.producer = nil // nothing more to tell this producer
	if m.batchLast {
		m.batchLast = false
		ln := p.lanes[m.Partition]
		ln.inflight--
		ln.flush()
	}
}
