package functions

import (
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/detectors"
)

// Resolver finds a detector by name: "name" in the session's current
// database or "db.name". It returns a MySQL error for unknown detectors.
type Resolver interface {
	Lookup(ctx *sql.Context, ref string) (*detectors.Model, error)
	// Generation changes whenever any detector is created, dropped or
	// loaded, and whenever accounts or grants change (Lookup checks the
	// caller's privileges). A model found by Lookup stays valid for the
	// same current database and ref while Generation returns the same
	// value, so callers may keep it instead of looking it up for every row.
	Generation() uint64
}

// All returns every anomalydb SQL function, bound to the resolver.
func All(r Resolver) []sql.Function {
	return []sql.Function{
		sql.FunctionN{Name: "anomaly_score", Fn: func(args ...sql.Expression) (sql.Expression, error) {
			return NewAnomalyScore(r, args...)
		}},
		sql.FunctionN{Name: "is_anomaly", Fn: func(args ...sql.Expression) (sql.Expression, error) {
			return NewIsAnomaly(r, args...)
		}},
		sql.FunctionN{Name: "anomaly_explain", Fn: func(args ...sql.Expression) (sql.Expression, error) {
			return NewAnomalyExplain(r, args...)
		}},
		sql.FunctionN{Name: "anomaly_percentile", Fn: func(args ...sql.Expression) (sql.Expression, error) {
			return NewAnomalyPercentile(r, args...)
		}},
	}
}
