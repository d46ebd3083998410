package storage

// Read-ahead for scans. A scan reads a table segment after segment, and
// a segment not in the cache is decoded from its Parquet file on the
// scanning goroutine: one core decodes while the rest of the statement
// (making rows, scoring them) waits, and then the other way round. A
// scan that asks for the next segment ahead (Data.Prefetch) has it
// decoded on another goroutine, into the cache, while it works on the
// current one, so a table larger than the cache is read on both cores.

import "sync"

// prefetches tracks a store's read-aheads in flight, so that Close waits
// for them before it empties the cache (a read-ahead that finished later
// would put a batch into the emptied cache, never released).
type prefetches struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// start registers a read-ahead; false once the store is closing.
func (p *prefetches) start() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.wg.Add(1)
	return true
}

// close refuses further read-aheads and waits for those in flight.
func (p *prefetches) close() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.wg.Wait()
}

// Prefetch starts reading segment i of d (0 ≤ i < NumSegments) into the
// store's cache on another goroutine and returns at once, so that a
// Segment(i) a moment later finds it decoded (or waits for the read in
// flight rather than starting its own). It does nothing for a segment in
// memory, one cached or being read, one whose data file is larger than
// half the cache (it would not be kept), and once the store is closing.
// Errors are dropped: Segment(i) meets and reports them. d is retained
// until the read ends.
func (d *Data) Prefetch(i int) {
	if i < 0 || i >= len(d.segs) {
		return
	}
	s := d.segs[i]
	if s.file == nil {
		return
	}
	st := s.file.store
	if s.file.task.File.FileSizeBytes() > st.cache.budget/2 || st.cache.holds(s.file.key()) || !st.prefetch.start() {
		return
	}
	d.Retain()
	go func() {
		defer st.prefetch.wg.Done()
		defer d.Release()
		if rec, err := s.file.get(s.rows); err == nil {
			rec.Release()
		}
	}()
}
