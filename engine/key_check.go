package engine

// Unique-key checks of INSERT through the sorted index.
//
// A transaction in append mode checks a new row's unique keys against
// the rows it inserted (a map of their keys) and against its base
// snapshot. For the base it used to build a map of every base row's keys
// on its first INSERT: a statement's cost grew with the table. When every
// unique key is made of numeric columns (compared exactly by value), the
// base is checked instead through the table's sorted index over the key
// (index_lookup.go), kept across statements and extended by appends: a
// binary search for the candidates, whose keys are then compared as the
// map would (uniqueKey.keyOf). Keys with string parts (compared under a
// collation) and transactions whose base is no prefix of the current
// contents keep the map.

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// baseIndexes returns the sorted index of each unique key over the
// table's current contents when those begin with the base rows and every
// key can be searched exactly in an index; else nil.
func (tt *txTable) baseIndexes() ([]*sortedIndex, error) {
	for _, uk := range tt.uniq {
		if !indexableKey(tt.t.schema.Schema, uk) {
			return nil, nil
		}
	}
	cur := tt.t.st.Snapshot()
	defer cur.Release()
	if !cur.Extends(tt.base) {
		return nil, nil
	}
	out := make([]*sortedIndex, len(tt.uniq))
	for u, uk := range tt.uniq {
		si, err := tt.t.cache.sorted(tt.t.st, cur, tt.t.schema.Schema, uk.cols)
		if err != nil || si == nil {
			return nil, err
		}
		out[u] = si
	}
	return out, nil
}

// indexableKey reports whether key u compares by the exact values of
// integer or floating-point columns (no prefix), as the sorted index
// searches them.
func indexableKey(sch sql.Schema, u *uniqueKey) bool {
	for i, o := range u.cols {
		typ := sch[o].Type
		if u.prefix[i] != 0 || !(types.IsInteger(typ) || types.IsFloat(typ)) {
			return false
		}
	}
	return true
}

// baseDuplicate returns the number of a base row (below base.NumRows() in
// si's numbering, not skipped) whose key u equals row's key k, searching
// si.
func (tt *txTable) baseDuplicate(si *sortedIndex, uk *uniqueKey, row sql.Row, k string, skip func(g int) bool) (int, bool) {
	vals := make([]interface{}, len(uk.cols))
	for i, o := range uk.cols {
		vals[i] = row[o]
	}
	cand, exact := si.equalRows(vals)
	if !exact {
		cand = si.order() // cannot happen for an indexable key; check every row
	}
	limit := uint32(tt.base.NumRows())
	key := make(sql.Row, len(tt.t.schema.Schema))
	for _, g := range cand {
		if g >= limit || skip(int(g)) {
			continue
		}
		for c, o := range uk.cols {
			key[o] = si.keyValue(int(g), c)
		}
		if got, ok := uk.keyOf(key); ok && got == k {
			return int(g), true
		}
	}
	return 0, false
}
