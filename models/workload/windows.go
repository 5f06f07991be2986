package workload

import (
	"bytes"
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/stats"
)

// MaxWindows bounds the windows of one workload's series (TIGER_STYLE:
// limits on everything). Each window holds two counters and an encoded
// histogram of at most a few kilobytes, so the bound keeps a series'
// memory bounded whatever the run's length; it does not depend on the
// number of requests.
const MaxWindows = 10_000

// NumWindows returns how many windows of width cover [0, end]: the
// ceiling of end / width, and at least 1. It returns 0 when width <= 0.
func NumWindows(end sim.Time, width time.Duration) int64 {
	if width <= 0 {
		return 0
	}
	n := int64(end) / int64(width)
	if int64(end)%int64(width) != 0 || n == 0 {
		n++
	}
	return n
}

// Series is a workload's outcomes per window of completion time, as a
// dashboard buckets them: window k holds the requests that finished in
// [k*Width, (k+1)*Width), except the last, which is closed at End and may
// be shorter than Width. Every request counts, warm-up included (the
// measurement window of Stats does not apply), so the warm-up shows on a
// timeline. A request that finishes after End is in no window.
type Series struct {
	Width time.Duration
	End   sim.Time
	OK    []int64 // requests that finished ok, per window
	NotOK []int64 // requests that finished in any other outcome, per window
	// Latency holds, per window, the histogram of the end-to-end latency
	// in nanoseconds of the requests that finished ok in it, encoded by
	// stats.Histogram.MarshalBinary; nil for a window without any. The
	// encoding takes a few bytes per non-empty bucket, where a histogram
	// in memory takes eight per bucket of its range: over a run's windows
	// about twenty times less.
	Latency [][]byte
}

// windows records a Series. Its arrays are allocated once, when the
// workload is built. Requests finish in time order, so ok latencies are
// recorded into one scratch histogram, reused from window to window, and
// encoded when a later window begins; recording a request allocates
// nothing once the scratch histogram covers the latencies seen
// (stats.Histogram.Record). Each window costs one allocation, for its
// encoding, whatever the number of its requests.
type windows struct {
	width   int64 // ns
	end     sim.Time
	ok      []int64
	notOK   []int64
	latency [][]byte // nil until the window's first ok request is encoded
	cur     int64    // the window scratch holds
	// [base, edge) is window cur's span: requests finish in time order,
	// so a record computes its window (a division) only when it crosses
	// the edge.
	base, edge sim.Time
	scratch    stats.Histogram
	buf        []byte // reused to encode, so that each window's copy is one allocation
}

func newWindows(width time.Duration, end sim.Time) *windows {
	n := NumWindows(end, width)
	return &windows{
		width: int64(width), end: end,
		ok: make([]int64, n), notOK: make([]int64, n), latency: make([][]byte, n),
	}
}

// record counts one request that finished at now, with its latency if ok.
// The complexity is O(1).
func (w *windows) record(now sim.Time, ok bool, latency int64) {
	if now >= w.edge || now < w.base {
		if now > w.end || now < 0 {
			return
		}
		k := min(int64(now)/w.width, int64(len(w.ok))-1) // now == end may fall one past the last window
		if k != w.cur {
			w.flush()
			w.cur = k
		}
		w.base, w.edge = sim.Time(k*w.width), sim.Time((k+1)*w.width)
		if k == int64(len(w.ok))-1 {
			w.edge = w.end + 1 // the last window is closed at end
		}
	}
	if !ok {
		w.notOK[w.cur]++
		return
	}
	w.ok[w.cur]++
	w.scratch.Record(latency)
}

// flush encodes the scratch histogram's values into their window's. A
// window already encoded (when series was called mid-run) is decoded and
// merged first.
func (w *windows) flush() {
	if w.scratch.Count() == 0 {
		return
	}
	if prev := w.latency[w.cur]; prev != nil {
		var h stats.Histogram
		if err := h.UnmarshalBinary(prev); err != nil {
			panic(fmt.Sprintf("workload: window %d: %v", w.cur, err)) // we encoded it ourselves
		}
		w.scratch.Merge(&h)
	}
	var err error
	if w.buf, err = w.scratch.AppendBinary(w.buf[:0]); err != nil {
		panic(fmt.Sprintf("workload: window %d: %v", w.cur, err)) // AppendBinary never fails
	}
	w.latency[w.cur] = bytes.Clone(w.buf)
	w.scratch.Reset()
}

// series returns a copy of what was recorded.
func (w *windows) series() *Series {
	w.flush()
	return &Series{
		Width:   time.Duration(w.width),
		End:     w.end,
		OK:      append([]int64(nil), w.ok...),
		NotOK:   append([]int64(nil), w.notOK...),
		Latency: append([][]byte(nil), w.latency...), // encodings are never modified, only replaced
	}
}
