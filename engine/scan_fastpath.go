package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"

	"github.com/anomalydb/anomalydb/detectors"
)

// directTrainingData recognises training SELECTs that only pick columns of
// one stored table (SELECT a, b, c FROM t [AS OF …]) and streams the
// table's committed Arrow batches, one at a time and with no per-row SQL
// conversion, through a sampler made by newSampler (which keeps only its
// sample); it notes the snapshot read in ctx (noteRead). ok is false for
// any other query, which then runs through the SQL engine; err is the
// sampler's error (a non-numeric feature, a bad label) or ctx's.
func directTrainingData(ctx *sql.Context, analyzed sql.Node, label string, newSampler func(features []int, label int) (*detectors.RowSampler, error)) (data detectors.TrainingData, ok bool, err error) {
	node := unwrapAlias(analyzed)
	var fields []sql.Expression
	switch n := node.(type) {
	case *plan.Project:
		fields = n.Projections
		node = unwrapAlias(n.Child)
	case *plan.ResolvedTable:
	default:
		return data, false, nil
	}
	rt, isTable := node.(*plan.ResolvedTable)
	if !isTable {
		return data, false, nil
	}
	tbl, isOurs := rt.UnderlyingTable().(scanSource)
	if !isOurs {
		return data, false, nil
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
				return data, false, nil
			}
			idx := tbl.fullSchema().IndexOfColName(gf.Name())
			if idx < 0 {
				return data, false, nil
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
		return data, false, nil // the general path reports the error
	}
	snap, err := tbl.snapshot()
	if err != nil {
		return data, false, nil // the general path reports the error
	}
	defer snap.Release()
	noteRead(ctx, tbl, snap)
	sampler, err := newSampler(data.Features, data.Label)
	if err != nil {
		return data, true, err
	}
	sampler.Reserve(snap.NumRows())
	err = snap.Scan(0, func(b arrow.RecordBatch, _ int64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return sampler.Add(b)
	})
	if err != nil {
		return data, true, segmentErr(err)
	}
	data.Sample = sampler.Result()
	return data, true, nil
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
