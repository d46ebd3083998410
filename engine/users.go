package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/mysql_db/serial"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
	kinds "gopkg.in/src-d/go-errors.v1"
)

// Accounts, roles and grants.
//
// go-mysql-server keeps users, roles and grants in memory (its mysql
// database, MySQLDb) and hands a serialized copy to a persister after
// every CREATE USER, ALTER USER, DROP USER, CREATE/DROP ROLE, GRANT and
// REVOKE. anomalydb's persister is usersFile: the copy goes to the file
// mysql.db in the data directory, replaced atomically (written to a
// temporary file, synced, renamed over the old one, the directory
// synced), so that a crash leaves the previous or the new file, never a
// mix. The file starts with a magic string and a CRC-32C of the rest: a
// damaged file stops the server at start with an error that names it,
// rather than starting with accounts silently missing.
//
// root@'%' is not stored: it is made at every start from --password
// (ANOMALYDB_PASSWORD), a super user with every privilege, whatever the
// file holds, so that root stays usable. Changes to root (ALTER USER,
// REVOKE, DROP USER) last until the next start.
//
// Account statements are atomic, as in MySQL 8: go-mysql-server applies
// a statement's changes in memory one account at a time and may fail
// half way (CREATE USER a, b where b exists) or fail to save; then
// accounts.restore puts back the last saved state. Statements that change
// accounts run one at a time (accounts.mu).

// usersFileName is the file in the data directory that holds every
// account, role and grant except root.
const usersFileName = "mysql.db"

// usersMagic starts the users file; a CRC-32C (Castagnoli) of the
// payload, big-endian, follows it, then the payload: go-mysql-server's
// serialization (a flatbuffer) of its mysql database.
var usersMagic = []byte("ADBUSERS1\n")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// usersFile is MySQLDb's persister: see above. It is used under
// MySQLDb's editor lock, which go-mysql-server holds while it calls
// Persist, and under accounts.mu.
type usersFile struct {
	path string
	// saved is the payload of the file on disk (nil when there is
	// none): the state restore goes back to.
	saved []byte
}

var _ mysql_db.MySQLDbPersistence = (*usersFile)(nil)

// Persist implements mysql_db.MySQLDbPersistence: it replaces the file
// with data unless the file already holds it. It returns an error, and
// leaves the file as it was, when the data cannot be made durable.
func (f *usersFile) Persist(_ *sql.Context, data []byte) error {
	if f.saved != nil && bytes.Equal(data, f.saved) {
		return nil
	}
	if err := writeFileAtomic(f.path, encodeUsersFile(data)); err != nil {
		return fmt.Errorf("saving accounts and grants to %s: %w", f.path, err)
	}
	f.saved = bytes.Clone(data)
	return nil
}

func encodeUsersFile(payload []byte) []byte {
	out := make([]byte, 0, len(usersMagic)+4+len(payload))
	out = append(out, usersMagic...)
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(payload, castagnoli))
	return append(out, payload...)
}

// load reads the users file and returns its payload, nil if there is no
// file. Temporary files left by a write that a crash interrupted are
// removed: the file itself is whole, the old or the new one.
func (f *usersFile) load() ([]byte, error) {
	if leftovers, err := filepath.Glob(f.path + ".tmp-*"); err == nil {
		for _, tmp := range leftovers {
			if err := os.Remove(tmp); err != nil {
				logrus.Warnf("removing %s, left by an interrupted write: %v", tmp, err)
			}
		}
	}
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	damaged := func(why string) error {
		return fmt.Errorf("the accounts file %s is damaged (%s): restore it from a backup, or remove it to start with root only (every other account and grant is then lost)", f.path, why)
	}
	n := len(usersMagic)
	if len(raw) < n+4 || !bytes.Equal(raw[:n], usersMagic) {
		return nil, damaged("not an anomalydb accounts file")
	}
	payload := raw[n+4:]
	if binary.BigEndian.Uint32(raw[n:n+4]) != crc32.Checksum(payload, castagnoli) {
		return nil, damaged("checksum mismatch")
	}
	if _, _, err := decodeUsers(payload); err != nil {
		return nil, damaged(err.Error())
	}
	f.saved = payload
	return payload, nil
}

// writeFileAtomic replaces path with data: a crash at any point leaves
// the old file or the new one, and once it returns nil the new one
// survives a power loss.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// decodeUsers reads go-mysql-server's serialization of its mysql
// database (MySQLDb.Persist): the users, roles and super users, and the
// role grants with their admin option (which go-mysql-server's own
// loader drops). A malformed buffer is an error, never a panic.
func decodeUsers(buf []byte) (users []*mysql_db.User, edges []*mysql_db.RoleEdge, err error) {
	if len(buf) == 0 {
		return nil, nil, nil
	}
	defer func() {
		if r := recover(); r != nil {
			users, edges, err = nil, nil, fmt.Errorf("malformed accounts data: %v", r)
		}
	}()
	db := serial.GetRootAsMySQLDb(buf, 0)
	for i := 0; i < db.UserLength(); i++ {
		var u serial.User
		if db.User(&u, i) {
			users = append(users, mysql_db.LoadUser(&u))
		}
	}
	for i := 0; i < db.SuperUserLength(); i++ {
		var u serial.User
		if db.SuperUser(&u, i) {
			su := mysql_db.LoadUser(&u)
			su.IsSuperUser = true
			users = append(users, su)
		}
	}
	for i := 0; i < db.RoleEdgesLength(); i++ {
		var e serial.RoleEdge
		if db.RoleEdges(&e, i) {
			re := mysql_db.LoadRoleEdge(&e)
			re.WithAdminOption = e.WithAdminOption()
			edges = append(edges, re)
		}
	}
	return users, edges, nil
}

// accounts is the server's account management: the users file, root, and
// the execution of the statements that change accounts (see above). It
// is also an execution-builder override (engine/server.go) for those
// statements and for the ones whose privileges go-mysql-server does not
// check (privileges.go).
type accounts struct {
	mdb  *mysql_db.MySQLDb
	file *usersFile
	svc  *detectorService
	mu   sync.Mutex // one account statement at a time
}

// newAccounts loads the accounts of dataDir into a's mysql database,
// makes root@'%' with the password rootPassword, saves every later change
// to the users file and installs the privilege checks of privileges.go.
// It fails when the users file is damaged.
func newAccounts(a *analyzer.Analyzer, svc *detectorService, dataDir, rootPassword string) (*accounts, error) {
	mdb := a.Catalog.MySQLDb
	f := &usersFile{path: filepath.Join(dataDir, usersFileName)}
	payload, err := f.load()
	if err != nil {
		return nil, err
	}
	users, edges, err := decodeUsers(payload)
	if err != nil { // load checked it
		return nil, err
	}
	ed := mdb.Editor()
	for _, u := range users {
		ed.PutUser(u)
	}
	for _, e := range edges {
		ed.PutRoleEdge(e)
	}
	ed.RemoveUser(mysql_db.UserPrimaryKey{Host: "%", User: "root"})
	mdb.AddEphemeralSuperUser(ed, "root", "%", rootPassword)
	ed.Close()
	mdb.SetPersister(f)
	mdb.SetEnabled(true)

	ac := &accounts{mdb: mdb, file: f, svc: svc}
	a.Catalog.AuthHandler = privilegeErrors{AuthorizationHandler: a.Catalog.AuthHandler, mdb: mdb}
	if err := ac.filterProcessListTable(a); err != nil {
		return nil, err
	}
	return ac, nil
}

var _ sql.NodeExecBuilder = (*accounts)(nil)

// Build implements sql.NodeExecBuilder: statements that change accounts
// run atomically (see above); SET GLOBAL, KILL and SHOW PROCESSLIST get
// MySQL's privilege rules (privileges.go). (nil, nil) for every other
// node.
func (ac *accounts) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	switch n := n.(type) {
	case *plan.RenameUser:
		return nil, errNotSupportedYet("RENAME USER")
	case *plan.RevokeAll:
		return nil, errNotSupportedYet("REVOKE ALL PRIVILEGES, GRANT OPTION")
	case *plan.CreateUser, *plan.DropUser, *plan.AlterUser,
		*plan.CreateRole, *plan.DropRole, *plan.GrantRole, *plan.RevokeRole,
		*plan.FlushPrivileges:
		return ac.atomically(ctx, func() (sql.RowIter, error) { return rowexec.DefaultBuilder.Build(ctx, n, row) })
	case *plan.Grant:
		return ac.atomically(ctx, func() (sql.RowIter, error) { return ac.grant(ctx, n, row) })
	case *plan.Revoke:
		return ac.atomically(ctx, func() (sql.RowIter, error) { return ac.revoke(ctx, n, row) })
	case *plan.ShowGrants:
		iter, err := rowexec.DefaultBuilder.Build(ctx, n, row)
		return iter, asAccountError(err)
	case *plan.Set:
		return nil, ac.checkSetGlobal(ctx, n)
	case *plan.Kill:
		return nil, ac.checkKill(ctx, n)
	case *plan.ShowProcessList:
		iter, err := rowexec.DefaultBuilder.Build(ctx, n, row)
		if err != nil {
			return nil, err
		}
		return ac.ownProcesses(ctx, ac.svc.withTrainingStates(iter)) // detector_training.go
	}
	return nil, nil
}

// atomically runs an account statement: on error the accounts are put
// back as last saved, so that the statement changes nothing. Detectors
// that statements resolved are looked up again (and their privileges
// checked again) after any change.
func (ac *accounts) atomically(ctx *sql.Context, run func() (sql.RowIter, error)) (sql.RowIter, error) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	iter, err := run()
	if err != nil {
		if rerr := ac.restore(); rerr != nil {
			logrus.Errorf("restoring accounts after a failed statement: %v", rerr)
		}
		return nil, asAccountError(err)
	}
	ac.svc.gen.Add(1) // see functions.Resolver.Generation
	return iter, nil
}

// restore replaces every stored account, role and role grant in memory
// with the users file's; ephemeral accounts (root) are kept as they are.
func (ac *accounts) restore() error {
	users, edges, err := decodeUsers(ac.file.saved)
	if err != nil {
		return err
	}
	ed := ac.mdb.Editor()
	defer ed.Close()
	keep := map[mysql_db.UserPrimaryKey]bool{}
	var drop []mysql_db.UserPrimaryKey
	ed.VisitUsers(func(u *mysql_db.User) {
		pk := mysql_db.UserPrimaryKey{Host: u.Host, User: u.User}
		if u.IsEphemeral {
			keep[pk] = true
		} else {
			drop = append(drop, pk)
		}
	})
	var dropEdges []mysql_db.RoleEdgesPrimaryKey
	ed.VisitRoleEdges(func(e *mysql_db.RoleEdge) {
		dropEdges = append(dropEdges, mysql_db.RoleEdgesPrimaryKey{FromHost: e.FromHost, FromUser: e.FromUser, ToHost: e.ToHost, ToUser: e.ToUser})
	})
	for _, pk := range drop {
		ed.RemoveUser(pk)
	}
	for _, pk := range dropEdges {
		ed.RemoveRoleEdge(pk)
	}
	for _, u := range users {
		if !keep[mysql_db.UserPrimaryKey{Host: u.Host, User: u.User}] {
			ed.PutUser(u)
		}
	}
	for _, e := range edges {
		ed.PutRoleEdge(e)
	}
	return nil
}

// accountErrors are MySQL's numbers for go-mysql-server's errors of
// account statements, which reach clients as 1105 otherwise.
var accountErrors = []struct {
	kind  *kinds.Kind
	code  int
	state string
}{
	{sql.ErrUserCreationFailure, 1396, mysql.SSUnknownSQLState}, // ER_CANNOT_USER
	{sql.ErrUserDeletionFailure, 1396, mysql.SSUnknownSQLState},
	{sql.ErrUserAlterFailure, 1396, mysql.SSUnknownSQLState},
	{sql.ErrRoleCreationFailure, 1396, mysql.SSUnknownSQLState},
	{sql.ErrRoleDeletionFailure, 1396, mysql.SSUnknownSQLState},
	{sql.ErrUserNameTooLong, 1470, mysql.SSUnknownSQLState},             // ER_WRONG_STRING_LENGTH
	{sql.ErrUserHostTooLong, 1470, mysql.SSUnknownSQLState},             // ER_WRONG_STRING_LENGTH
	{sql.ErrGrantUserDoesNotExist, 1410, stateTableDenied},              // ER_CANT_CREATE_USER_WITH_GRANT
	{sql.ErrGrantRevokeRoleDoesNotExist, 3523, mysql.SSUnknownSQLState}, // ER_UNKNOWN_AUTHID
	{sql.ErrShowGrantsUserDoesNotExist, 1141, stateTableDenied},         // ER_NONEXISTING_GRANT
}

// asAccountError gives err MySQL's number when it is one of
// accountErrors; other errors pass unchanged.
func asAccountError(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range accountErrors {
		if e.kind.Is(err) {
			return mysql.NewSQLError(e.code, e.state, "%s", err.Error())
		}
	}
	return err
}

// errNotSupportedYet is MySQL's 1235 (ER_NOT_SUPPORTED_YET) for account
// statements go-mysql-server does not implement.
func errNotSupportedYet(what string) error {
	return mysql.NewSQLError(1235, stateTableDenied, "This version of anomalydb doesn't yet support '%s'", what)
}
