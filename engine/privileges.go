package engine

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/sirupsen/logrus"
)

// Privileges that go-mysql-server does not check, or reports with a
// number MySQL does not use.
//
// Detectors are objects of a database, like its tables:
//
//   - CREATE DETECTOR needs CREATE on the database it is created in, and
//     its AS query runs as the user, so it needs SELECT on what the query
//     reads (1142 otherwise, before anything is trained);
//   - DROP DETECTOR needs DROP on the detector's database; being its
//     creator is not enough (anomalydb does not record creators);
//   - SHOW DETECTORS needs SELECT on the database (1044 otherwise), and
//     so does scoring with anomaly_score(), is_anomaly() and
//     anomaly_explain() (1142).
//
// "On the database" means granted globally (ON *.*) or on that database
// (ON db.*); a grant on one table of the database does not count.
//
// As in MySQL 8: SET GLOBAL and SET PERSIST need SUPER or the dynamic
// privilege SYSTEM_VARIABLES_ADMIN (1227); SHOW PROCESSLIST and
// information_schema.PROCESSLIST show only the user's own connections
// without PROCESS; KILL of another user's connection needs SUPER or
// CONNECTION_ADMIN (1095), and every user may kill their own (vitess
// asks SUPER for every KILL). GRANT and REVOKE take SYSTEM_VARIABLES_ADMIN
// and CONNECTION_ADMIN, which go-mysql-server refuses, and granting or
// revoking a dynamic privilege needs SUPER, UPDATE on the mysql database,
// or that privilege WITH GRANT OPTION.
//
// privilegeErrors gives go-mysql-server's own refusals ("command denied
// to user", error 1105) MySQL's numbers: 1142 for a table, 1044 for a
// database, 1227 for a global privilege.

// MySQL error numbers of refused privileges.
const (
	codeDBDenied        = mysql.ERDBAccessDenied // 1044
	codeSpecificDenied  = 1227                   // ER_SPECIFIC_ACCESS_DENIED_ERROR
	codeKillDenied      = 1095                   // ER_KILL_DENIED_ERROR
	codeUnknownThread   = 1094                   // ER_NO_SUCH_THREAD
	codeIllegalPrivLvl  = 3619                   // ER_ILLEGAL_PRIVILEGE_LEVEL
	codeUnknownDynamic  = 3929                   // ER_DYNAMIC_PRIVILEGE_NOT_REGISTERED
	privSysVarsAdmin    = "system_variables_admin"
	privConnectionAdmin = "connection_admin"
)

// account is the current user and the host they connected from, as
// MySQL's messages name them.
func account(ctx *sql.Context) (user, host string) {
	c := ctx.Session.Client()
	return c.User, c.Address
}

// errTableDenied is MySQL's 1142: "<command> command denied to user
// 'u'@'h' for table 't'" (what names the object: "table 't'",
// "detector 'd'").
func errTableDenied(ctx *sql.Context, command, what string) error {
	user, host := account(ctx)
	return mysql.NewSQLError(codeTableDenied, stateTableDenied, "%s command denied to user '%s'@'%s' for %s", command, user, host, what)
}

// errDBDenied is MySQL's 1044.
func errDBDenied(ctx *sql.Context, db string) error {
	user, host := account(ctx)
	return mysql.NewSQLError(codeDBDenied, stateTableDenied, "Access denied for user '%s'@'%s' to database '%s'", user, host, db)
}

// errSpecificDenied is MySQL's 1227; privs names the privileges that
// would do ("SUPER or SYSTEM_VARIABLES_ADMIN").
func errSpecificDenied(privs string) error {
	return mysql.NewSQLError(codeSpecificDenied, stateTableDenied, "Access denied; you need (at least one of) the %s privilege(s) for this operation", privs)
}

// hasPrivilege reports whether the current user holds the global
// privilege priv or (dynamic non-empty) the dynamic privilege; SUPER
// holds them all.
func hasPrivilege(ctx *sql.Context, mdb *mysql_db.MySQLDb, priv sql.PrivilegeType, dynamic string) bool {
	if !mdb.Enabled() {
		return true
	}
	ps := mdb.UserActivePrivilegeSet(ctx)
	return ps.Has(sql.PrivilegeType_Super) || ps.Has(priv) || dynamic != "" && ps.HasDynamic(dynamic)
}

// authorize returns nil when the current user holds priv on the
// database of the detector name (db empty: the current database), and
// otherwise MySQL's refusal: 1044 for SHOW DETECTORS (name empty), 1142
// naming the detector for the others. See the model above.
func (s *detectorService) authorize(ctx *sql.Context, priv sql.PrivilegeType, db, name string) error {
	if s.engine == nil || s.engine.Analyzer.Catalog.MySQLDb == nil {
		return nil
	}
	mdb := s.engine.Analyzer.Catalog.MySQLDb
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return errNoDatabase()
	}
	op := sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: db}, priv)
	if !mdb.Enabled() || mdb.UserHasPrivileges(ctx, op) {
		return nil
	}
	if name == "" {
		return errDBDenied(ctx, db)
	}
	return errTableDenied(ctx, strings.ToUpper(priv.String()), "detector '"+name+"'")
}

// checkSetGlobal refuses SET GLOBAL and SET PERSIST of a system variable
// (1227) to a user without SUPER or SYSTEM_VARIABLES_ADMIN. SET SESSION
// needs nothing.
func (ac *accounts) checkSetGlobal(ctx *sql.Context, n *plan.Set) error {
	for _, e := range n.Exprs {
		sf, ok := e.(*expression.SetField)
		if !ok {
			continue
		}
		sv, ok := sf.LeftChild.(*expression.SystemVar)
		if !ok || sv.Scope == nil || sv.Scope.IsSessionOnly() {
			continue
		}
		if !hasPrivilege(ctx, ac.mdb, sql.PrivilegeType_Super, privSysVarsAdmin) {
			return errSpecificDenied("SUPER or SYSTEM_VARIABLES_ADMIN")
		}
	}
	return nil
}

// checkKill refuses KILL of a connection that does not exist (1094, as
// MySQL) and of another user's connection (1095) to a user without SUPER
// or CONNECTION_ADMIN.
func (ac *accounts) checkKill(ctx *sql.Context, n *plan.Kill) error {
	for _, p := range ctx.ProcessList.Processes() {
		if p.Connection != n.ConnID {
			continue
		}
		if !ownsProcess(ctx, p.Connection, p.User) && !hasPrivilege(ctx, ac.mdb, sql.PrivilegeType_Super, privConnectionAdmin) {
			return mysql.NewSQLError(codeKillDenied, mysql.SSUnknownSQLState, "You are not owner of thread %d", n.ConnID)
		}
		return nil
	}
	return mysql.NewSQLError(codeUnknownThread, mysql.SSUnknownSQLState, "Unknown thread id: %d", n.ConnID)
}

// gmsNoUser is the user go-mysql-server's process list shows for a
// connection that has not chosen a database yet, whoever logged in.
const gmsNoUser = "unauthenticated user"

// ownsProcess reports whether the connection id, whose user the process
// list shows as user, is the current user's: the current connection,
// or one shown with the current user's name (never gmsNoUser, which
// hides the real user).
func ownsProcess(ctx *sql.Context, id uint32, user string) bool {
	me, _ := account(ctx)
	return id == ctx.Session.ID() || user == me && user != gmsNoUser
}

// The ID and USER columns of SHOW PROCESSLIST and of
// information_schema.PROCESSLIST.
const (
	processIDColumn   = 0
	processUserColumn = 1
)

// ownProcesses is iter, the rows of a process list, without the other
// users' connections (see ownsProcess) unless the current user has
// PROCESS.
func (ac *accounts) ownProcesses(ctx *sql.Context, iter sql.RowIter) (sql.RowIter, error) {
	if hasPrivilege(ctx, ac.mdb, sql.PrivilegeType_Process, "") {
		return iter, nil
	}
	defer iter.Close(ctx)
	var rows []sql.Row
	for {
		r, err := iter.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseUint(fmt.Sprint(r[processIDColumn]), 10, 32)
		if err != nil {
			return nil, err
		}
		if u, _ := r[processUserColumn].(string); ownsProcess(ctx, uint32(id), u) {
			rows = append(rows, r)
		}
	}
	return sql.RowsToRowIter(rows...), nil
}

// filterProcessListTable makes information_schema.PROCESSLIST of a's
// catalog show what ownProcesses lets through.
func (ac *accounts) filterProcessListTable(a *analyzer.Analyzer) error {
	t, ok, err := a.Catalog.InfoSchema.GetTableInsensitive(sql.NewEmptyContext(), information_schema.ProcessListTableName)
	if err != nil {
		return err
	}
	ist, isTable := t.(*information_schema.InformationSchemaTable)
	if !ok || !isTable {
		logrus.Errorf("information_schema.PROCESSLIST not found (%T): other users' statements may show", t)
		return nil
	}
	read := ist.Reader
	ist.Reader = func(ctx *sql.Context, c sql.Catalog) (sql.RowIter, error) {
		iter, err := read(ctx, c)
		if err != nil {
			return nil, err
		}
		return ac.ownProcesses(ctx, ac.svc.withTrainingStates(iter)) // detector_training.go
	}
	return nil
}

// Dynamic privileges. go-mysql-server stores any, grants only
// REPLICATION_SLAVE_ADMIN and CLONE_ADMIN, and checks none when granting.
var (
	ourDynamic = map[string]bool{privSysVarsAdmin: true, privConnectionAdmin: true}
	gmsDynamic = map[string]bool{plan.DynamicPrivilege_ReplicationSlaveAdmin: true, plan.DynamicPrivilege_CloneAdmin: true}
)

// splitDynamic returns privs without the dynamic privileges anomalydb
// grants itself (ours, lower case), having checked that the current user
// may grant or revoke every dynamic privilege in privs.
func (ac *accounts) splitDynamic(ctx *sql.Context, privs []plan.Privilege) (rest []plan.Privilege, ours []string, err error) {
	for _, p := range privs {
		if p.Type != plan.PrivilegeType_Dynamic {
			rest = append(rest, p)
			continue
		}
		name := strings.ToLower(p.Dynamic)
		if !ourDynamic[name] && !gmsDynamic[name] {
			return nil, nil, mysql.NewSQLError(codeUnknownDynamic, mysql.SSUnknownSQLState, "Dynamic privilege '%s' is not registered with the server.", strings.ToUpper(name))
		}
		if !ac.mayGrantDynamic(ctx, name) {
			return nil, nil, errSpecificDenied("SUPER or " + strings.ToUpper(name) + " WITH GRANT OPTION")
		}
		if ourDynamic[name] {
			ours = append(ours, name)
		} else {
			rest = append(rest, p)
		}
	}
	return rest, ours, nil
}

// mayGrantDynamic reports whether the current user may grant or revoke
// the dynamic privilege name: with SUPER, UPDATE on the mysql database
// (go-mysql-server's rule for every grant) or name WITH GRANT OPTION.
func (ac *accounts) mayGrantDynamic(ctx *sql.Context, name string) bool {
	ps := ac.mdb.UserActivePrivilegeSet(ctx)
	if ps.Has(sql.PrivilegeType_Super) || ac.mdb.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: "mysql"}, sql.PrivilegeType_Update)) {
		return true
	}
	for _, p := range ps.ToSliceDynamic(true) {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// grant runs GRANT with the dynamic privileges of ourDynamic.
func (ac *accounts) grant(ctx *sql.Context, n *plan.Grant, row sql.Row) (sql.RowIter, error) {
	others := *n
	return ac.withDynamic(ctx, n, row, n.Privileges, n.PrivilegeLevel, n.Users,
		func(rest []plan.Privilege) sql.Node { others.Privileges = rest; return &others },
		func(ps mysql_db.PrivilegeSet, ours []string) { ps.AddGlobalDynamic(n.WithGrantOption, ours...) })
}

// revoke runs REVOKE with the dynamic privileges of ourDynamic.
func (ac *accounts) revoke(ctx *sql.Context, n *plan.Revoke, row sql.Row) (sql.RowIter, error) {
	others := *n
	return ac.withDynamic(ctx, n, row, n.Privileges, n.PrivilegeLevel, n.Users,
		func(rest []plan.Privilege) sql.Node { others.Privileges = rest; return &others },
		func(ps mysql_db.PrivilegeSet, ours []string) { ps.RemoveGlobalDynamic(ours...) })
}

// withDynamic runs the GRANT or REVOKE n of privs at lvl to users: as
// go-mysql-server does when no privilege is one of ourDynamic; else
// go-mysql-server's statement for the other privileges (withRest makes
// it), then edit of every user's global privileges with ours.
func (ac *accounts) withDynamic(ctx *sql.Context, n sql.Node, row sql.Row, privs []plan.Privilege, lvl plan.PrivilegeLevel,
	users []plan.UserName, withRest func([]plan.Privilege) sql.Node, edit func(mysql_db.PrivilegeSet, []string)) (sql.RowIter, error) {
	rest, ours, err := ac.splitDynamic(ctx, privs)
	if err != nil {
		return nil, err
	}
	if len(ours) == 0 {
		return rowexec.DefaultBuilder.Build(ctx, n, row)
	}
	if err := globalLevel(lvl, ours); err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		if _, err := rowexec.DefaultBuilder.Build(ctx, withRest(rest), row); err != nil {
			return nil, err
		}
	}
	return ac.editDynamic(ctx, users, func(ps mysql_db.PrivilegeSet) { edit(ps, ours) })
}

// globalLevel refuses a dynamic privilege anywhere but ON *.* (3619).
func globalLevel(lvl plan.PrivilegeLevel, privs []string) error {
	if lvl.Database == "*" && lvl.TableRoutine == "*" {
		return nil
	}
	return mysql.NewSQLError(codeIllegalPrivLvl, mysql.SSUnknownSQLState, "Illegal privilege level specified for %s", strings.ToUpper(privs[0]))
}

// editDynamic applies edit to the privileges of every named user and
// saves the accounts.
func (ac *accounts) editDynamic(ctx *sql.Context, users []plan.UserName, edit func(mysql_db.PrivilegeSet)) (sql.RowIter, error) {
	ed := ac.mdb.Editor()
	defer ed.Close()
	for _, un := range users {
		u := ac.mdb.GetUser(ed, un.Name, un.Host, false)
		if u == nil {
			return nil, sql.ErrGrantUserDoesNotExist.New()
		}
		edit(u.PrivilegeSet)
		ed.PutUser(u)
	}
	if err := ac.mdb.Persist(ctx, ed); err != nil {
		return nil, err
	}
	return okResult(), nil
}

// privilegeErrors is the catalog's authorization handler with
// go-mysql-server's refusals renumbered as MySQL's (see above).
type privilegeErrors struct {
	sql.AuthorizationHandler
	mdb *mysql_db.MySQLDb
}

// HandleAuth implements sql.AuthorizationHandler.
func (h privilegeErrors) HandleAuth(ctx *sql.Context, state sql.AuthorizationQueryState, auth ast.AuthInformation) error {
	switch auth.AuthType {
	case ast.AuthType_PROCESS, ast.AuthType_SUPER:
		// vitess asks PROCESS for SHOW PROCESSLIST and SUPER for KILL
		// (and for nothing else); MySQL lets every user list and kill
		// their own connections: accounts.Build applies its rules.
		if auth.TargetType == ast.AuthTargetType_Global {
			return nil
		}
	}
	err := h.AuthorizationHandler.HandleAuth(ctx, state, auth)
	if err == nil || !isRefusal(err) {
		return err
	}
	switch auth.TargetType {
	case ast.AuthTargetType_SingleTableIdentifier, ast.AuthTargetType_TableColumn, ast.AuthTargetType_MultipleTableIdentifiers:
		step := 2
		if auth.TargetType == ast.AuthTargetType_TableColumn {
			step = 3
		}
		table := "" // the first table the user may not use, else the first
		for i := 0; i+1 < len(auth.TargetNames); i += step {
			if table == "" {
				table = auth.TargetNames[i+1]
			}
			if !h.holds(ctx, auth.AuthType, auth.TargetNames[i], auth.TargetNames[i+1]) {
				table = auth.TargetNames[i+1]
				break
			}
		}
		return errTableDenied(ctx, commandName(auth.AuthType), "table '"+table+"'")
	case ast.AuthTargetType_DatabaseIdentifiers:
		db := "" // the first database the user may not use, else the first
		for _, name := range auth.TargetNames {
			if name == "" {
				name = ctx.GetCurrentDatabase()
			}
			if db == "" {
				db = name
			}
			if !h.holds(ctx, auth.AuthType, name, "") {
				db = name
				break
			}
		}
		return errDBDenied(ctx, db)
	}
	switch n := auth.Extra.(type) {
	case *plan.Grant:
		return levelDenied(ctx, "GRANT", n.PrivilegeLevel)
	case *plan.Revoke:
		return levelDenied(ctx, "REVOKE", n.PrivilegeLevel)
	case *plan.GrantRole, *plan.RevokeRole:
		return errSpecificDenied("WITH ADMIN, ROLE_ADMIN, SUPER")
	}
	return errSpecificDenied(privilegeName(auth.AuthType))
}

// HandleAuthNode implements sql.AuthorizationHandler.
func (h privilegeErrors) HandleAuthNode(ctx *sql.Context, state sql.AuthorizationQueryState, node sql.AuthorizationCheckerNode) error {
	return asMySQLRefusal(h.AuthorizationHandler.HandleAuthNode(ctx, state, node))
}

// CheckDatabase implements sql.AuthorizationHandler.
func (h privilegeErrors) CheckDatabase(ctx *sql.Context, state sql.AuthorizationQueryState, db string) error {
	return asMySQLRefusal(h.AuthorizationHandler.CheckDatabase(ctx, state, db))
}

// CheckSchema implements sql.AuthorizationHandler.
func (h privilegeErrors) CheckSchema(ctx *sql.Context, state sql.AuthorizationQueryState, db, schema string) error {
	return asMySQLRefusal(h.AuthorizationHandler.CheckSchema(ctx, state, db, schema))
}

// CheckTable implements sql.AuthorizationHandler.
func (h privilegeErrors) CheckTable(ctx *sql.Context, state sql.AuthorizationQueryState, db, schema, table string) error {
	return asMySQLRefusal(h.AuthorizationHandler.CheckTable(ctx, state, db, schema, table))
}

// holds reports whether the current user holds the privilege of an
// AuthType on db (empty: the current database) or on its table.
func (h privilegeErrors) holds(ctx *sql.Context, authType, db, table string) bool {
	priv, ok := authPrivileges[authType]
	if !ok {
		return false
	}
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	return h.mdb.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: db, Table: table}, priv...))
}

// authPrivileges are the privileges go-mysql-server checks for the
// AuthTypes that name tables or databases.
var authPrivileges = map[string][]sql.PrivilegeType{
	ast.AuthType_ALTER:          {sql.PrivilegeType_Alter},
	ast.AuthType_CREATE:         {sql.PrivilegeType_Create},
	ast.AuthType_CREATE_VIEW:    {sql.PrivilegeType_CreateView},
	ast.AuthType_DELETE:         {sql.PrivilegeType_Delete},
	ast.AuthType_DROP:           {sql.PrivilegeType_Drop},
	ast.AuthType_INDEX:          {sql.PrivilegeType_Index},
	ast.AuthType_INSERT:         {sql.PrivilegeType_Insert},
	ast.AuthType_LOCK:           {sql.PrivilegeType_Select, sql.PrivilegeType_LockTables},
	ast.AuthType_REPLACE:        {sql.PrivilegeType_Insert, sql.PrivilegeType_Delete},
	ast.AuthType_SELECT:         {sql.PrivilegeType_Select},
	ast.AuthType_TRIGGER:        {sql.PrivilegeType_Trigger},
	ast.AuthType_UPDATE:         {sql.PrivilegeType_Update},
	ast.AuthType_FOREIGN_KEY:    {sql.PrivilegeType_References},
	ast.AuthType_CREATE_TEMP:    {sql.PrivilegeType_CreateTempTable},
	ast.AuthType_EVENT:          {sql.PrivilegeType_Event},
	ast.AuthType_ALTER_ROUTINE:  {sql.PrivilegeType_AlterRoutine},
	ast.AuthType_CREATE_ROUTINE: {sql.PrivilegeType_CreateRoutine},
}

// commandName is the command an AuthType stands for in MySQL's 1142.
func commandName(authType string) string {
	switch authType {
	case ast.AuthType_FOREIGN_KEY:
		return "REFERENCES"
	case ast.AuthType_LOCK:
		return "LOCK TABLES"
	case ast.AuthType_REPLACE:
		return "INSERT"
	case ast.AuthType_CREATE_TEMP:
		return "CREATE TEMPORARY TABLES"
	}
	return strings.ReplaceAll(authType, "_", " ")
}

// privilegeName is the privilege a global AuthType needs, for MySQL's
// 1227.
func privilegeName(authType string) string {
	switch authType {
	case ast.AuthType_ALTER_USER:
		return "CREATE USER"
	case ast.AuthType_CREATE_ROLE:
		return "CREATE ROLE or CREATE USER"
	case ast.AuthType_DROP_ROLE:
		return "DROP ROLE or CREATE USER"
	case ast.AuthType_REPLICATION:
		return "REPLICATION_SLAVE_ADMIN"
	}
	return commandName(authType)
}

// levelDenied is the refusal of GRANT or REVOKE at a privilege level:
// 1227 for *.*, 1044 for a database, 1142 for a table.
func levelDenied(ctx *sql.Context, command string, lvl plan.PrivilegeLevel) error {
	switch {
	case lvl.Database == "*":
		return errSpecificDenied("GRANT OPTION")
	case lvl.TableRoutine == "*":
		db := lvl.Database
		if db == "" {
			db = ctx.GetCurrentDatabase()
		}
		return errDBDenied(ctx, db)
	}
	return errTableDenied(ctx, command, "table '"+lvl.TableRoutine+"'")
}

// isRefusal reports whether err is one of go-mysql-server's privilege
// refusals.
func isRefusal(err error) bool {
	return sql.ErrPrivilegeCheckFailed.Is(err) || sql.ErrDatabaseAccessDeniedForUser.Is(err) || sql.ErrTableAccessDeniedForUser.Is(err)
}

// asMySQLRefusal numbers a refusal that names no command: 1044 for a
// database, 1142 for a table, 1227 otherwise. Other errors pass.
func asMySQLRefusal(err error) error {
	switch {
	case err == nil:
		return nil
	case sql.ErrDatabaseAccessDeniedForUser.Is(err):
		return mysql.NewSQLError(codeDBDenied, stateTableDenied, "%s", err.Error())
	case sql.ErrTableAccessDeniedForUser.Is(err):
		return mysql.NewSQLError(codeTableDenied, stateTableDenied, "%s", err.Error())
	case sql.ErrPrivilegeCheckFailed.Is(err):
		return errSpecificDenied("required")
	}
	return err
}
