package engine

import (
	"fmt"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
	errors "gopkg.in/src-d/go-errors.v1"
)

// MySQL error numbers anomalydb answers with. Clients and tests check the
// number, never the text. Numbers without a constant in vitess are spelled
// out here with the MySQL name they borrow.
const (
	codeDetectorExists   = 1304 // ER_SP_ALREADY_EXISTS
	codeDetectorNotFound = mysql.ERSPDoesNotExist
	codeWrongArguments   = mysql.ERWrongArguments
	codeWrongValue       = mysql.ERTruncatedWrongValueForField
	codeUnknownAlgorithm = 1286 // ER_UNKNOWN_STORAGE_ENGINE: the closest MySQL analogue
	codeBadField         = mysql.ERBadFieldError
	codeParse            = mysql.ERParseError
	codeNoDatabase       = mysql.ERNoDb
	codeNoData           = 1329 // ER_SP_FETCH_NO_DATA
	codeDetectorCorrupt  = 1457 // ER_SP_PROC_TABLE_CORRUPT: a stored object that fails to load
	stateGeneral         = mysql.SSUnknownSQLState
	stateSyntax          = mysql.SSClientError
	stateNotFound        = mysql.SSClientError
)

// ErrUnsupportedType is returned for column types the storage cannot keep.
var ErrUnsupportedType = errors.NewKind("column type %s is not supported by anomalydb tables")

func errDetectorExists(name string) error {
	return mysql.NewSQLError(codeDetectorExists, stateNotFound, "DETECTOR %s already exists", name)
}

func errDetectorNotFound(name string) error {
	return mysql.NewSQLError(codeDetectorNotFound, stateNotFound, "DETECTOR %s does not exist", name)
}

func errDetectorCorrupt(db, name string, err error) error {
	return mysql.NewSQLError(codeDetectorCorrupt, stateGeneral, "Failed to load DETECTOR %s.%s (%v); DROP DETECTOR it and create it again", db, name, err)
}

func errWrongArguments(what string, args ...interface{}) error {
	return mysql.NewSQLError(codeWrongArguments, stateGeneral, "Incorrect arguments to %s", fmt.Sprintf(what, args...))
}

func errNotNumeric(format string, args ...interface{}) error {
	return mysql.NewSQLError(codeWrongValue, stateGeneral, format, args...)
}

func errUnknownAlgorithm(name string, known []string) error {
	return mysql.NewSQLError(codeUnknownAlgorithm, stateGeneral, "Unknown detector algorithm '%s' (known: %s)", name, strings.Join(known, ", "))
}

func errBadField(col, where string) error {
	return mysql.NewSQLError(codeBadField, stateNotFound, "Unknown column '%s' in '%s'", col, where)
}

func errNoDatabase() error {
	return mysql.NewSQLError(codeNoDatabase, mysql.SSNoDB, "No database selected")
}

func errNoData(what string) error {
	return mysql.NewSQLError(codeNoData, "02000", "No data - %s", what)
}

// errSyntax reports a parse error the way MySQL does: the text from where
// parsing failed, and the line it is on.
func errSyntax(query string, pos int, detail string) error {
	if pos < 0 {
		pos = 0
	}
	if pos > len(query) {
		pos = len(query)
	}
	line := 1 + strings.Count(query[:pos], "\n")
	near := query[pos:]
	if len(near) > 80 {
		near = near[:80]
	}
	msg := "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line %d"
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return mysql.NewSQLError(codeParse, stateSyntax, msg, near, line)
}
