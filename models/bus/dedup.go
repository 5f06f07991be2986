package bus

import (
	"time"

	"github.com/meshsim/meshsim/sim"
)

// dedupEntry is one recorded message ID.
type dedupEntry struct {
	id uint64
	at sim.Time
}

// dedupStore is an idempotent consumer's store of processed message IDs
// with a window: a FIFO of entries in recording order and an index by ID.
// Memory is bounded by the IDs recorded within one window. seen is O(1)
// amortised; the index is only looked up, never ranged over, so map order
// cannot leak.
type dedupStore struct {
	window time.Duration
	fifo   ring[dedupEntry]
	index  map[uint64]sim.Time
}

func newDedupStore(c DedupConfig) *dedupStore {
	if !c.Enabled {
		return nil
	}
	return &dedupStore{window: c.Window, index: map[uint64]sim.Time{}}
}

// seen reports whether id was recorded at most window before now, and
// records it (at now) otherwise.
func (d *dedupStore) seen(id uint64, now sim.Time) bool {
	for d.fifo.len() > 0 {
		e := d.fifo.at(0)
		if now.Sub(e.at) <= d.window {
			break
		}
		d.fifo.pop()
		if at, ok := d.index[e.id]; ok && at == e.at {
			delete(d.index, e.id)
		}
	}
	if _, ok := d.index[id]; ok {
		return true
	}
	d.index[id] = now
	d.fifo.push(dedupEntry{id, now})
	return false
}
