package storage

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestReadMemoryRecycles: a freed buffer of a size class is handed out
// again, zeroed, aligned to 64 bytes; Reallocate keeps the contents and
// zeroes what it adds; in a test binary a freed buffer is poisoned.
// Catches: recycled memory handed out dirty (the Parquet reader's
// validity bitmaps and levels expect zeros), no recycling, a sub-slice
// recycled as a whole buffer.
func TestReadMemoryRecycles(t *testing.T) {
	m := &readMemory{poison: true}
	for _, n := range []int{1, 64, 100, 4096, 300_000} {
		b := m.Allocate(n)
		if len(b) != n || uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
			t.Fatalf("Allocate(%d): %d bytes at %p", n, len(b), &b[0])
		}
		for i := range b {
			b[i] = 7
		}
		m.Free(b)
		if full := b[:cap(b)]; bytes.Count(full, []byte{0xA5}) != len(full) {
			t.Fatalf("a freed buffer of %d bytes is not poisoned", n)
		}
		before := m.reused.Load()
		c := m.Allocate(n)
		if !bytes.Equal(c, make([]byte, n)) {
			t.Fatalf("Allocate(%d) after a free: not zero", n)
		}
		if m.reused.Load() != before+1 || &c[0] != &b[0] {
			t.Fatalf("Allocate(%d) after a free did not reuse the buffer", n)
		}
		m.Free(c)
	}
	b := m.Allocate(100)
	copy(b, "abc")
	b = m.Reallocate(1000, b)
	if string(b[:3]) != "abc" || !bytes.Equal(b[3:], make([]byte, 997)) {
		t.Fatalf("Reallocate lost the contents or left the new bytes dirty")
	}
	m.Free(b[64:]) // not a whole buffer: left to the collector
	if c := m.Allocate(1); &c[0] == &b[64] {
		t.Fatalf("a part of a buffer was recycled as a buffer")
	}
}

// TestDecodingRecyclesPoisonedMemory: a table of many data files read from
// disk by a store on Go's allocator decodes them in recycled buffers
// that are poisoned when freed (testing.Testing), and reads the rows
// written, nulls included. Catches: a decoded batch read after its
// buffers were freed (the copy into the cache after the release),
// recycled buffers not zeroed, data files decoded without recycling.
func TestDecodingRecyclesPoisonedMemory(t *testing.T) {
	dir := t.TempDir()
	const rows, per = 400_000, 100_000
	s := segmentStore(t, dir, memory.DefaultAllocator, 1<<20)
	tbl := smallTable(t, s)
	for start := int64(0); start < rows; start += per {
		append1(t, tbl, makeBatch(memory.DefaultAllocator, tbl.Schema(), start, per))
	}
	must(t, s.Close())

	s = segmentStore(t, dir, memory.DefaultAllocator, 1<<20)
	defer s.Close()
	rm, ok := s.readMem.(*readMemory)
	if !ok || !rm.poison {
		t.Fatalf("a store on Go's allocator decodes with %T, want a poisoning readMemory", s.readMem)
	}
	tbl, err := s.Table("db", "t")
	must(t, err)
	assertRows(t, memory.DefaultAllocator, tbl, [2]int64{0, rows})
	assertRows(t, memory.DefaultAllocator, tbl, [2]int64{0, rows}) // the cache holds 1 MB of 6 MB: all read again
	if st := s.CacheStats(); st.Misses < 40 || rm.reused.Load() < st.Misses {
		t.Fatalf("%d files read, %d buffers reused: want many files, decoded in recycled buffers", st.Misses, rm.reused.Load())
	}
}
