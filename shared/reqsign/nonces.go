package reqsign

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// MemoryNonces is an in-memory NonceStore for one server process. It holds
// at most a fixed number of nonces and forgets each one when it expires. When it is full,
// it evicts the nonce that expires first and from then on treats every
// nonce expiring at or before the evicted one as seen: under pressure it
// refuses some genuine requests rather than accept a replay.
type MemoryNonces struct {
	// Now returns the current time; time.Now when nil. Set it before use.
	Now func() time.Time

	mu    sync.Mutex
	limit int
	byKey map[string]time.Time
	queue nonceHeap
	floor time.Time // nonces expiring at or before floor may have been evicted
}

// NewMemoryNonces returns an empty store holding at most limit nonces (1 when
// limit < 1).
func NewMemoryNonces(limit int) *MemoryNonces {
	return &MemoryNonces{limit: max(1, limit), byKey: make(map[string]time.Time)}
}

var _ NonceStore = (*MemoryNonces)(nil)

// Seen implements NonceStore.
func (m *MemoryNonces) Seen(_ context.Context, nonce string, expires time.Time) (bool, error) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queue) > 0 && !m.queue[0].expires.After(now) {
		delete(m.byKey, heap.Pop(&m.queue).(nonceEntry).nonce)
	}
	if _, ok := m.byKey[nonce]; ok {
		return true, nil
	}
	if !expires.After(m.floor) {
		return true, nil
	}
	if !expires.After(now) {
		return false, nil // already expired: nothing to remember
	}
	for len(m.queue) >= m.limit {
		e := heap.Pop(&m.queue).(nonceEntry)
		delete(m.byKey, e.nonce)
		if e.expires.After(m.floor) {
			m.floor = e.expires
		}
	}
	m.byKey[nonce] = expires
	heap.Push(&m.queue, nonceEntry{nonce: nonce, expires: expires})
	return false, nil
}

// Len returns the number of nonces held.
func (m *MemoryNonces) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue)
}

type nonceEntry struct {
	nonce   string
	expires time.Time
}

// nonceHeap is a min-heap of nonces by expiry.
type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
