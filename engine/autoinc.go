package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/anomalydb/anomalydb/storage"
)

// AUTO_INCREMENT.
//
// A table has at most one AUTO_INCREMENT column (go-mysql-server checks
// that it is a key; CREATE TABLE checks that it is an integer). Its
// counter lives in memory, one per stored table (autoIncs), shared by
// every session: GetNextAutoIncrementValue hands out the next value, and
// an explicit value at or above it moves it past that value. Values are
// consumed when handed out, whatever becomes of the row: a transaction
// that rolls back, a failed statement or a lost connection leaves a gap,
// as in InnoDB.
//
// Durability. No value is handed out twice, even across a crash: the
// table property autoIncProperty is a high-water mark, at least every
// value ever handed out, and a value above it is handed out only after a
// new mark above it is committed (storage.Table.UpdateProperties, an
// Iceberg metadata commit that is durable before it returns). Marks are
// reserved in blocks so that a bulk insert does not commit per row: a
// reservation within autoIncBurst of the previous one doubles the block
// (up to maxAutoIncBlock), otherwise it is minAutoIncBlock. When a table
// is first used after a start, its counter starts after both the mark
// and the largest value in the column, so after a restart, clean or not,
// the sequence jumps over the rest of the last block (at most one block
// of values is skipped). ALTER TABLE … AUTO_INCREMENT = n, CREATE TABLE …
// AUTO_INCREMENT = n and TRUNCATE (which resets it to 1, as MySQL does)
// set the counter and the mark together, never below the largest value
// in the column.
//
// A reservation publishes new table contents with the same rows; a
// transaction that rewrites the table treats that as no change
// (sameContents), so reservations never make a COMMIT fail with 1213.

// autoIncProperty is the table property holding the auto-increment
// high-water mark (a decimal uint64): no value above it was handed out.
const autoIncProperty = "sql.auto_increment"

// Reservation block sizes, see the package comment above.
const (
	minAutoIncBlock = 16
	maxAutoIncBlock = 1 << 16
	autoIncBurst    = time.Second
)

// autoIncCounter is the auto-increment state of one stored table.
type autoIncCounter struct {
	stmt sync.Mutex // AcquireAutoIncrementLock (innodb_autoinc_lock_mode 0 and 1)

	mu       sync.Mutex
	loaded   bool
	next     uint64 // the next value to hand out
	reserved uint64 // the committed high-water mark
	block    uint64 // size of the last reservation
	last     time.Time
}

// autoIncRegistry keeps the counters by stored table.
type autoIncRegistry struct {
	mu sync.Mutex
	m  map[*storage.Table]*autoIncCounter
}

var autoIncs = &autoIncRegistry{m: map[*storage.Table]*autoIncCounter{}}

// counter returns st's counter, creating it (not loaded) on first use.
func (r *autoIncRegistry) counter(st *storage.Table) *autoIncCounter {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.m[st]
	if c == nil {
		c = &autoIncCounter{}
		r.m[st] = c
	}
	return c
}

// forget drops the counter of a dropped table.
func (r *autoIncRegistry) forget(st *storage.Table) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, st)
}

var (
	_ sql.AutoIncrementTable  = (*table)(nil)
	_ sql.AutoIncrementSetter = (*autoIncSetter)(nil)
)

// autoIncColumn returns the ordinal of the AUTO_INCREMENT column, or -1.
func (t *table) autoIncColumn() int {
	for i, c := range t.schema.Schema {
		if c.AutoIncrement {
			return i
		}
	}
	return -1
}

// loadedCounter returns t's counter, locked and loaded; the caller
// unlocks it. On error (the rows could not be read) nothing is locked.
func (t *table) loadedCounter(col int) (*autoIncCounter, error) {
	var c *autoIncCounter
	if t.stage != nil {
		// A running ALTER TABLE counts on its own rows; its values and
		// mark are committed with them (the registry's counter is
		// forgotten then).
		if t.stage.counter == nil {
			t.stage.counter = &autoIncCounter{}
		}
		c = t.stage.counter
	} else {
		c = autoIncs.counter(t.st)
	}
	c.mu.Lock()
	if !c.loaded {
		var d *storage.Data
		markProp := ""
		if t.stage != nil {
			d = t.stage.data()
			markProp = t.stage.base.Property(autoIncProperty)
		} else {
			d = t.st.Snapshot()
			markProp = d.Property(autoIncProperty)
		}
		mark := parseAutoIncMark(markProp)
		m, err := t.maxAutoInc(d, col)
		d.Release()
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.next = max(mark, m) + 1
		c.reserved = mark
		c.loaded = true
	}
	return c, nil
}

func parseAutoIncMark(s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0 // no mark: a table without one, or created before marks
	}
	return n
}

// maxAutoInc returns the largest positive value of column col in d, or 0.
func (t *table) maxAutoInc(d *storage.Data, col int) (uint64, error) {
	var m uint64
	err := d.Scan(0, func(rec arrow.RecordBatch, _ int64) error {
		rd := valueReader(t.schema.Schema[col].Type, rec.Column(col))
		for i := 0; i < int(rec.NumRows()); i++ {
			v := rd(i)
			if v == nil {
				continue
			}
			if n, err := toInt64(v); err == nil && n > 0 && uint64(n) > m {
				m = uint64(n)
			}
		}
		return nil
	})
	return m, segmentErr(err)
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter: the
// value the next generated row gets (SHOW CREATE TABLE's AUTO_INCREMENT,
// information_schema.TABLES.AUTO_INCREMENT).
func (t *table) PeekNextAutoIncrementValue(*sql.Context) (uint64, error) {
	col := t.autoIncColumn()
	if col < 0 {
		return 0, sql.ErrNoAutoIncrementCol
	}
	c, err := t.loadedCounter(col)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	return c.next, nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable. For a NULL
// (or 0) insertVal it hands out the next value, reserving a new block
// durably first when the value is above the mark; an explicit value
// moves the counter past it.
func (t *table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal interface{}) (uint64, error) {
	col := t.autoIncColumn()
	if col < 0 {
		return 0, sql.ErrNoAutoIncrementCol
	}
	c, err := t.loadedCounter(col)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	if insertVal != nil {
		v, _, err := types.Uint64.Convert(ctx, insertVal)
		if n, ok := v.(uint64); err == nil && ok {
			c.pass(n)
			return n, nil
		}
		return c.next, nil
	}
	v := c.next
	if v > c.reserved {
		if err := t.reserve(c, v); err != nil {
			return 0, err
		}
	}
	c.next = v + 1
	return v, nil
}

// pass moves the counter past v, which a row now holds (c.mu held).
func (c *autoIncCounter) pass(v uint64) {
	if v >= c.next && v < 1<<64-1 {
		c.next = v + 1
	}
}

// reserve commits a high-water mark of at least v, a block past it
// (c.mu held).
func (t *table) reserve(c *autoIncCounter, v uint64) error {
	now := time.Now()
	if c.block > 0 && now.Sub(c.last) < autoIncBurst {
		c.block = min(2*c.block, maxAutoIncBlock)
	} else {
		c.block = minAutoIncBlock
	}
	mark := v + c.block - 1
	if mark < v { // overflow
		mark = 1<<64 - 1
	}
	if err := t.persist(c, mark); err != nil {
		return err
	}
	c.last = now
	return nil
}

// persist commits mark as the high-water mark of t's counter c (c.mu
// held); a running ALTER TABLE's stage commits it with the statement.
func (t *table) persist(c *autoIncCounter, mark uint64) error {
	if t.stage != nil {
		t.stage.props[autoIncProperty] = strconv.FormatUint(mark, 10)
		c.reserved = mark
		return nil
	}
	err := t.st.UpdateProperties(func(*storage.Data) (map[string]string, []string, error) {
		return map[string]string{autoIncProperty: strconv.FormatUint(mark, 10)}, nil, nil
	})
	if err != nil {
		return err
	}
	c.reserved = mark
	return nil
}

// noteAutoInc moves the counter past the AUTO_INCREMENT value of a row
// written by UPDATE, so that no later generated value collides with it
// (as MySQL 8 does).
func (t *table) noteAutoInc(row sql.Row) {
	col := t.autoIncColumn()
	if col < 0 || row[col] == nil {
		return
	}
	n, err := toInt64(row[col])
	if err != nil || n <= 0 {
		return
	}
	c, err := t.loadedCounter(col)
	if err != nil {
		return // the counter loads (and fails) again at its next use
	}
	c.pass(uint64(n))
	c.mu.Unlock()
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *table) AutoIncrementSetter(*sql.Context) sql.AutoIncrementSetter {
	return &autoIncSetter{t: t}
}

// autoIncSetter sets a table's counter (ALTER TABLE … AUTO_INCREMENT,
// CREATE TABLE … AUTO_INCREMENT, TRUNCATE).
type autoIncSetter struct{ t *table }

// SetAutoIncrementValue implements sql.AutoIncrementSetter: the next
// generated value is v, or one past the largest value in the column if
// that is larger (as in InnoDB); the mark is set to just below it.
func (s *autoIncSetter) SetAutoIncrementValue(_ *sql.Context, v uint64) error {
	col := s.t.autoIncColumn()
	if col < 0 {
		return sql.ErrNoAutoIncrementCol
	}
	c, err := s.t.loadedCounter(col)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	d, err := s.t.snapshot()
	if err != nil {
		return err
	}
	m, err := s.t.maxAutoInc(d, col)
	d.Release()
	if err != nil {
		return err
	}
	v = max(v, m+1, 1)
	if err := s.t.persist(c, v-1); err != nil {
		return err
	}
	c.next, c.block = v, 0
	return nil
}

// AcquireAutoIncrementLock implements sql.AutoIncrementSetter: a lock
// held for a whole INSERT under innodb_autoinc_lock_mode 0 or 1, so that
// its generated values are consecutive.
func (s *autoIncSetter) AcquireAutoIncrementLock(*sql.Context) (func(), error) {
	c := autoIncs.counter(s.t.st)
	c.stmt.Lock()
	return c.stmt.Unlock, nil
}

// Close implements sql.Closer: SetAutoIncrementValue has committed.
func (s *autoIncSetter) Close(*sql.Context) error { return nil }

// sameContents reports whether cur holds exactly the rows and the table
// definition of base: it is base or was published after it by
// auto-increment reservations only. A transaction that rewrites the
// table from base may then still commit.
func sameContents(cur, base *storage.Data) bool {
	if cur == base {
		return true
	}
	if !cur.Extends(base) || cur.NumRows() != base.NumRows() {
		return false
	}
	a, b := cur.Properties(), base.Properties()
	delete(a, autoIncProperty)
	delete(b, autoIncProperty)
	return maps.Equal(a, b)
}
