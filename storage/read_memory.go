package storage

// The memory a data file is decoded in. Reading a file allocates, for
// each column of each row group, the page reader's buffers and the
// values and definition levels of the column, and frees all of it once
// the decoded batch is copied into the cache (fileSource.read). From
// Go's allocator that is several times the file's size a file, in
// buffers of a few kilobytes to a few hundred that the collector must
// find, the heap must grow for and the runtime zero, fresh from the
// operating system when the scavenger has returned the pages: at 10M rows
// a quarter of a scoring scan's CPU time. readMemory hands the same
// buffers back from one file to the next.

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Buffers of 2^minReadClass to 2^maxReadClass bytes are recycled; others
// come from Go's allocator. 64 bytes is the alignment Arrow's allocators
// give, which a power-of-two Go allocation of that size or more has.
const (
	minReadClass = 6
	maxReadClass = 24 // 16 MiB
)

// readMemory is a memory.Allocator that recycles freed buffers by
// power-of-two size class, zeroing them again on reuse (Allocate's
// contract: the memory reads as zero). A buffer is recycled only when
// it is freed (its last reference released); one never freed is
// collected as any Go memory. Pools are emptied by the garbage collector,
// so idle buffers cost nothing for long.
type readMemory struct {
	pools [maxReadClass + 1]sync.Pool // of *[]byte with cap 1<<class
	// poison, set by tests, fills a freed buffer with 0xA5 bytes before
	// recycling it, so that a read of memory freed too early shows.
	poison bool
	reused atomic.Int64 // buffers handed out again
}

var _ memory.Allocator = (*readMemory)(nil)

// newReadMemory returns the allocator data files are decoded with: a
// readMemory when the store allocates from Go's allocator, poisoning
// what it frees in test binaries (testing.Testing); else parent, so that
// a checked allocator given to the store still sees every buffer.
func newReadMemory(parent memory.Allocator) memory.Allocator {
	if parent != memory.DefaultAllocator {
		return parent
	}
	return &readMemory{poison: testing.Testing()}
}

// readClass returns the size class of a buffer of n bytes: the smallest
// class whose size holds n, and whether buffers of n bytes are recycled.
func readClass(n int) (int, bool) {
	c := max(bits.Len(uint(n-1)), minReadClass)
	return c, n > 0 && c <= maxReadClass
}

// Allocate implements memory.Allocator: n zeroed bytes, 64-byte aligned.
func (m *readMemory) Allocate(n int) []byte {
	c, ok := readClass(n)
	if !ok {
		return memory.DefaultAllocator.Allocate(n)
	}
	if p, _ := m.pools[c].Get().(*[]byte); p != nil {
		m.reused.Add(1)
		b := (*p)[:n]
		clear(b)
		return b
	}
	return make([]byte, 1<<c)[:n]
}

// Reallocate implements memory.Allocator: b grown or shrunk to n bytes,
// its contents kept and any new bytes zero.
func (m *readMemory) Reallocate(n int, b []byte) []byte {
	if n <= cap(b) {
		old := len(b)
		b = b[:n]
		if n > old {
			clear(b[old:])
		}
		return b
	}
	nb := m.Allocate(n)
	copy(nb, b)
	m.Free(b)
	return nb
}

// Free implements memory.Allocator: b's memory is recycled if it is a
// whole buffer of a size class (as Allocate makes them).
func (m *readMemory) Free(b []byte) {
	n := cap(b)
	c, ok := readClass(n)
	if !ok || n != 1<<c {
		return
	}
	b = b[:n]
	if m.poison {
		b[0] = 0xA5
		for i := 1; i < n; i *= 2 {
			copy(b[i:], b[:i])
		}
	}
	m.pools[c].Put(&b)
}
