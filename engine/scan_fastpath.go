package engine

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"

	"github.com/anomalydb/anomalydb/detectors"
)

// directTrainingData recognises training SELECTs that only pick columns of
// one stored table (SELECT a, b, c FROM t [AS OF …]) and hands the table's
// committed Arrow batches to training as they are, with no per-row
// conversion; it notes the snapshot read in ctx (noteRead). ok is false
// for any other query, which then runs through the SQL engine.
func directTrainingData(ctx *sql.Context, analyzed sql.Node, label string) (data detectors.TrainingData, release func(), ok bool) {
	node := unwrapAlias(analyzed)
	var fields []sql.Expression
	switch n := node.(type) {
	case *plan.Project:
		fields = n.Projections
		node = unwrapAlias(n.Child)
	case *plan.ResolvedTable:
	default:
		return data, nil, false
	}
	rt, isTable := node.(*plan.ResolvedTable)
	if !isTable {
		return data, nil, false
	}
	tbl, isOurs := rt.UnderlyingTable().(scanSource)
	if !isOurs {
		return data, nil, false
	}
	var cols []int
	var names []string
	if fields == nil {
		for _, i := range tbl.columns() { // the projected columns, if projected
			cols = append(cols, i)
			names = append(names, tbl.fullSchema()[i].Name)
		}
	} else {
		for _, f := range fields {
			name := ""
			if a, isAlias := f.(*expression.Alias); isAlias {
				name = a.Name()
				f = a.Child
			}
			gf, isField := f.(*expression.GetField)
			if !isField {
				return data, nil, false
			}
			idx := tbl.fullSchema().IndexOfColName(gf.Name())
			if idx < 0 {
				return data, nil, false
			}
			if name == "" {
				name = gf.Name()
			}
			cols = append(cols, idx)
			names = append(names, name)
		}
	}
	data.Label = -1
	for i, c := range cols {
		if label != "" && strings.EqualFold(names[i], label) {
			data.Label = c
			continue
		}
		data.Features = append(data.Features, c)
		data.FeatureNames = append(data.FeatureNames, names[i])
	}
	if label != "" && data.Label < 0 {
		return data, nil, false // the general path reports the error
	}
	snap, err := tbl.snapshot()
	if err != nil {
		return data, nil, false // the general path reports the error
	}
	noteRead(ctx, tbl, snap)
	recs, err := snap.ReadAll()
	snap.Release()
	if err != nil {
		return data, nil, false // the general path reports the error
	}
	data.Batches = recs
	return data, func() {
		for _, r := range recs {
			r.Release()
		}
	}, true
}

// unwrapAlias looks through table aliases (SELECT ... FROM t AS x).
func unwrapAlias(n sql.Node) sql.Node {
	for {
		switch p := n.(type) {
		case *plan.TableAlias:
			n = p.Child
		default:
			return n
		}
	}
}
