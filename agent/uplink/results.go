package uplink

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/wapt-go/wapt/shared/wire"
)

// Bounds of the result queue.
const (
	// maxResults bounds the action IDs whose latest result is kept.
	maxResults = 10000
	// maxResultMessage bounds ActionResult.Message, as the server does: a
	// longer message is cut, so that a frame always fits the server's
	// read limit (a frame it refuses would be re-sent forever).
	maxResultMessage = 64 << 10
)

// results keeps the latest result per action ID until the server has it:
// a result is dropped once it is final and was written once; a non-final
// one is written again after each reconnection. Safe for concurrent use.
type results struct {
	mu  sync.Mutex
	seq uint64 // last version given out
	m   map[string]*queued
	max int
}

// queued is the latest result of one action.
type queued struct {
	r     wire.ActionResult
	seq   uint64 // version: bumped on every update, orders the queue
	dirty bool   // not written yet on the current connection
}

// pendingResult is a result to write, with the version written.
type pendingResult struct {
	r   wire.ActionResult
	seq uint64
}

func newResults(limit int) *results {
	return &results{m: make(map[string]*queued), max: max(1, limit)}
}

// put records r as the latest result of its action. When the queue is full
// it drops the least recently updated non-final result (only when every
// kept result is final, the least recently updated final one) and returns
// its ID.
func (q *results) put(r wire.ActionResult) (dropped string) {
	if len(r.Message) > maxResultMessage {
		r.Message = strings.ToValidUTF8(r.Message[:maxResultMessage], "")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	if e, ok := q.m[r.ID]; ok {
		e.r, e.seq, e.dirty = r, q.seq, true
		return ""
	}
	if len(q.m) >= q.max {
		dropped = q.victim()
		delete(q.m, dropped)
	}
	q.m[r.ID] = &queued{r: r, seq: q.seq, dirty: true}
	return dropped
}

// victim returns the ID to drop from a full queue. Final results kept are
// ones the server has not got yet: they carry the outcome, while a lost
// non-final state is superseded by a later one.
func (q *results) victim() string {
	var id string
	var best uint64
	bestFinal := true
	for k, e := range q.m {
		final := wire.ActionFinal(e.r.State)
		switch {
		case id == "",
			bestFinal && !final,
			bestFinal == final && e.seq < best:
			id, best, bestFinal = k, e.seq, final
		}
	}
	return id
}

// reconnected marks every kept result for writing on a new connection.
func (q *results) reconnected() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.m {
		e.dirty = true
	}
}

// pending returns the results to write on the current connection, oldest
// update first.
func (q *results) pending() []pendingResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []pendingResult
	for _, e := range q.m {
		if e.dirty {
			out = append(out, pendingResult{r: e.r, seq: e.seq})
		}
	}
	slices.SortFunc(out, func(a, b pendingResult) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// written records that version seq of action id was written: unless a
// newer result came meanwhile, a final one is dropped, a non-final one
// waits for the next connection.
func (q *results) written(id string, seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.m[id]
	if !ok || e.seq != seq {
		return
	}
	if wire.ActionFinal(e.r.State) {
		delete(q.m, id)
		return
	}
	e.dirty = false
}

// drop forgets version seq of action id (a result that cannot be
// encoded), unless a newer one came meanwhile.
func (q *results) drop(id string, seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.m[id]; ok && e.seq == seq {
		delete(q.m, id)
	}
}

// len returns the number of actions kept.
func (q *results) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.m)
}
