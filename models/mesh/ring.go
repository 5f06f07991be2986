package mesh

// ring is a FIFO of requests in a growable circular buffer. push and pop are
// O(1) amortised; the buffer only grows, so a steady state allocates nothing.
type ring struct {
	buf  []*Request
	head int
	n    int
}

func (q *ring) len() int { return q.n }

func (q *ring) push(r *Request) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = r
	q.n++
}

func (q *ring) pop() (*Request, bool) {
	if q.n == 0 {
		return nil, false
	}
	r := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return r, true
}

// grow doubles the buffer (its length stays a power of two).
func (q *ring) grow() {
	size := 2 * len(q.buf)
	if size == 0 {
		size = 16
	}
	buf := make([]*Request, size)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}
