package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// LOAD DATA.
//
// go-mysql-server's LOAD DATA iterator splits each line at the field
// terminator before it looks at enclosing characters, so quoted fields
// that contain the separator, a doubled quote, an escape or a newline fail
// or come out wrong. loadDataBuilder replaces that iterator with
// loadDataIter, which reads the file with csvReader (mysql_csv.go, MySQL's
// reading rules) and produces the same rows for go-mysql-server's insert
// node above it: the values of the column list in its order (of every
// column without one), strings for go-mysql-server to convert, with the
// same rules for user variables, SET, empty fields and defaults.
//
// Differences from go-mysql-server's iterator, all MySQL's behaviour:
// fields are read by MySQL's rules (see mysql_csv.go); the word NULL is
// NULL only unenclosed and only with ENCLOSED BY; a user variable gets NULL
// (not the string "NULL") from \N, and NULL when the row has no field for
// it; SET expressions see the row's file values in table order (go-mysql-
// server evaluated them over the fields in file order); a record with more
// fields than the column list is error 1262 and one with fewer warns 1261
// per missing column. Kept from go-mysql-server: a blank line is no row
// (MySQL loads a row of empty fields), and an empty field, enclosed or
// not, is the empty string in a string column and the column's default
// or NULL in any other (MySQL stores 0, or the type's zero, and warns).
//
// A failed LOAD DATA loads nothing, also in the IGNORE mode of LOAD DATA
// LOCAL (see loadDataSavepoint).

// MySQL error numbers of LOAD DATA's malformed input.
const (
	codeLoadTooFew   = 1261 // ER_WARN_TOO_FEW_RECORDS (a warning)
	codeLoadTooMany  = 1262 // ER_WARN_TOO_MANY_RECORDS
	codeLoadUnclosed = mysql.ERWarnDataTruncated
	stateLoadData    = "01000" // SQLSTATE of all three in MySQL
)

// errLoadTooMany is MySQL's ER_WARN_TOO_MANY_RECORDS, an error here: the
// statement loads nothing.
func errLoadTooMany(row int) error {
	return mysql.NewSQLError(codeLoadTooMany, stateLoadData, "Row %d was truncated; it contained more data than there were input columns", row)
}

// errLoadUnclosed reports an enclosed field that the file ends inside as
// MySQL's WARN_DATA_TRUNCATED ("Data truncated for column '%s' at row
// %d", an error in strict mode): MySQL has no error of its own for it (it
// reads the rest of the file into the field). The message adds the line
// the field starts on.
func errLoadUnclosed(column string, e *csvUnclosedError, enclose string) error {
	return mysql.NewSQLError(codeLoadUnclosed, stateLoadData,
		"Data truncated for column '%s' at row %d: the field enclosed by '%s' that starts on line %d is not closed before the end of the file",
		column, e.Row, enclose, e.Line)
}

// loadDataBuilder is the execution-builder override (see engine/server.go)
// that runs LOAD DATA with loadDataIter.
type loadDataBuilder struct {
	files *fileAccess // who may load which server files (file_access.go)
}

var _ sql.NodeExecBuilder = loadDataBuilder{}

// Build implements sql.NodeExecBuilder: the iterator of a *plan.LoadData,
// and (nil, nil), leaving it to go-mysql-server, for every other node.
func (b loadDataBuilder) Build(ctx *sql.Context, n sql.Node, _ sql.Row) (sql.RowIter, error) {
	ld, ok := n.(*plan.LoadData)
	if !ok {
		return nil, nil
	}
	if err := b.files.checkInsert(ctx, ld); err != nil {
		return nil, err
	}
	return newLoadDataIter(ctx, ld, b.files)
}

// openLoadData opens the statement's file: LOCAL through the client when
// local_infile is on (as go-mysql-server's rowexec.buildLoadData), a
// server file as files allows (FILE privilege, secure_file_priv).
func openLoadData(ctx *sql.Context, n *plan.LoadData, files *fileAccess) (io.ReadCloser, error) {
	if n.Local {
		_, localInfile, ok := sql.SystemVariables.GetGlobal("local_infile")
		if !ok {
			return nil, fmt.Errorf("error: local_infile variable was not found")
		}
		if localInfile.(int8) == 0 {
			return nil, fmt.Errorf("local_infile needs to be set to 1 to use LOCAL")
		}
		return ctx.LoadInfile(n.File)
	}
	return files.openLoadData(ctx, n.File)
}

// loadDataIter reads the rows of one LOAD DATA statement.
type loadDataIter struct {
	file io.ReadCloser
	rd   *csvReader

	destSch       sql.Schema
	colCount      int   // entries of the statement's column list (0: none)
	fieldToColMap []int // field position → index in destSch, -1 for a user variable
	setExprs      []sql.Expression
	userVars      []sql.Expression
	inputs        int      // fields per record: entries of the column list, or destSch's columns
	names         []string // field position → column or @variable, for messages
	enclose       string

	ignoreNum int64
	skipped   bool
	closed    bool
}

var (
	_ sql.RowIter = (*loadDataIter)(nil)
	_ sql.Closer  = (*loadDataIter)(nil)
)

func newLoadDataIter(ctx *sql.Context, n *plan.LoadData, files *fileAccess) (*loadDataIter, error) {
	file, err := openLoadData(ctx, n, files)
	if err != nil {
		return nil, err
	}

	// As go-mysql-server's buildLoadData.
	sch := n.Schema()
	source := sch[0].Source // Schema will always have at least one column
	colNames := n.ColNames
	if len(colNames) == 0 {
		colNames = make([]string, len(sch))
		for i, col := range sch {
			colNames[i] = col.Name
		}
	}
	fieldToColMap := make([]int, len(n.UserVars))
	names := make([]string, len(n.UserVars))
	for fieldIdx, colIdx := 0, 0; fieldIdx < len(n.UserVars) && colIdx < len(colNames); fieldIdx++ {
		if n.UserVars[fieldIdx] != nil {
			fieldToColMap[fieldIdx] = -1
			names[fieldIdx] = n.UserVars[fieldIdx].(*expression.SetField).LeftChild.String()
			continue
		}
		fieldToColMap[fieldIdx] = sch.IndexOf(colNames[colIdx], source)
		names[fieldIdx] = colNames[colIdx]
		colIdx++
	}

	it := &loadDataIter{
		file:          file,
		destSch:       n.DestSch,
		colCount:      len(n.ColNames), // Needs to be the original column count
		fieldToColMap: fieldToColMap,
		setExprs:      n.SetExprs,
		userVars:      n.UserVars,
		inputs:        inputCount(ctx, n),
		names:         names,
		enclose:       n.FieldsEnclosedBy,
		ignoreNum:     n.IgnoreNum,
	}
	it.rd = newCSVReader(file, csvDialect{
		FieldTerm: n.FieldsTerminatedBy,
		Enclose:   n.FieldsEnclosedBy,
		Escape:    n.FieldsEscapedBy,
		LineStart: n.LinesStartingBy,
		LineTerm:  n.LinesTerminatedBy,
		Fields:    it.inputs,
	}, 0)
	return it, nil
}

// inputCount is the number of fields a record of the statement has: the
// entries of its column list (col_name_or_user_var, ...), or the table's
// columns without one. plan.LoadData does not keep that number (SET
// appends its columns to ColNames and UserVars, and UserVars is padded to
// the table's width), so it is read from the statement. If that fails it
// counts the positions the plan maps, which may include columns only SET
// assigns: then a record without them only warns 1261, and never errs.
func inputCount(ctx *sql.Context, n *plan.LoadData) int {
	if stmt, _, err := sqlparser.ParseOne(ctx, ctx.Query()); err == nil {
		if l, ok := stmt.(*sqlparser.Load); ok && l.Infile == n.File && bool(l.Local) == n.Local {
			if len(l.Columns) > 0 {
				return len(l.Columns)
			}
			return len(n.DestSch)
		}
	}
	cols := len(n.ColNames)
	if cols == 0 {
		cols = len(n.DestSch)
	}
	count, c := 0, 0
	for p, uv := range n.UserVars {
		if uv != nil {
			count = p + 1
		} else if c < cols {
			c++
			count = p + 1
		}
	}
	return count
}

// Next implements sql.RowIter.
func (it *loadDataIter) Next(ctx *sql.Context) (sql.Row, error) {
	if !it.skipped {
		it.skipped = true
		if err := it.rd.SkipLines(it.ignoreNum); err != nil {
			return nil, it.fail(err)
		}
	}
	for {
		rec, err := it.rd.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, it.fail(err)
		}
		// A blank line is no row (go-mysql-server's rule; MySQL inserts
		// a row of empty fields).
		if len(rec) == 1 && rec[0].empty() {
			continue
		}
		// MySQL reads as many fields as there are inputs and then skips
		// to the line terminator: the row was truncated if it skipped
		// anything, so one trailing field terminator is no extra field.
		if extra := len(rec) - it.inputs; extra > 1 || (extra == 1 && !rec[it.inputs].empty()) {
			return nil, it.fail(errLoadTooMany(it.rd.Row()))
		} else if extra == 1 {
			rec = rec[:it.inputs]
		}
		exprs, err := it.exprs(ctx, rec)
		if err != nil {
			return nil, err
		}
		return evalLoadDataExprs(ctx, exprs)
	}
}

// fail undoes the statement's rows, closes the file (a client's LOCAL
// file is then drained) and returns err in MySQL's terms.
func (it *loadDataIter) fail(err error) error {
	it.Close(nil)
	var ue *csvUnclosedError
	if errors.As(err, &ue) {
		if ue.Field >= it.inputs || ue.Field >= len(it.names) {
			return errLoadTooMany(ue.Row)
		}
		return errLoadUnclosed(it.names[ue.Field], ue, it.enclose)
	}
	return err
}

// exprs is go-mysql-server's loadDataIter.parseFields after the split into
// fields: the expressions of one row (nil where the insert's projection
// fills in the column), and the user variables of the column list set.
func (it *loadDataIter) exprs(ctx *sql.Context, rec []csvField) ([]sql.Expression, error) {
	// The fields by position, for the user variables (their GetFields
	// index the column list), and by column, for SET.
	fieldRow := make(sql.Row, it.inputs)
	setRow := make(sql.Row, len(it.destSch))
	for i, f := range rec {
		if !f.Null {
			fieldRow[i] = f.Value
		}
		if i < len(it.fieldToColMap) && it.userVars[i] == nil && it.fieldToColMap[i] >= 0 {
			setRow[it.fieldToColMap[i]] = fieldRow[i]
		}
	}

	exprs := make([]sql.Expression, len(it.destSch))
	for fieldIdx, exprIdx := 0, 0; fieldIdx < it.inputs && fieldIdx < len(it.userVars); fieldIdx++ {
		if it.userVars[fieldIdx] != nil {
			setField := it.userVars[fieldIdx].(*expression.SetField)
			userVar := setField.LeftChild.(*expression.UserVar)
			// A missing field sets the variable to NULL, as in MySQL.
			if err := setUserVar(ctx, userVar, setField.RightChild, fieldRow); err != nil {
				return nil, err
			}
			continue
		}

		// don't check for `exprIdx < len(exprs)` in for loop
		// because we still need to assign trailing user variables
		if exprIdx >= len(exprs) {
			continue
		}

		if fieldIdx >= len(rec) {
			// MySQL warns once per column without a field.
			ctx.Warn(codeLoadTooFew, "Row %d doesn't contain data for all columns", it.rd.Row())
			exprIdx++
			continue
		}
		field := rec[fieldIdx]
		switch {
		case field.Null:
			exprs[exprIdx] = expression.NewLiteral(nil, types.Null)
		case field.Value == "":
			// Replace the empty string with defaults if exists, otherwise NULL
			colIdx := it.fieldToColMap[fieldIdx]
			if colIdx < 0 {
				exprs[exprIdx] = expression.NewLiteral(field.Value, types.LongText)
				break
			}
			destCol := it.destSch[colIdx]
			if _, ok := destCol.Type.(sql.StringType); ok {
				exprs[exprIdx] = expression.NewLiteral(field.Value, types.LongText)
			} else if destCol.Default != nil {
				exprs[exprIdx] = destCol.Default
			} else {
				exprs[exprIdx] = expression.NewLiteral(nil, types.Null)
			}
		default:
			exprs[exprIdx] = expression.NewLiteral(field.Value, types.LongText)
		}
		exprIdx++
	}

	// Apply Set Expressions by replacing the corresponding field expression with the set expression
	for fieldIdx, exprIdx := 0, 0; len(it.setExprs) > 0 && fieldIdx < len(it.fieldToColMap) && exprIdx < len(exprs); fieldIdx++ {
		setIdx := it.fieldToColMap[fieldIdx]
		if setIdx == -1 {
			continue
		}
		setExpr := it.setExprs[setIdx]
		if setExpr != nil {
			res, err := setExpr.Eval(ctx, setRow)
			if err != nil {
				return nil, err
			}
			exprs[exprIdx] = expression.NewLiteral(res, setExpr.Type())
		}
		exprIdx++
	}

	// Due to how projections work, if no columns are provided (each row may have a variable number of values), the
	// projection will not insert default values, so we must do it here.
	if it.colCount == 0 {
		for exprIdx, expr := range exprs {
			if expr != nil {
				continue
			}
			col := it.destSch[exprIdx]
			if !col.Nullable && col.Default == nil && !col.AutoIncrement {
				return nil, sql.ErrInsertIntoNonNullableDefaultNullColumn.New(col.Name)
			}
			exprs[exprIdx] = col.Default
		}
	}
	return exprs, nil
}

// evalLoadDataExprs is the end of go-mysql-server's loadDataIter.Next:
// the row of the expressions, non-literal defaults last since they may
// read other columns.
func evalLoadDataExprs(ctx *sql.Context, exprs []sql.Expression) (sql.Row, error) {
	row := make(sql.Row, len(exprs))
	var secondPass []int
	var err error
	for i, expr := range exprs {
		if expr != nil {
			if defaultVal, isDef := expr.(*sql.ColumnDefaultValue); isDef && !defaultVal.IsLiteral() {
				secondPass = append(secondPass, i)
				continue
			}
			row[i], err = expr.Eval(ctx, row)
			if err != nil {
				return nil, err
			}
		}
	}
	for _, idx := range secondPass {
		row[idx], err = exprs[idx].Eval(ctx, row)
		if err != nil {
			return nil, err
		}
	}
	return sql.NewRow(row...), nil
}

// setUserVar is go-mysql-server's (rowexec, unexported): the user
// variable takes right's value over row, typed by that value.
func setUserVar(ctx *sql.Context, userVar *expression.UserVar, right sql.Expression, row sql.Row) error {
	val, err := right.Eval(ctx, row)
	if err != nil {
		return err
	}
	return ctx.SetUserVariable(ctx, userVar.Name, val, types.ApproximateTypeFromValue(val))
}

// Close implements sql.Closer. A statement that fails is undone whole by
// the table's editor (editor.DiscardChanges), across the per-row
// checkpoints of LOCAL's IGNORE mode.
func (it *loadDataIter) Close(*sql.Context) error {
	if it.closed {
		return nil
	}
	it.closed = true
	return it.file.Close()
}
