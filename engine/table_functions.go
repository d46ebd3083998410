package engine

import (
	"errors"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// Table functions (SELECT … FROM f(args)): go-mysql-server asks the
// database provider for them by name. Each is a plan node that checks
// its arguments in NewInstance and evaluates them in RowIter.

var _ sql.TableFunctionProvider = (*provider)(nil)

// tableFunctions lists anomalydb's table functions.
func (p *provider) tableFunctions() []sql.TableFunction {
	return []sql.TableFunction{
		&trainingLogFunction{svc: p.svc}, // detector_training_log.go
	}
}

// TableFunction implements sql.TableFunctionProvider.
func (p *provider) TableFunction(_ *sql.Context, name string) (sql.TableFunction, bool) {
	for _, f := range p.tableFunctions() {
		if strings.EqualFold(f.Name(), name) {
			return f, true
		}
	}
	return nil, false
}

// WithTableFunctions implements sql.TableFunctionProvider. The table
// functions are anomalydb's own: go-mysql-server calls this only from
// its test catalogs.
func (p *provider) WithTableFunctions(...sql.TableFunction) (sql.TableFunctionProvider, error) {
	return nil, errors.New("anomalydb's table functions cannot be replaced")
}
