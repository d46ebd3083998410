package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// Server-side file access.
//
// Three statements reach the server's file system on behalf of a client:
// LOAD DATA INFILE and LOAD_FILE() read a file, SELECT ... INTO OUTFILE
// and INTO DUMPFILE write one. As in MySQL each of them needs
//
//   - the FILE privilege (a global privilege; root has it): LOAD DATA and
//     INTO fail with 1045, LOAD_FILE() returns NULL;
//   - a path that, after `..` and every symbolic link are resolved, lies in
//     @@secure_file_priv (Config.SecureFilePriv): else 1290, or NULL;
//   - for INTO, a file that does not exist yet: else 1086.
//
// anomalydb adds one rule MySQL leaves to the installer: no statement
// reads or writes a file in the data directory, whatever secure_file_priv
// says, and secure_file_priv may be neither the data directory nor inside
// it nor above it (the server refuses to start).
//
// LOAD DATA LOCAL INFILE reads a file the client sends: it is governed by
// @@local_infile, needs INSERT on the table (as every LOAD DATA does) and
// neither FILE nor secure_file_priv.

// MySQL error numbers of file access.
const (
	codeAccessDenied  = mysql.ERAccessDeniedError       // 1045, FILE missing
	codeTableDenied   = 1142                            // ER_TABLEACCESS_DENIED_ERROR
	codeSecureFile    = mysql.EROptionPreventsStatement // 1290
	codeFileExists    = mysql.ERFileExists              // 1086
	codeCantCreate    = 1004                            // ER_CANT_CREATE_FILE
	stateFileAccess   = mysql.SSUnknownSQLState         // HY000, as MySQL's 1290 and 1086
	stateTableDenied  = mysql.SSClientError             // 42000
	secureFileDisable = "NULL"
)

// errSecureFilePriv is MySQL's ER_OPTION_PREVENTS_STATEMENT for a path
// outside secure_file_priv (or any path when it is NULL). why, when not
// empty, is appended for the cases MySQL has no such rule for.
func errSecureFilePriv(why string) error {
	msg := "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement"
	if why != "" {
		msg += " (" + why + ")"
	}
	return mysql.NewSQLError(codeSecureFile, stateFileAccess, "%s", msg)
}

func errFileExists(name string) error {
	return mysql.NewSQLError(codeFileExists, stateFileAccess, "File '%s' already exists", name)
}

func errCantCreate(name string, err error) error {
	return mysql.NewSQLError(codeCantCreate, stateFileAccess, "Can't create file '%s' (%v)", name, errors.Unwrap(err))
}

// fileAccess is one server's rule for server-side files (see above).
type fileAccess struct {
	// dir is secure_file_priv with every symbolic link resolved, "" for
	// no restriction; disabled is secure_file_priv = NULL.
	dir      string
	disabled bool
	dataDir  string // the data directory, symbolic links resolved
	mdb      *mysql_db.MySQLDb
}

// newFileAccess checks and applies Config.SecureFilePriv (see there) for
// dataDir, creating the directory if it is missing.
func newFileAccess(dataDir string, securePriv *string) (*fileAccess, error) {
	data, err := realPath(dataDir)
	if err != nil {
		return nil, err
	}
	fa := &fileAccess{dataDir: data}
	var dir string
	switch {
	case securePriv == nil:
		// The folder "files" beside the data directory: never inside it,
		// and the same place on every start.
		dir = filepath.Join(filepath.Dir(data), "files")
	case *securePriv == "":
		return fa, nil
	case strings.EqualFold(*securePriv, secureFileDisable):
		fa.disabled = true
		return fa, nil
	default:
		dir = *securePriv
	}
	real, err := realPath(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case real == data:
		return nil, fmt.Errorf("--secure-file-priv %s is the data directory: clients could read and overwrite the tables' files; choose another folder (or NULL to disable server-side files)", dir)
	case within(real, data):
		return nil, fmt.Errorf("--secure-file-priv %s is inside the data directory %s: choose a folder outside it (or NULL to disable server-side files)", dir, dataDir)
	case within(data, real):
		return nil, fmt.Errorf("--secure-file-priv %s contains the data directory %s: choose a folder outside it (or NULL to disable server-side files)", dir, dataDir)
	}
	if err := os.MkdirAll(real, 0o750); err != nil {
		return nil, fmt.Errorf("--secure-file-priv: %w", err)
	}
	fa.dir = real
	return fa, nil
}

// realPath is path made absolute with `..` and every symbolic link
// resolved; the part that does not exist yet is appended as written.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if filepath.Dir(p) == p {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
	}
}

// within reports whether path is dir or below it; both are clean and
// absolute.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// variable is @@secure_file_priv as MySQL shows it: the directory with a
// trailing separator, the empty string for no restriction, NULL when disabled. It is
// read-only, as in MySQL.
func (fa *fileAccess) variable() sql.SystemVariable {
	var value interface{} = fa.dir
	switch {
	case fa.disabled:
		value = nil
	case fa.dir != "":
		value = fa.dir + string(filepath.Separator)
	}
	return constantVariable("secure_file_priv", value)
}

// account is the current user as MySQL's messages name it, and whether
// the account has a password.
func (fa *fileAccess) account(ctx *sql.Context) (user, host string, password bool) {
	c := ctx.Session.Client()
	if fa.mdb != nil {
		rd := fa.mdb.Reader()
		u := fa.mdb.GetUser(rd, c.User, c.Address, false)
		rd.Close()
		password = u != nil && u.AuthString != ""
	}
	return c.User, c.Address, password
}

// checkFilePriv returns MySQL's 1045 unless the current user has the
// FILE privilege.
func (fa *fileAccess) checkFilePriv(ctx *sql.Context) error {
	if fa.mdb == nil || !fa.mdb.Enabled() || fa.mdb.UserActivePrivilegeSet(ctx).Has(sql.PrivilegeType_File) {
		return nil
	}
	user, host, pw := fa.account(ctx)
	yes := map[bool]string{true: "YES", false: "NO"}[pw]
	return mysql.NewSQLError(codeAccessDenied, mysql.SSAccessDeniedError, "Access denied for user '%s'@'%s' (using password: %s)", user, host, yes)
}

// checkInsert returns MySQL's 1142 unless the current user may insert
// into the table LOAD DATA loads (go-mysql-server checks only FILE).
func (fa *fileAccess) checkInsert(ctx *sql.Context, n *plan.LoadData) error {
	if fa.mdb == nil || len(n.DestSch) == 0 {
		return nil
	}
	db, table := n.DestSch[0].DatabaseSource, n.DestSch[0].Source
	op := sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: db, Table: table}, sql.PrivilegeType_Insert)
	if fa.mdb.UserHasPrivileges(ctx, op) {
		return nil
	}
	user, host, _ := fa.account(ctx)
	return mysql.NewSQLError(codeTableDenied, stateTableDenied, "INSERT command denied to user '%s'@'%s' for table '%s'", user, host, table)
}

// allowed returns 1290 unless real, a resolved path, is in
// secure_file_priv and outside the data directory.
func (fa *fileAccess) allowed(real string) error {
	switch {
	case fa.disabled:
		return errSecureFilePriv("")
	case fa.dir != "" && !within(real, fa.dir):
		return errSecureFilePriv("")
	case within(real, fa.dataDir):
		return errSecureFilePriv("files in the data directory are never read or written")
	}
	return nil
}

// absPath checks that the current user may use server files at all
// (FILE privilege, secure_file_priv not NULL) and returns name made
// absolute.
func (fa *fileAccess) absPath(ctx *sql.Context, name string) (string, error) {
	if err := fa.checkFilePriv(ctx); err != nil {
		return "", err
	}
	if fa.disabled {
		return "", errSecureFilePriv("")
	}
	return filepath.Abs(name)
}

// readPath checks that the current user may read the server file name
// and returns it resolved: the path to open. A file that does not exist
// in secure_file_priv is an os.ErrNotExist error; one outside it is 1290
// whether or not it exists.
func (fa *fileAccess) readPath(ctx *sql.Context, name string) (string, error) {
	abs, err := fa.absPath(ctx, name)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		// Say no more about a file outside than about one inside.
		if p, perr := realPath(abs); perr == nil {
			if aerr := fa.allowed(p); aerr != nil {
				return "", aerr
			}
		}
		return "", err
	}
	if err := fa.allowed(real); err != nil {
		return "", err
	}
	return real, nil
}

// writePath checks that the current user may create the server file
// name and returns it resolved: the path to create (with O_EXCL, so that
// a link put there afterwards is not followed).
func (fa *fileAccess) writePath(ctx *sql.Context, name string) (string, error) {
	abs, err := fa.absPath(ctx, name)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		if p, perr := realPath(abs); perr == nil {
			if aerr := fa.allowed(p); aerr != nil {
				return "", aerr
			}
		}
		return "", errCantCreate(name, err)
	}
	real := filepath.Join(dir, filepath.Base(abs))
	if err := fa.allowed(real); err != nil {
		return "", err
	}
	if _, err := os.Lstat(real); err == nil {
		return "", errFileExists(name)
	}
	return real, nil
}

// openLoadData opens the server file of a LOAD DATA INFILE.
func (fa *fileAccess) openLoadData(ctx *sql.Context, name string) (io.ReadCloser, error) {
	path, err := fa.readPath(ctx, name)
	if err != nil {
		var se *mysql.SQLError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, sql.ErrLoadDataCannotOpen.New(err.Error())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, sql.ErrLoadDataCannotOpen.New(err.Error())
	}
	return f, nil
}

// fileAuth is the catalog's authorization handler with go-mysql-server's
// planning-time FILE check of LOAD DATA left out: that check also refuses
// LOCAL, which needs no FILE, and answers 1105. loadDataBuilder checks
// FILE (server files only) and INSERT when the statement runs.
type fileAuth struct{ sql.AuthorizationHandler }

// HandleAuth implements sql.AuthorizationHandler.
func (h fileAuth) HandleAuth(ctx *sql.Context, state sql.AuthorizationQueryState, auth ast.AuthInformation) error {
	if auth.AuthType == ast.AuthType_FILE {
		return nil
	}
	return h.AuthorizationHandler.HandleAuth(ctx, state, auth)
}

// fileFunctions is the database provider with two functions of its own,
// which come before go-mysql-server's built-ins: LOAD_FILE(), replaced by
// loadFile, which applies the server's fileAccess; and LAG, which also
// builds the window form of anomaly_score and is_anomaly
// (window_scoring.go).
type fileFunctions struct {
	*systemSchemas
	files *fileAccess
}

var _ sql.FunctionProvider = fileFunctions{}

// Function implements sql.FunctionProvider.
func (p fileFunctions) Function(_ *sql.Context, name string) (sql.Function, bool) {
	if strings.EqualFold(name, "load_file") {
		return sql.Function1{Name: "load_file", Fn: func(e sql.Expression) sql.Expression {
			return newLoadFile(p.files, e)
		}}, true
	}
	return windowFunction(p.svc, name) // LAG and the window form of anomaly_score (window_scoring.go)
}

// intoFile is the execution-builder override (see engine/server.go) that
// checks SELECT ... INTO OUTFILE and INTO DUMPFILE and has go-mysql-
// server write to the resolved path.
type intoFile struct {
	files *fileAccess
	exec  sql.NodeExecBuilder // the whole builder, for the resolved node
}

var _ sql.NodeExecBuilder = (*intoFile)(nil)

// Build implements sql.NodeExecBuilder: (nil, nil) for every node but an
// INTO OUTFILE or DUMPFILE, which is refused or rebuilt with its path
// resolved (the rebuilt node passes here again and goes on to go-mysql-
// server, which creates the file with O_EXCL).
func (b *intoFile) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	into, ok := n.(*plan.Into)
	if !ok || (into.Outfile == "" && into.Dumpfile == "") {
		return nil, nil
	}
	name := into.Outfile
	if name == "" {
		name = into.Dumpfile
	}
	real, err := b.files.writePath(ctx, name)
	if err != nil {
		return nil, err
	}
	if real == name {
		return nil, nil
	}
	resolved := *into
	if into.Outfile != "" {
		resolved.Outfile = real
	} else {
		resolved.Dumpfile = real
	}
	return b.exec.Build(ctx, &resolved, row)
}
