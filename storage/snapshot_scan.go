package storage

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"
)

// Time travel: the snapshots a table keeps, and reading one of them from
// its Parquet data files.
//
// Every write commits one Iceberg snapshot (doc.go); the table keeps the
// most recent ones (Options.MaxSnapshots, RetainSnapshots). An old
// snapshot is read from its data files with the Iceberg schema it was
// committed with, never from the in-memory contents, which hold only the
// current snapshot.

// propColumnsSeq is the table property ChangeColumns sets, in the same
// commit, to the table's last sequence number before the change: a
// snapshot whose sequence number is above it was committed under the
// current column definitions, any other may have been committed under
// other ones. A table without it has never changed its columns since the
// property was introduced.
const propColumnsSeq = "anomalydb.columns-seq"

// SnapshotInfo describes one Iceberg snapshot that a table keeps.
type SnapshotInfo struct {
	// ID is the snapshot id (positive).
	ID int64
	// ParentID is the id of the snapshot it was committed on, -1 for the
	// table's first snapshot. The parent may have expired.
	ParentID int64
	// Sequence is the snapshot's sequence number: snapshots are committed
	// in increasing order of it.
	Sequence int64
	// CommittedAt is the commit time, in UTC, with Iceberg's millisecond
	// precision.
	CommittedAt time.Time
	// Operation is Iceberg's name of the change: append, overwrite,
	// replace or delete.
	Operation string
	// Summary is the snapshot's Iceberg summary (added-records,
	// deleted-records, total-records, ...). It is a copy.
	Summary map[string]string
	// Current is true for the table's current snapshot.
	Current bool
}

// TotalRows returns the number of rows of the snapshot as its summary
// records it: "total-records" (the rows of its data files) less
// "total-position-deletes" (the rows its position delete files delete),
// and false if the summary has no such count.
func (i SnapshotInfo) TotalRows() (int64, bool) {
	return liveRecords(i.Summary)
}

// SnapshotView is one kept snapshot of a table, resolved by
// Table.SnapshotByID or Table.SnapshotAsOf: its description, its columns
// and, by Read, its rows. It holds the table metadata it was resolved in
// and is immutable.
type SnapshotView struct {
	SnapshotInfo

	t       *Table
	ice     *table.Table
	schema  *arrow.Schema
	sources []int
	props   map[string]string
}

// Schema returns the Arrow schema of the snapshot's rows as Read returns
// them: the columns of the Iceberg schema the snapshot was committed with,
// in its order and with its names. A column keeps the declared type of
// the table's current column (Table.Schema) when Sources maps it there;
// other columns have the Arrow type of their Iceberg type (int32, int64,
// float32, float64, decimal128, string, binary, bool, date32,
// timestamp[us]).
func (v *SnapshotView) Schema() *arrow.Schema { return v.schema }

// Sources returns, for each column of Schema, the position of the same
// column in the table's current schema (as of the metadata the view was
// resolved in), or -1. A column is mapped only when the columns have not
// changed (ChangeColumns) since the snapshot was committed: it is then
// the same Iceberg field (possibly renamed since, by RenameColumn) with
// the same type and nullability. The caller must not modify the slice.
func (v *SnapshotView) Sources() []int { return v.sources }

// Properties returns a copy of the table's current user properties as of
// the metadata the view was resolved in, which Sources refers to.
func (v *SnapshotView) Properties() map[string]string { return maps.Clone(v.props) }

// Read reads the snapshot's rows from its Parquet data files, in row
// order (the order the current contents of the table had when the
// snapshot was current). The caller owns the returned Data and must
// Release it; its SnapshotID is the snapshot's, its Schema is Schema and
// its Properties are Properties. While Read runs the table expires no
// snapshots (maintain is postponed to a later commit); a snapshot that
// expired after it was resolved gives ErrSnapshotExpired, a table dropped
// since gives ErrTableNotFound, and a data file that cannot be read gives
// an error naming the table.
func (v *SnapshotView) Read() (*Data, error) {
	t := v.t
	t.histMu.RLock()
	defer t.histMu.RUnlock()
	cur, err := t.history()
	if err != nil {
		return nil, err
	}
	if cur.Metadata().SnapshotByID(v.ID) == nil {
		return nil, fmt.Errorf("%w: snapshot %d of %s.%s expired after it was resolved", ErrSnapshotExpired, v.ID, t.db, t.name)
	}
	ctx := t.store.ctx
	scan := v.ice.Scan(table.WithSnapshotID(v.ID))
	defer scan.Close()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: planning the scan of snapshot %d of %s.%s: %w", v.ID, t.db, t.name, err)
	}
	slices.SortStableFunc(tasks, compareTasks)
	batches, err := readTasks(ctx, scan, tasks, v.schema)
	if err != nil {
		return nil, fmt.Errorf("storage: reading snapshot %d of %s.%s: %w", v.ID, t.db, t.name, err)
	}
	d := newData(v.schema, batches)
	d.snapshot = v.ID
	d.props = v.props
	return d, nil
}

// history returns the table's current metadata without waiting for a
// write, or the error of a damaged, dropped or closed table.
func (t *Table) history() (*table.Table, error) {
	if ice := t.meta.Load(); ice != nil {
		return ice, nil
	}
	if t.damage != nil {
		return nil, t.damage
	}
	return nil, fmt.Errorf("%w: %s.%s", ErrTableNotFound, t.db, t.name)
}

// Snapshots returns the snapshots the table keeps, oldest first (in
// commit order). It does not wait for writes in progress. A table that
// was never written has none.
func (t *Table) Snapshots() ([]SnapshotInfo, error) {
	ice, err := t.history()
	if err != nil {
		return nil, err
	}
	cur := snapshotID(ice)
	snaps := keptSnapshots(ice.Metadata())
	out := make([]SnapshotInfo, len(snaps))
	for i, s := range snaps {
		out[i] = infoOf(s, cur)
	}
	return out, nil
}

// SnapshotByID resolves the snapshot with the given id. An id the table
// does not keep gives ErrSnapshotExpired when it is known to have
// expired (the parent of the oldest snapshot kept), else
// ErrSnapshotNotFound; the message says which snapshots the table keeps.
func (t *Table) SnapshotByID(id int64) (*SnapshotView, error) {
	ice, err := t.history()
	if err != nil {
		return nil, err
	}
	md := ice.Metadata()
	if s := md.SnapshotByID(id); s != nil && id > 0 {
		return t.view(ice, s)
	}
	kept := keptSnapshots(md)
	if len(kept) > 0 && kept[0].ParentSnapshotID != nil && *kept[0].ParentSnapshotID == id {
		return nil, fmt.Errorf("%w: snapshot %d of %s.%s has expired (%s)", ErrSnapshotExpired, id, t.db, t.name, describeKept(md, kept))
	}
	return nil, fmt.Errorf("%w: %s.%s has no snapshot %d (%s)", ErrSnapshotNotFound, t.db, t.name, id, describeKept(md, kept))
}

// SnapshotAsOf resolves the snapshot that was current at time at: the
// last snapshot, in commit order, committed at or before at (Iceberg
// keeps commit times in milliseconds; a snapshot committed within the
// millisecond of at counts as before it). A time before the table's
// first snapshot, or a table without snapshots, gives ErrNoSnapshotAsOf;
// a time whose snapshot has expired gives ErrSnapshotExpired.
func (t *Table) SnapshotAsOf(at time.Time) (*SnapshotView, error) {
	ice, err := t.history()
	if err != nil {
		return nil, err
	}
	md := ice.Metadata()
	ms := at.UnixMilli()
	if at.Before(time.UnixMilli(ms)) { // UnixMilli truncates toward zero
		ms--
	}
	var best *table.Snapshot
	for _, s := range currentHistory(md) {
		if s.TimestampMs <= ms {
			best = s
		}
	}
	if best != nil {
		return t.view(ice, best)
	}
	kept := keptSnapshots(md)
	when := at.UTC().Format(timeFormat)
	switch {
	case len(kept) == 0:
		return nil, fmt.Errorf("%w: %s.%s has no snapshots (it was never written)", ErrNoSnapshotAsOf, t.db, t.name)
	case historyExpired(md, kept):
		return nil, fmt.Errorf("%w: the snapshot of %s.%s current at %s has expired (%s)", ErrSnapshotExpired, t.db, t.name, when, describeKept(md, kept))
	}
	return nil, fmt.Errorf("%w: %s is before the first snapshot of %s.%s, committed at %s", ErrNoSnapshotAsOf,
		when, t.db, t.name, time.UnixMilli(kept[0].TimestampMs).UTC().Format(timeFormat))
}

// view builds the SnapshotView of snapshot s of the table metadata ice.
func (t *Table) view(ice *table.Table, s *table.Snapshot) (*SnapshotView, error) {
	md := ice.Metadata()
	cur := md.CurrentSchema()
	isc := cur
	if s.SchemaID != nil {
		isc = nil
		for _, sc := range md.Schemas() {
			if sc.ID == *s.SchemaID {
				isc = sc
				break
			}
		}
		if isc == nil {
			return nil, fmt.Errorf("storage: snapshot %d of %s.%s refers to schema %d, which the table does not have", s.SnapshotID, t.db, t.name, *s.SchemaID)
		}
	}
	declared, err := declaredSchema(cur, ice.Properties())
	if err != nil {
		return nil, fmt.Errorf("storage: table %s.%s: %w", t.db, t.name, err)
	}
	natural, err := table.SchemaToArrowSchema(isc, nil, false, false)
	if err != nil {
		return nil, fmt.Errorf("storage: schema of snapshot %d of %s.%s: %w", s.SnapshotID, t.db, t.name, err)
	}
	changed, _ := strconv.ParseInt(ice.Properties()[propColumnsSeq], 10, 64)
	unchanged := s.SequenceNumber > changed
	curPos := make(map[int]int, cur.NumFields())
	for j, f := range cur.Fields() {
		curPos[f.ID] = j
	}
	fields := make([]arrow.Field, isc.NumFields())
	sources := make([]int, isc.NumFields())
	for i, f := range isc.Fields() {
		fields[i] = arrow.Field{Name: f.Name, Type: natural.Field(i).Type, Nullable: !f.Required}
		sources[i] = -1
		if j, ok := curPos[f.ID]; ok && unchanged && cur.Field(j).Type.Equals(f.Type) && cur.Field(j).Required == f.Required {
			fields[i].Type = declared.Field(j).Type
			sources[i] = j
		}
	}
	props := map[string]string{}
	for k, v := range ice.Properties() {
		if !isReservedProp(k) {
			props[k] = v
		}
	}
	return &SnapshotView{
		SnapshotInfo: infoOf(s, snapshotID(ice)),
		t:            t,
		ice:          ice,
		schema:       arrow.NewSchema(fields, nil),
		sources:      sources,
		props:        props,
	}, nil
}

// keptSnapshots returns the snapshots of md in commit order.
func keptSnapshots(md table.Metadata) []*table.Snapshot {
	snaps := make([]*table.Snapshot, 0, len(md.Snapshots()))
	for i := range md.Snapshots() {
		snaps = append(snaps, &md.Snapshots()[i])
	}
	slices.SortStableFunc(snaps, func(a, b *table.Snapshot) int {
		return cmp.Or(cmp.Compare(a.SequenceNumber, b.SequenceNumber), cmp.Compare(a.TimestampMs, b.TimestampMs))
	})
	return snaps
}

// currentHistory returns the snapshots that have been the table's current
// snapshot, in the order they became current: the snapshot log (Iceberg's
// time travel reads it), or the kept snapshots when the log is empty.
func currentHistory(md table.Metadata) []*table.Snapshot {
	var out []*table.Snapshot
	for e := range md.SnapshotLogs() {
		if s := md.SnapshotByID(e.SnapshotID); s != nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return keptSnapshots(md)
	}
	return out
}

// historyExpired reports whether older snapshots than the ones kept
// existed: the oldest kept one has a parent the table no longer has.
func historyExpired(md table.Metadata, kept []*table.Snapshot) bool {
	if len(kept) == 0 {
		return false
	}
	p := kept[0].ParentSnapshotID
	return p != nil && md.SnapshotByID(*p) == nil
}

// describeKept says which snapshots a table with metadata md keeps, for
// error messages.
func describeKept(md table.Metadata, kept []*table.Snapshot) string {
	if len(kept) == 0 {
		return "it has no snapshots"
	}
	oldest := kept[0]
	at := time.UnixMilli(oldest.TimestampMs).UTC().Format(timeFormat)
	if historyExpired(md, kept) {
		return fmt.Sprintf("it keeps its last %d snapshots, the oldest %d committed at %s; older ones have expired", len(kept), oldest.SnapshotID, at)
	}
	return fmt.Sprintf("it keeps all its %d snapshots, the first %d committed at %s", len(kept), oldest.SnapshotID, at)
}

// timeFormat is how messages show times.
const timeFormat = "2006-01-02 15:04:05.000 UTC"

// infoOf describes snapshot s of a table whose current snapshot is cur.
func infoOf(s *table.Snapshot, cur int64) SnapshotInfo {
	info := SnapshotInfo{
		ID:          s.SnapshotID,
		ParentID:    -1,
		Sequence:    s.SequenceNumber,
		CommittedAt: time.UnixMilli(s.TimestampMs).UTC(),
		Summary:     map[string]string{},
		Current:     s.SnapshotID == cur,
	}
	if s.ParentSnapshotID != nil {
		info.ParentID = *s.ParentSnapshotID
	}
	if s.Summary != nil {
		info.Operation = string(s.Summary.Operation)
		maps.Copy(info.Summary, s.Summary.Properties)
	}
	return info
}
