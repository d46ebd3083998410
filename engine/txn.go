package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// Transactions.
//
// Every statement runs in a transaction (go-mysql-server starts one
// through session.StartTransaction when none is open). With autocommit
// (the default) the engine commits it when the statement's result is
// closed; with autocommit = 0, or after BEGIN / START TRANSACTION, it
// stays open until COMMIT or ROLLBACK (or an implicit commit by DDL).
//
// A transaction keeps, per table it touched, the snapshot it first saw
// (its base) and its own changes on top of it, in memory (txTable).
// Reads in the transaction see the base plus its changes; nothing is
// written to disk before COMMIT, so other sessions see none of it. COMMIT
// writes each changed table as one Iceberg snapshot: pure inserts as an
// append (its primary keys re-checked against rows committed since the
// base: a duplicate is 1062), anything else as an overwrite that fails
// with 1213 (ER_LOCK_DEADLOCK) if another transaction committed to the
// table since the base. A statement under autocommit that fails so is
// run again by the handler (retry.go); concurrent appends to one table
// share commits (storage's group commit). A failed COMMIT leaves nothing of the transaction
// (it is rolled back), and so do ROLLBACK and a lost connection.
//
// Statements are atomic inside a transaction: each editor marks the undo
// log of its table when the statement (or, for INSERT IGNORE and LOAD
// DATA, go-mysql-server's per-row checkpoint) begins, and DiscardChanges
// undoes back to that mark. SAVEPOINT marks every table's log;
// ROLLBACK TO SAVEPOINT undoes back to it. The undo logs are cleared after
// each statement while no savepoint is set, so they stay as small as one
// statement.
//
// A transaction that changed several tables commits them atomically
// (storage.Store.CommitTables): after a crash at any moment, all of them
// or none.

// txCounter numbers transactions for String.
var txCounter atomic.Uint64

// transaction is one SQL transaction: the changes of its statements to
// each table it touched, kept until it ends.
type transaction struct {
	id       uint64
	readOnly bool
	sess     *session         // the session it runs in; nil for a statement-private one
	wrote    []*storage.Table // the tables of its last commit (retry.go)

	mu     sync.Mutex // guards tables and order (scans may register tables concurrently)
	tables map[*storage.Table]*txTable
	order  []*txTable // first-touch order: the commit order

	gen        uint64 // incremented at every mark, see txTable.inserted
	savepoints []savepoint
}

var _ sql.Transaction = (*transaction)(nil)

func newTransaction(readOnly bool) *transaction {
	return &transaction{id: txCounter.Add(1), readOnly: readOnly, tables: map[*storage.Table]*txTable{}}
}

// String implements fmt.Stringer.
func (tx *transaction) String() string { return fmt.Sprintf("transaction %d", tx.id) }

// IsReadOnly implements sql.Transaction.
func (tx *transaction) IsReadOnly() bool { return tx.readOnly }

// savepoint is a named mark of every table's undo log.
type savepoint struct {
	name  string
	marks map[*txTable]int // tables touched later roll back to 0
}

// txOf returns the transaction a statement runs in, or nil outside one
// (a context not from our sessions).
func txOf(ctx *sql.Context) *transaction {
	if ctx == nil {
		return nil
	}
	tx, _ := ctx.GetTransaction().(*transaction)
	return tx
}

// table returns the transaction's state of t, taking t's current
// snapshot as its base on first touch.
func (tx *transaction) table(t *table) *txTable {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tt := tx.tables[t.st]; tt != nil {
		return tt
	}
	tt := &txTable{tx: tx, t: t, base: t.st.Snapshot()}
	tt.inserts = newInsertLog(tt.base.Schema(), t.schema.Schema, t.st.Stage)
	tt.uniq = t.uniqueKeysAt(tt.base)
	tt.initRuns()
	tx.tables[t.st] = tt
	tx.order = append(tx.order, tt)
	return tt
}

// lookup returns the transaction's state of t, or nil if it has not
// touched t.
func (tx *transaction) lookup(t *table) *txTable {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.tables[t.st]
}

// release drops every table's state and base snapshot; the transaction
// is empty afterwards and may be used again.
func (tx *transaction) release() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	for _, tt := range tx.order {
		tt.base.Release()
		tt.inserts.release()
		if tt.rw != nil {
			tt.rw.release()
		}
	}
	tx.tables = map[*storage.Table]*txTable{}
	tx.order = nil
	tx.savepoints = nil
}

// commit writes every changed table and releases the transaction's state,
// whether or not the writes succeed. The tables are committed together
// by storage.Store.CommitTables: after a crash at any moment all of them
// are changed or none, and a failed check (1062, 1213) of any table
// changes none. A transaction that changed one table commits it as
// Table.AppendIf or Table.Rewrite, which is what CommitTables does for a
// single change.
func (tx *transaction) commit() error {
	defer tx.release()
	var changes []storage.TableChange
	for _, tt := range tx.order {
		if !tt.changed() {
			continue
		}
		c, release, err := tt.change()
		if err != nil {
			return err
		}
		defer release()
		changes = append(changes, c)
	}
	if len(changes) == 0 {
		return nil
	}
	tx.wrote = tx.wrote[:0]
	for _, c := range changes {
		tx.wrote = append(tx.wrote, c.Table)
	}
	defer enterCommit(tx.sess, tx.wrote)() // retry.go
	err := changes[0].Table.Store().CommitTables(changes)
	if errors.Is(err, storage.ErrSchemaMismatch) { // ALTER TABLE committed since the transaction began
		return errTableDefChanged(changes[0].Table.Name())
	}
	return err
}

// mark starts a new undo generation (statement or savepoint boundary).
func (tx *transaction) mark() { tx.gen++ }

func (tx *transaction) createSavepoint(name string) {
	tx.mark()
	sp := savepoint{name: name, marks: map[*txTable]int{}}
	for _, tt := range tx.order {
		sp.marks[tt] = len(tt.undo)
	}
	tx.dropSavepoint(name) // a new savepoint of the same name replaces the old
	tx.savepoints = append(tx.savepoints, sp)
}

func (tx *transaction) findSavepoint(name string) int {
	for i := len(tx.savepoints) - 1; i >= 0; i-- {
		if strings.EqualFold(tx.savepoints[i].name, name) {
			return i
		}
	}
	return -1
}

func (tx *transaction) dropSavepoint(name string) bool {
	i := tx.findSavepoint(name)
	if i < 0 {
		return false
	}
	tx.savepoints = append(tx.savepoints[:i], tx.savepoints[i+1:]...)
	return true
}

// rollbackTo undoes every change made after the named savepoint and
// deletes the savepoints set after it, as MySQL does.
func (tx *transaction) rollbackTo(name string) bool {
	i := tx.findSavepoint(name)
	if i < 0 {
		return false
	}
	sp := tx.savepoints[i]
	for _, tt := range tx.order {
		tt.undoTo(sp.marks[tt])
	}
	tx.savepoints = tx.savepoints[:i+1]
	tx.mark()
	return true
}

// errSavepoint is MySQL's ER_SP_DOES_NOT_EXIST for savepoints.
func errSavepoint(name string) error {
	return mysql.NewSQLError(mysql.ERSPDoesNotExist, mysql.SSClientError, "SAVEPOINT %s does not exist", name)
}

// errReadOnlyTx is ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION.
func errReadOnlyTx() error {
	return mysql.NewSQLError(1792, "25006", "Cannot execute statement in a READ ONLY transaction.")
}

// txTable is a transaction's view of one table: its base snapshot and the
// transaction's changes. In append mode the changes are rows inserted
// after the base rows; the first UPDATE or DELETE switches to overwrite
// mode (txn_rewrite.go), where the base segments a change touched are
// held as rows, with which of them still exist, and the rows added since.
type txTable struct {
	tx   *transaction
	t    *table
	base *storage.Data

	inserts *insertLog // append mode: rows inserted after the base

	rewrit bool
	rw     *rewriteState // overwrite mode (txn_rewrite.go)

	// uniq are the table's unique keys (primary key, UNIQUE indexes) as
	// defined when base was committed; keys has one map per unique key
	// from the key of each live row to its index: >= 0 a row number of
	// overwrite mode or, in append mode, a base row, < 0 into inserts
	// (-(i+1)).
	// A row with a NULL key part is in no map. Built on first use.
	uniq []*uniqueKey
	keys []map[string]int
	// baseIdx, in append mode, has per unique key the sorted index that
	// checks the base rows (key_check.go); keys then holds the inserted
	// rows' keys only. nil: keys holds the base rows' keys too.
	baseIdx []*sortedIndex
	// runs has, per unique key that is one integer column (runnable),
	// the sorted values of the staged inserted rows (key_runs.go); those
	// rows are not in keys.
	runs     [][]keyRun
	runnable []bool

	undo     []undoEntry
	inserted uint64 // tx.gen of the last undoInserts entry

	// The statement that last touched the table (its query's pid) and
	// the undo position where its changes begin. go-mysql-server runs
	// IGNORE-mode statements with a checkpoint per row, so the
	// statement's start is not a StatementBegin; it is found here.
	stmtPid  uint64
	stmtMark int
}

type undoOp uint8

const (
	undoInserts   undoOp = iota // append mode: truncate inserts to n
	undoToRewrite               // return from overwrite to append mode
	undoKill                    // overwrite mode: row n alive again
	undoAdd                     // overwrite mode: drop the last added row, row n
)

type undoEntry struct {
	op undoOp
	n  int
}

// numRows is the number of rows the transaction sees.
func (tt *txTable) numRows() int64 {
	if !tt.rewrit {
		return tt.base.NumRows() + int64(tt.inserts.len())
	}
	return int64(tt.rw.numRows())
}

// changed reports whether the transaction changed the table (an
// overwrite mode whose changes were all undone or cancel out did not).
func (tt *txTable) changed() bool {
	if tt.rewrit {
		return tt.rw.changes()
	}
	return tt.inserts.len() > 0
}

// baseRow reads row idx of the base snapshot.
func (tt *txTable) baseRow(idx int) (sql.Row, error) {
	b, r := locate(segmentStarts(tt.base), idx)
	rec, err := tt.base.Segment(b)
	if err != nil {
		return nil, segmentErr(err)
	}
	defer rec.Release()
	one := rec.NewSlice(int64(r), int64(r+1))
	defer one.Release()
	return recordRows(tt.t.schema.Schema, []arrow.RecordBatch{one})[0], nil
}

// keyMaps returns the unique-key maps, building them on first use.
func (tt *txTable) keyMaps() ([]map[string]int, error) {
	if tt.keys != nil {
		return tt.keys, nil
	}
	if tt.rewrit {
		return tt.rewriteKeyMaps()
	}
	idx, err := tt.baseIndexes()
	if err != nil {
		return nil, err
	}
	if idx != nil {
		tt.baseIdx = idx
		tt.keys = make([]map[string]int, len(tt.uniq))
		for u := range tt.keys {
			tt.keys[u] = map[string]int{}
		}
	} else if tt.keys, err = tt.t.keySets(tt.base, tt.uniq); err != nil {
		return nil, err
	}
	tt.inserts.each(0, func(i int, r sql.Row) bool {
		tt.setKeys(r, -(i + 1))
		return true
	})
	return tt.keys, nil
}

// rewriteKeyMaps builds the unique-key maps of overwrite mode: of the
// live added rows when the base is checked through the sorted index,
// else of every live row (every segment read).
func (tt *txTable) rewriteKeyMaps() ([]map[string]int, error) {
	idx, err := tt.baseIndexes()
	if err != nil {
		return nil, err
	}
	if idx == nil {
		if err := tt.readAll(); err != nil {
			return nil, err
		}
	}
	tt.baseIdx = idx
	tt.keys = make([]map[string]int, len(tt.uniq))
	for u := range tt.keys {
		tt.keys[u] = map[string]int{}
	}
	rw := tt.rw
	first := 0
	if idx != nil {
		first = rw.nBase // the sorted index checks the base rows: only the added ones are visited
	}
	for i := first; i < rw.nBase+len(rw.added); i++ {
		if !rw.isAlive(i) {
			continue
		}
		r, err := tt.rowAt(i)
		if err != nil {
			return nil, err
		}
		tt.setKeys(r, i)
	}
	return tt.keys, nil
}

// indexedBaseRow reports whether row number idx is a base row whose keys
// the sorted index checks (not kept in the maps).
func (tt *txTable) indexedBaseRow(idx int) bool {
	return tt.baseIdx != nil && idx >= 0 && int64(idx) < tt.base.NumRows()
}

// setKeys records the keys of row, at index idx, in the built maps.
func (tt *txTable) setKeys(row sql.Row, idx int) {
	if tt.keys == nil || tt.indexedBaseRow(idx) {
		return
	}
	for u, uk := range tt.uniq {
		if idx < 0 && tt.inRun(u, -idx-1) {
			continue // a staged row: its key is in a run
		}
		if k, ok := uk.keyOf(row); ok {
			tt.keys[u][k] = idx
		}
	}
}

// unsetKeys forgets the keys of row where they point at index idx.
func (tt *txTable) unsetKeys(row sql.Row, idx int) {
	if tt.keys == nil || tt.indexedBaseRow(idx) {
		return
	}
	for u, uk := range tt.uniq {
		if k, ok := uk.keyOf(row); ok {
			if j, found := tt.keys[u][k]; found && j == idx {
				delete(tt.keys[u], k)
			}
		}
	}
}

// checkUnique returns error 1062 if a live row other than the one at
// index self shares a unique key with row.
func (tt *txTable) checkUnique(row sql.Row, self int, hasSelf bool) error {
	if len(tt.uniq) == 0 {
		return nil
	}
	maps, err := tt.keyMaps()
	if err != nil {
		return err
	}
	for u, uk := range tt.uniq {
		k, ok := uk.keyOf(row)
		if !ok {
			continue
		}
		j, dup := maps[u][k]
		if dup && hasSelf && j == self {
			dup = false
		}
		if !dup && tt.baseIdx != nil {
			j, dup = tt.baseDuplicate(tt.baseIdx[u], uk, row, k, func(g int) bool {
				return (hasSelf && g == self) || (tt.rewrit && !tt.rw.isAlive(g))
			})
		}
		if !dup && !tt.rewrit {
			if i, staged := tt.inRuns(u, row[uk.cols[0]]); staged {
				j, dup = -(i + 1), true // a staged row's key
			}
		}
		if dup {
			existing, err := tt.row(j)
			if err != nil {
				return err
			}
			return uk.dupErr(row, existing)
		}
	}
	return nil
}

// row returns the row a key-map index points at.
func (tt *txTable) row(idx int) (sql.Row, error) {
	if tt.rewrit {
		return tt.rowAt(idx)
	}
	if idx < 0 {
		if r := tt.inserts.at(-idx - 1); r != nil {
			return r, nil
		}
		return nil, segmentErr(tt.inserts.readErr)
	}
	return tt.baseRow(idx)
}

// insert adds a row (already checked for NULLs and copied).
func (tt *txTable) insert(row sql.Row) error {
	if err := tt.checkUnique(row, 0, false); err != nil {
		return err
	}
	if tt.rewrit {
		tt.add(row)
		return nil
	}
	if tt.inserted != tt.tx.gen || len(tt.undo) == 0 || tt.undo[len(tt.undo)-1].op != undoInserts {
		tt.undo = append(tt.undo, undoEntry{undoInserts, tt.inserts.len()})
		tt.inserted = tt.tx.gen
	}
	tt.inserts.add(row)
	tt.setKeys(row, -tt.inserts.len())
	return nil
}

// toRewrite switches to overwrite mode. The rows inserted so far become
// its first added rows; the base is read only as changes need it.
func (tt *txTable) toRewrite() error {
	if tt.rewrit {
		return nil
	}
	tt.rw = newRewriteState(tt.base)
	tt.rewrit, tt.keys, tt.baseIdx = true, nil, nil
	tt.inserts.each(0, func(_ int, r sql.Row) bool {
		tt.rw.appendAdded(r)
		return true
	})
	tt.undo = append(tt.undo, undoEntry{undoToRewrite, 0})
	if err := tt.inserts.readErr; err != nil {
		return segmentErr(err)
	}
	return nil
}

// add adds a live row in overwrite mode, undoably.
func (tt *txTable) add(r sql.Row) {
	i := tt.rw.appendAdded(r)
	tt.setKeys(r, i)
	tt.undo = append(tt.undo, undoEntry{undoAdd, i})
}

// kill deletes live row i (its segment read) in overwrite mode, undoably.
func (tt *txTable) kill(i int) error {
	r, err := tt.rowAt(i)
	if err != nil {
		return err
	}
	tt.rw.setAlive(i, false)
	tt.unsetKeys(r, i)
	tt.undo = append(tt.undo, undoEntry{undoKill, i})
	return nil
}

func (tt *txTable) delete(row sql.Row) error {
	if err := tt.toRewrite(); err != nil {
		return err
	}
	i, err := tt.find(row)
	if err != nil {
		return err
	}
	return tt.kill(i)
}

func (tt *txTable) update(old, new sql.Row) error {
	if err := tt.toRewrite(); err != nil {
		return err
	}
	i, err := tt.find(old)
	if err != nil {
		return err
	}
	if err := tt.checkUnique(new, i, true); err != nil {
		return err
	}
	if err := tt.kill(i); err != nil {
		return err
	}
	tt.add(new.Copy())
	return nil
}

// undoTo reverts the changes logged after position mark of the undo log.
func (tt *txTable) undoTo(mark int) {
	for len(tt.undo) > mark {
		u := tt.undo[len(tt.undo)-1]
		tt.undo = tt.undo[:len(tt.undo)-1]
		switch u.op {
		case undoInserts:
			tt.inserts.each(u.n, func(i int, r sql.Row) bool {
				tt.unsetKeys(r, -(i + 1))
				return true
			})
			tt.inserts.truncate(u.n)
			tt.syncRuns()
		case undoToRewrite:
			tt.rw.release()
			tt.rewrit, tt.rw, tt.keys, tt.baseIdx = false, nil, nil, nil
		case undoKill:
			tt.rw.setAlive(u.n, true)
			if r, err := tt.rowAt(u.n); err == nil { // read when killed
				tt.setKeys(r, u.n)
			}
		case undoAdd:
			tt.unsetKeys(tt.rw.added[u.n-tt.rw.nBase], u.n)
			tt.rw.dropLastAdded()
		}
	}
	tt.inserted = 0
}

// beginStatement notes that statement pid touches the table. At the
// first touch of a new statement the undo log is cleared if no savepoint
// can need it (so it never holds more than one statement's changes
// beyond the savepoints) and the statement's start is marked.
func (tt *txTable) beginStatement(pid uint64) {
	if tt.stmtPid == pid && pid != 0 {
		return
	}
	if len(tt.tx.savepoints) == 0 {
		clear(tt.undo)
		tt.undo = tt.undo[:0]
		tt.inserted = 0
	}
	tt.stmtPid, tt.stmtMark = pid, len(tt.undo)
}

// view returns what a scan in the transaction sees: the base snapshot
// (not retained for the caller) and, per base segment, whether the view
// shows it (nil: all), the inserted rows staged to files (valid while the
// transaction lasts), batches, which the caller must release, and rows:
// the batches the transaction packed and the rows it inserted or, in
// overwrite mode, the live rows of the segments it deleted rows of and
// the rows it added. The row slice is a copy.
func (tt *txTable) view() (base *storage.Data, show []bool, staged []*storage.Data, batches []arrow.RecordBatch, rows []sql.Row, err error) {
	if !tt.rewrit {
		staged, packed, rows := tt.inserts.view()
		return tt.base, nil, staged, packed, rows, nil
	}
	surv, err := tt.survivors()
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	for b := range tt.rw.segs {
		if rec := surv[b]; rec != nil {
			batches = append(batches, rec)
		}
	}
	return tt.base, tt.rw.unchanged(), nil, batches, tt.rw.liveAdded(), nil
}

// change returns the table's changes (the table must have changed) as
// its part of the transaction's commit, and the function that releases
// what the change holds once the commit is over. Storage serialises the
// commit with every other write to the table: an append re-checks its
// keys against rows committed since the base, and a rewrite fails with
// ER_LOCK_DEADLOCK if anything was committed since.
func (tt *txTable) change() (storage.TableChange, func(), error) {
	t := tt.t
	schema := tt.base.Schema() // the rows' columns; a commit after ALTER TABLE fails (ErrSchemaMismatch)
	if !tt.rewrit {
		recs, err := tt.inserts.batches()
		if err != nil {
			return storage.TableChange{}, nil, err
		}
		// The transaction ends with this commit, whatever its outcome
		// (commit releases it): the key maps and the undo log are dropped
		// now, so that their memory is free while the data files are
		// written. A re-check of the keys reads the rows from recs.
		tt.keys, tt.undo = nil, nil
		staged := tt.inserts.stagedData()
		check := func(cur *storage.Data) error { return tt.recheckKeys(cur, staged, recs) }
		c := storage.TableChange{Table: t.st, Check: check, Append: recs, Staged: tt.inserts.spilled}
		return c, func() { releaseAll(recs) }, nil
	}
	name := t.Name() // the callback must not call methods of the storage table
	rewrite := func(cur *storage.Data) (storage.SegmentChange, error) {
		if !sameContents(cur, tt.base) { // an AUTO_INCREMENT reservation is no change (autoinc.go)
			return storage.SegmentChange{}, mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
				"Deadlock found when trying to get lock; try restarting transaction (table %s changed during the transaction)", name)
		}
		return tt.rw.segmentChange(schema) // storage releases the batches
	}
	return storage.TableChange{Table: t.st, Segments: rewrite}, func() {}, nil
}

// recheckKeys is the AppendIf check of pending inserts (the rows of
// inserted): when another transaction committed since the base snapshot,
// the inserted rows are checked again against the current rows and
// against each other, for every unique key defined now (a UNIQUE index
// may have been created since the base). When cur only adds rows to the
// base (Data.Extends) under the same key definitions, the inserted rows
// were already checked against the base rows when inserted, and only the
// rows added since are read: the check of a group-committed INSERT costs
// what was committed since its snapshot, not the table's size.
func (tt *txTable) recheckKeys(cur *storage.Data, staged []*storage.Data, inserted []arrow.RecordBatch) error {
	if sameContents(cur, tt.base) {
		return nil
	}
	uniq := tt.t.uniqueKeysAt(cur)
	if len(uniq) == 0 {
		return nil
	}
	var from int64
	if cur.Extends(tt.base) && cur.Property(indexesProperty) == tt.base.Property(indexesProperty) {
		from = tt.base.NumRows()
	}
	sets, err := tt.t.keySetsFrom(cur, uniq, from)
	if err != nil {
		return err
	}
	// The inserted rows were checked against each other when inserted
	// for the keys the base had; only a key defined since needs their
	// keys in the sets too.
	fresh := make([]bool, len(uniq))
	for u, uk := range uniq {
		fresh[u] = !slices.ContainsFunc(tt.uniq, func(o *uniqueKey) bool {
			return o.name == uk.name && slices.Equal(o.cols, uk.cols) && slices.Equal(o.prefix, uk.prefix)
		})
	}
	checkRows := func(rec arrow.RecordBatch, _ int64) error {
		for _, r := range recordRows(tt.t.schema.Schema, []arrow.RecordBatch{rec}) {
			for u, uk := range uniq {
				k, ok := uk.keyOf(r)
				if !ok {
					continue
				}
				if _, dup := sets[u][k]; dup {
					return uk.dupErr(r, nil)
				}
				if fresh[u] {
					sets[u][k] = -1
				}
			}
		}
		return nil
	}
	for _, d := range staged {
		if err := d.Scan(0, checkRows); err != nil {
			return segmentErr(err)
		}
	}
	for _, rec := range inserted {
		if err := checkRows(rec, 0); err != nil {
			return err
		}
	}
	return nil
}

// session is a connection's SQL session: go-mysql-server's base session
// plus transactions (sql.TransactionSession).
type session struct {
	*sql.BaseSession
	mu     sync.Mutex
	last   *transaction           // the session's newest transaction, for SessionEnd
	viewDB atomic.Pointer[string] // a view's database while it is bound (view_scope.go)

	gates int              // commit gates held exclusively (retry.go)
	lost  []*storage.Table // tables of autocommit commits lost to a write conflict (retry.go)
}

var (
	_ sql.TransactionSession    = (*session)(nil)
	_ sql.LifecycleAwareSession = (*session)(nil)
)

// StartTransaction implements sql.TransactionSession.
func (s *session) StartTransaction(_ *sql.Context, ch sql.TransactionCharacteristic) (sql.Transaction, error) {
	tx := newTransaction(ch == sql.ReadOnly)
	tx.sess = s
	s.mu.Lock()
	prev := s.last
	s.last = tx
	s.mu.Unlock()
	if prev != nil && prev != tx {
		prev.release() // ended without COMMIT or ROLLBACK reaching us
	}
	return tx, nil
}

// CommitTransaction implements sql.TransactionSession. A failed commit
// rolls the transaction back and ends it, as MySQL does when it reports
// a deadlock: the next statement starts a new transaction under the
// session's autocommit setting.
func (s *session) CommitTransaction(ctx *sql.Context, t sql.Transaction) error {
	tx, ok := t.(*transaction)
	if !ok {
		return fmt.Errorf("unexpected transaction %T", t)
	}
	err := tx.commit()
	if err != nil && isWriteConflict(err) && ctx != nil && !ctx.GetIgnoreAutoCommit() {
		s.noteLostRace(tx.wrote) // retry.go
	}
	if err != nil && ctx != nil {
		ctx.SetIgnoreAutoCommit(false)
		ctx.SetTransaction(nil)
	}
	return err
}

// Rollback implements sql.TransactionSession.
func (s *session) Rollback(_ *sql.Context, t sql.Transaction) error {
	if tx, ok := t.(*transaction); ok {
		tx.release()
	}
	return nil
}

// CreateSavepoint implements sql.TransactionSession.
func (s *session) CreateSavepoint(_ *sql.Context, t sql.Transaction, name string) error {
	if tx, ok := t.(*transaction); ok {
		tx.createSavepoint(name)
	}
	return nil
}

// RollbackToSavepoint implements sql.TransactionSession.
func (s *session) RollbackToSavepoint(_ *sql.Context, t sql.Transaction, name string) error {
	if tx, ok := t.(*transaction); ok && tx.rollbackTo(name) {
		return nil
	}
	return errSavepoint(name)
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *session) ReleaseSavepoint(_ *sql.Context, t sql.Transaction, name string) error {
	if tx, ok := t.(*transaction); ok && tx.dropSavepoint(name) {
		return nil
	}
	return errSavepoint(name)
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *session) CommandBegin() error { return nil }

// CommandEnd implements sql.LifecycleAwareSession.
//
// A statement that failed under autocommit leaves its transaction open
// (go-mysql-server commits and clears it only on success); it is rolled
// back here, so the next statement starts with fresh snapshots and no
// leftovers of the failed one.
func (s *session) CommandEnd() {
	s.viewDB.Store(nil) // view_scope.go
	tx, ok := s.GetTransaction().(*transaction)
	if !ok || s.GetIgnoreAutoCommit() {
		return
	}
	v, err := s.GetSessionVariable(nil, sql.AutoCommitSessionVar) // nil: see inAutocommit
	if err != nil {
		return
	}
	if on, err := sql.ConvertToBool(nil, v); err != nil || !on {
		return
	}
	tx.release()
	s.SetTransaction(nil)
}

// SessionEnd implements sql.LifecycleAwareSession: a lost or closed
// connection rolls its open transaction back.
func (s *session) SessionEnd() {
	s.mu.Lock()
	tx := s.last
	s.last = nil
	s.mu.Unlock()
	if tx != nil {
		tx.release()
	}
}
