package storage

import (
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Group commit.
//
// Every commit costs about the same whatever the number of rows: rounds
// of fsyncs (the new files together, then the publish link with the
// version hint; see deferred_sync.go and metadata_commit.go) and
// iceberg-go's metadata work. So concurrent small appends to one table are committed together:
// Table.AppendIf queues its request, and the request at the head of the
// queue (the leader) takes every request queued at that moment (the
// group, up to maxGroupRows rows), runs their checks in queue order,
// writes the rows of the accepted ones as one data file (merged with
// small files as by Append) and commits them as one Iceberg snapshot.
// Requests that arrive meanwhile wait for the next group, led by the
// first of them once the current leader is done, which may first wait
// briefly for the requests it expects (see appendQueue.gather).
//
// Each request's check sees the committed contents extended by the rows
// of the requests accepted before it in the same group (a provisional
// Data that extends the current one, see Data.Extends), so a check
// behaves as if the requests before it had been committed alone: a
// primary-key check rejects a key that an earlier request of the group
// inserts. A request whose check fails, or whose batches do not match the
// schema, gets its own error and leaves the others unaffected. If the
// commit fails, every accepted request of the group gets that error and
// nothing is published. A request returns only once its group's snapshot
// is committed (durable unless Options.NoSync) and published, so each
// acknowledged append is in every later Snapshot and survives a crash.

// maxGroupRows bounds the rows of the requests after the first that a
// leader takes into its group, so that one snapshot does not grow without
// bound while appends keep arriving.
const maxGroupRows = 1 << 20

// appendReq is one AppendIf waiting in its table's append queue.
type appendReq struct {
	check func(cur *Data) error
	recs  []arrow.RecordBatch
	// wake is closed once: when the request is done (err is then final),
	// or when it has become the leader of the next group.
	wake chan struct{}
	done bool
	err  error
}

// appendQueue is a table's queue of AppendIf requests; reqs[0], if any,
// is the leader, which is committing a group or about to.
type appendQueue struct {
	mu   sync.Mutex
	reqs []*appendReq

	// Gathering (see gather): expect is how many requests the next
	// leader waits for, lastCommit how long the last group's commit
	// took, and arrived gets a token when a request is queued while
	// gathering is set.
	expect     int
	lastCommit time.Duration
	gathering  bool
	arrived    chan struct{}
}

// groupAppend is AppendIf: it queues the request and either waits for a
// leader to commit it or, at the head of the queue, commits a group
// itself.
func (t *Table) groupAppend(check func(cur *Data) error, recs []arrow.RecordBatch) error {
	req := &appendReq{check: check, recs: recs, wake: make(chan struct{})}
	q := &t.appends
	q.mu.Lock()
	q.reqs = append(q.reqs, req)
	lead := len(q.reqs) == 1
	if q.gathering {
		select {
		case q.arrived <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
	if !lead {
		<-req.wake
		if req.done {
			return req.err
		}
	}
	q.mu.Lock()
	q.gather()
	group := takeGroup(q.reqs)
	q.mu.Unlock()
	t.commitGroup(group)
	return req.err
}

// maxGather bounds how long a leader waits for the requests it expects.
const maxGather = 10 * time.Millisecond

// gather lets a new leader wait, briefly, for the requests it expects
// before it takes its group; q.mu is held (and released while waiting).
//
// Without it, appenders that each wait for their previous append before
// sending the next fall into a pattern of alternating groups: while a
// group of n commits, the one appender that was not in it queues alone
// and commits alone next, while the n queue again. The requests a leader
// expects are those of the previous group (acknowledged just now, their
// appenders are likely to send the next ones) plus those that were
// queued when it ended; it waits at most half the last commit's duration
// (and maxGather) for them, so a lone appender never waits, and one that
// goes away costs one such wait.
func (q *appendQueue) gather() {
	if len(q.reqs) >= q.expect || q.lastCommit <= 0 {
		return
	}
	if q.arrived == nil {
		q.arrived = make(chan struct{}, 1)
	}
	timer := time.NewTimer(min(q.lastCommit/2, maxGather))
	defer timer.Stop()
	q.gathering = true
	defer func() { q.gathering = false }()
	for len(q.reqs) < q.expect {
		q.mu.Unlock()
		select {
		case <-q.arrived:
			q.mu.Lock()
		case <-timer.C:
			q.mu.Lock()
			return
		}
	}
}

// takeGroup returns the requests a leader (reqs[0]) commits together:
// the longest prefix of reqs whose rows after the first sum to at most
// maxGroupRows.
func takeGroup(reqs []*appendReq) []*appendReq {
	var rows int64
	for i, r := range reqs[1:] {
		for _, b := range r.recs {
			rows += b.NumRows()
		}
		if rows > maxGroupRows {
			return reqs[: i+1 : i+1]
		}
	}
	return reqs[:len(reqs):len(reqs)]
}

// commitGroup commits group (a prefix of the queue, led by group[0]) with
// the table's write lock held, marks its requests done, removes them from
// the queue and hands the lead to the next request queued, if any. It
// wakes the requests even if a check or the commit panics; the panic then
// goes on in the leader. When the commit expired old snapshots, the
// leader deletes their files last, once the lock is released and the
// group woken: only the leader's own call waits for the deletions.
func (t *Table) commitGroup(group []*appendReq) {
	var took time.Duration // the commit's duration, if there was one
	var clean func()       // the deletions of an expiry (see Table.expire)
	defer func() {
		p := recover()
		q := &t.appends
		q.mu.Lock()
		q.reqs = append([]*appendReq(nil), q.reqs[len(group):]...)
		q.expect = len(group) + len(q.reqs)
		if took > 0 {
			q.lastCommit = took
		}
		var next *appendReq
		if len(q.reqs) > 0 {
			next = q.reqs[0]
		}
		q.mu.Unlock()
		for i, r := range group {
			if p != nil && !r.done {
				r.err = fmt.Errorf("storage: append to %s.%s: the group commit failed: %v", t.db, t.name, p)
			}
			r.done = true
			if i > 0 {
				close(r.wake)
			}
		}
		if next != nil {
			close(next.wake)
		}
		if clean != nil {
			go clean() // not waited for by the leader's statement either (Table.maintain)
		}
		if p != nil {
			panic(p)
		}
	}()
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if t.writable() != nil {
		for _, r := range group {
			r.err = t.err
		}
		return
	}

	var accepted []*appendReq
	var recs []arrow.RecordBatch // the rows of accepted, in order
	var rows int64
	view := t.data       // the contents as extended by accepted
	var provisional bool // view is ours to release
	defer func() {
		if provisional {
			view.Release()
		}
	}()
	for _, r := range group {
		n, err := t.check(r.recs)
		if err != nil {
			r.err = err
			continue
		}
		if r.check != nil {
			if view.rows != t.data.rows+rows {
				if provisional {
					view.Release()
				}
				view, provisional = t.extended(recs), true
			}
			if err := runCheck(r.check, view); err != nil {
				r.err = err
				continue
			}
		}
		if n == 0 {
			continue
		}
		accepted = append(accepted, r)
		recs = append(recs, r.recs...)
		rows += n
	}
	if rows == 0 {
		return
	}
	if len(accepted) > 1 {
		// One batch for the group, so that the contents do not keep a
		// tiny batch per statement.
		rel := make([]arrow.RecordBatch, 0, len(recs))
		for _, b := range recs {
			if b.NumRows() > 0 {
				rel = append(rel, withSchema(t.schema, b))
			}
		}
		merged, err := concatBatches(t.store.opts.Allocator, t.schema, rel)
		releaseBatches(rel)
		if err != nil {
			for _, r := range accepted {
				r.err = err
			}
			return
		}
		defer merged.Release()
		recs = []arrow.RecordBatch{merged}
	}
	start := time.Now()
	var err error
	clean, err = t.appendExpiring(recs, rows)
	took = time.Since(start)
	if err != nil {
		for _, r := range accepted {
			r.err = err
		}
	}
}

// extended returns a new Data (owned by the caller) holding the current
// contents followed by the rows of recs, which match the schema: what the
// contents will be once recs are appended. It extends the current
// contents (Data.Extends) and carries the current properties. t.writeMu
// must be held.
func (t *Table) extended(recs []arrow.RecordBatch) *Data {
	batches := make([]arrow.RecordBatch, 0, len(recs))
	for _, b := range recs {
		batches = append(batches, withSchema(t.schema, b))
	}
	d := t.data.Append(t.schema, batches).extend(t.data)
	d.props = t.props
	return d
}

// runCheck calls check with cur and returns its error; a panic in check
// becomes the error of its request alone.
func runCheck(check func(cur *Data) error, cur *Data) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("storage: append check panicked: %v", p)
		}
	}()
	return check(cur)
}
