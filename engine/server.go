package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"

	"github.com/anomalydb/anomalydb/functions"
	"github.com/anomalydb/anomalydb/storage"
)

// Config configures a Server.
type Config struct {
	// Addr is the TCP address to listen on; default 127.0.0.1:3306.
	// Port 0 picks a free port (see Server.Addr).
	Addr string
	// DataDir holds the Iceberg warehouse and the saved detectors.
	DataDir string
	// Password is root's password. It may be empty only on a loopback
	// address.
	Password string
	// ExamplesDir, when set, holds gzipped CSVs loaded into the database
	// "examples" the first time the server starts on an empty data dir;
	// a warning is logged then if it is missing or holds none.
	ExamplesDir string
	// Quiet logs errors only. The process's log level is otherwise left
	// as the caller set it (cmd/anomalydb: --log-level).
	Quiet bool
	// SecureFilePriv is @@secure_file_priv, the one folder in which LOAD
	// DATA INFILE, LOAD_FILE() and SELECT ... INTO OUTFILE/DUMPFILE may
	// read and write server files (file_access.go). nil is the default:
	// the folder "files" beside DataDir, created if missing. "NULL"
	// disables server-side files; "" lifts the restriction (unsafe: every
	// user with the FILE privilege reaches every file the server can).
	// NewServer refuses DataDir, a folder inside it and one above it;
	// the data directory is never read or written in any case.
	SecureFilePriv *string
	// TLSCert and TLSKey are PEM files of the server's certificate (with
	// its chain) and private key: both or neither. Neither: the
	// self-signed pair DataDir/server-cert.pem and server-key.pem, created
	// at the first start (tls.go).
	TLSCert, TLSKey string
	// RequireSecureTransport sets @@require_secure_transport: logins
	// without TLS fail with 3159.
	RequireSecureTransport bool
	// ConnectTimeout is @@connect_timeout, the time a client has for its
	// handshake (whole seconds, at least 2); zero means 10 s.
	ConnectTimeout time.Duration
	// MaxConnections is @@max_connections; zero means 151
	// (connections.go).
	MaxConnections int
	// MaxTrainingMemory bounds the estimated working memory of a training
	// (CREATE DETECTOR is refused with 1210 above it); 0 means
	// DefaultMaxTrainingMemory, a quarter of the machine's memory.
	MaxTrainingMemory int64
	// CacheMemory bounds the decoded table data (Arrow buffers) the
	// server keeps in memory between reads; tables larger than it are
	// read from their Parquet files as scans need them. Zero means a
	// quarter of the machine's memory, at most half of MaxMemory (one at
	// or above MaxMemory is refused); negative keeps nothing.
	CacheMemory int64
	// DataFileBytes is the in-memory size of the rows of one data file
	// (storage.Options.TargetFileBytes): an UPDATE or DELETE rewrites
	// the files holding the rows it changes. Zero means 4 MiB.
	DataFileBytes int64
	// InsertBuffer is how many bytes of inserted rows a transaction
	// holds in memory per table before it writes them to data files
	// (staged, committed with the transaction): the memory of a large
	// LOAD DATA, INSERT … SELECT or CREATE TABLE … AS SELECT. Zero means
	// 64 MiB. It applies to every server of the process.
	InsertBuffer int64
	// MaxAllowedPacket is the default of @@max_allowed_packet in bytes
	// (max_allowed_packet.go); 0 means DefaultMaxAllowedPacket (64 MiB).
	MaxAllowedPacket int64
	// MaxMemory is the server's memory limit (memory_limit.go): a
	// statement that would need more fails with 1037. Zero means
	// DefaultMaxMemory, three quarters of the machine's memory. It
	// applies to every server of the process.
	MaxMemory int64
}

// DefaultMaxMemory is the default Config.MaxMemory: three quarters of the
// machine's physical memory (or of its control group's limit, in a
// container), or 8 GiB when that is unknown.
func DefaultMaxMemory() int64 {
	if m := physicalMemory(); m > 0 {
		return m / 4 * 3
	}
	return 8 << 30
}

// Server is a running anomalydb: the SQL engine over the store, the
// detector service and the MySQL-protocol listener.
type Server struct {
	store    *storage.Store
	svc      *detectorService
	engine   *sqle.Engine
	srv      *server.Server
	ln       net.Listener
	password bool        // root has a password
	files    *fileAccess // server-side file access (file_access.go)
	conns    *connections

	shutdownOnce sync.Once // Shutdown (shutdown.go)
	shutdownErr  error
}

// mysqlRelease is the MySQL release whose protocol and SQL dialect
// anomalydb speaks. Clients and BI tools read the server's features from
// the leading "8.0.33" of the version string.
const mysqlRelease = "8.0.33"

// BuildVersion is the version of anomalydb this binary was built from:
// the main module's version recorded by the Go toolchain, or "dev" when
// the build records none (go run, go test, -buildvcs=false).
func BuildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Version is the server's one version string, "8.0.33-anomalydb-" and the
// build version: the handshake, VERSION(), @@version and `anomalydb
// version` all report it.
func Version() string { return mysqlRelease + "-anomalydb-" + BuildVersion() }

// identityVariables replace go-mysql-server's version variables, which
// name another release and another product (8.0.31, "Dolt"), and add
// @@innodb_version, which BI tools query and go-mysql-server lacks. None
// can be SET, as in MySQL. VERSION() reads @@version.
func identityVariables() []sql.SystemVariable {
	return []sql.SystemVariable{
		constantVariable("version", Version()),
		constantVariable("version_comment", "anomalydb "+BuildVersion()),
		constantVariable("innodb_version", mysqlRelease),
	}
}

// constantVariable is a read-only global string variable (SET fails, as
// for MySQL's non-dynamic variables); value nil shows as NULL.
func constantVariable(name string, value interface{}) sql.SystemVariable {
	return &sql.MysqlSystemVariable{
		Name:    name,
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
		Dynamic: false,
		Type:    types.NewSystemStringType(name),
		Default: value,
	}
}

// isLoopback reports whether addr's host only accepts local connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrInsecure is returned when the server would listen beyond loopback
// with a root account that has no password.
var ErrInsecure = errors.New("refusing to listen on a non-loopback address while root has no password: set --password or ANOMALYDB_PASSWORD")

// NewServer opens the data directory and prepares the engine and the
// listener. Call Serve to accept connections and Close to stop.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:3306"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if cfg.Password == "" && !isLoopback(cfg.Addr) {
		return nil, ErrInsecure
	}
	if cfg.MaxAllowedPacket == 0 {
		cfg.MaxAllowedPacket = DefaultMaxAllowedPacket
	}
	if err := validMaxAllowedPacket(cfg.MaxAllowedPacket); err != nil {
		return nil, err
	}
	if cfg.Quiet {
		logrus.SetLevel(logrus.ErrorLevel)
	}
	files, err := newFileAccess(cfg.DataDir, cfg.SecureFilePriv)
	if err != nil {
		return nil, err
	}
	if cfg.SecureFilePriv != nil && *cfg.SecureFilePriv == "" {
		logrus.Warn("--secure-file-priv '': every user with the FILE privilege can read and write any file this process can")
	}
	if cfg.InsertBuffer > 0 {
		spillBytes = cfg.InsertBuffer
	}
	fresh := isEmptyDir(cfg.DataDir)
	logPreviousShutdown(cfg.DataDir, fresh) // shutdown.go
	cfg.MaxMemory = cmp.Or(cfg.MaxMemory, DefaultMaxMemory())
	switch {
	case cfg.CacheMemory == 0:
		// The cache takes at most half of the memory limit.
		cfg.CacheMemory = min(cmp.Or(physicalMemory()/4, 1<<30), cfg.MaxMemory/2)
	case cfg.CacheMemory >= cfg.MaxMemory:
		return nil, fmt.Errorf("the cache (%s) must be below the memory limit (%s): lower --cache-memory or raise --max-memory",
			byteSize(uint64(cfg.CacheMemory)), byteSize(uint64(cfg.MaxMemory)))
	}
	store, err := storage.OpenWithOptions(cfg.DataDir, &storage.Options{CacheBytes: cfg.CacheMemory, TargetFileBytes: cfg.DataFileBytes})
	if err != nil {
		return nil, err
	}
	s := &Server{store: store, files: files}
	if err := s.init(cfg, fresh); err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err != nil || len(entries) == 0
}

func (s *Server) init(cfg Config, fresh bool) error {
	warnDamaged(s.store)
	s.svc = newDetectorService(s.store)
	s.svc.limits = trainingLimits(cfg.MaxTrainingMemory)
	if err := s.svc.load(); err != nil {
		return err
	}
	pro := &provider{store: s.store, svc: s.svc}
	sys := &systemSchemas{provider: pro} // performance_schema, and mysql in information_schema (bi.go)
	// Server-side files: LOAD_FILE, FILE for LOAD DATA, INTO OUTFILE (file_access.go).
	// String functions bounded by max_allowed_packet (packet_functions.go).
	a := analyzer.NewDefault(packetFunctions{fileFunctions{systemSchemas: sys, files: s.files}})
	sys.mysql = a.Catalog.MySQLDb
	s.files.mdb = a.Catalog.MySQLDb
	a.Catalog.AuthHandler = fileAuth{a.Catalog.AuthHandler}
	a.Catalog.InfoSchema = withDetectorsTable(a.Catalog.InfoSchema, s.svc) // information_schema.DETECTORS (detector_meta.go)
	// Accounts and grants in DATA_DIR/mysql.db, root from cfg.Password,
	// privileges go-mysql-server leaves unchecked (users.go, privileges.go).
	users, err := newAccounts(a, s.svc, cfg.DataDir, cfg.Password)
	if err != nil {
		return err
	}
	into := &intoFile{files: s.files}
	alter := &alterStatements{}  // one commit per ALTER TABLE (alter_stage.go)
	scoring := &batchScoring{}   // anomaly_score and is_anomaly a block of rows at a time (batch_scoring.go)
	pruning := &segmentPruning{} // scans under a WHERE skip the data files it rules out (segment_pruning.go)
	a.ExecBuilder = rowexec.NewOverrideBuilder(execOverrides{users, loadDataBuilder{s.files}, into, alter, indexDDL{}, showDatabases{}, showTableStatus{}, modifyNullErrors{}, explainAnalyze{}, pruning, scoring})
	into.exec, alter.exec, scoring.exec, pruning.exec = a.ExecBuilder, a.ExecBuilder, a.ExecBuilder, a.ExecBuilder
	e := sqle.New(a, &sqle.Config{IsReadOnly: false})
	limit := newMemoryLimit(cfg.MaxMemory) // memory_limit.go
	serverMemory.Store(limit)
	startGCFloor(cfg.MaxMemory) // gc_floor.go
	e.MemoryManager = sql.NewMemoryManager(limit)
	e.Parser = &detectorParser{Parser: windowParser{sql.GlobalParser}, svc: s.svc, prov: pro} // window_scoring.go
	s.svc.engine = e
	s.engine = e
	ctx := sql.NewEmptyContext()
	a.Catalog.RegisterFunction(ctx, functions.All(s.svc)...)
	// LOAD DATA LOCAL INFILE is how clients bulk-load their CSVs.
	if err := sql.SystemVariables.SetGlobal(ctx, "local_infile", 1); err != nil {
		return err
	}
	sql.SystemVariables.AddSystemVariables(identityVariables())
	sql.SystemVariables.AddSystemVariables(toolVariables())
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{s.files.variable(), maxAllowedPacketVariable(cfg.MaxAllowedPacket)})

	s.password = cfg.Password != ""

	if fresh && cfg.ExamplesDir != "" {
		warnIfNoExamples(cfg.ExamplesDir)
		if err := loadExamples(s.store, cfg.ExamplesDir); err != nil {
			return fmt.Errorf("loading examples: %w", err)
		}
	}

	// TLS (tls.go) and connection limits (connections.go).
	tlsConfig, cert, key, err := serverTLS(cfg.DataDir, cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return err
	}
	sql.SystemVariables.AddSystemVariables(tlsVariables(cert, key))
	if err := setConnectionVariables(cfg); err != nil {
		return err
	}
	s.conns = newConnections(a.Catalog.MySQLDb, e.ProcessList)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	sessions := &connSessions{}
	srv, err := server.NewServerWithHandler(server.Config{
		Protocol: "tcp",
		Address:  ln.Addr().String(),
		Listener: ln,
		Version:  Version(),
		// Offered to every client (tls.go).
		TLSConfig: tlsConfig,
		// Logins fail with MySQL's error 1045 (see accessDenied);
		// DETECTOR statements can be prepared (see prepareListener);
		// connections are admitted and shut down by s.conns; packets over
		// max_allowed_packet are refused (packetLimitConn).
		ProtocolListenerFactory: func(cfg server.Config, lc mysql.ListenerConfig, sel server.ServerEventListener) (server.ProtocolListener, error) {
			lc.AuthServer = s.conns.auth(newAccessDenied(lc.AuthServer))
			lc.Listener = prepareListener{Listener: packetLimitListener{s.conns.listener(lc.Listener)}} // max_allowed_packet.go
			return server.MySQLProtocolListenerFactory(cfg, lc, sel)
		},
	}, e, sql.NewContext, tlsSessions(sessions.build), nil, func(h mysql.Handler) (mysql.Handler, error) {
		return s.conns.handler(newHandler(h, sessions)), nil
	})
	if err != nil {
		ln.Close()
		return err
	}
	s.srv = srv
	return nil
}

func sessionBuilder(_ context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	host, user := "", ""
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		host, user = u.Host, u.User
	}
	client := sql.Client{Address: host, User: user, Capabilities: conn.Capabilities}
	return &session{BaseSession: sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID)}, nil
}

// warnIfNoExamples warns when the examples folder that a first start
// would load does not exist or holds no *.csv.gz: the server then starts
// without the database "examples" that the README's Quickstart opens.
func warnIfNoExamples(dir string) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		logrus.Warnf("examples folder %q does not exist: starting without the database %s", dir, examplesDatabase)
		return
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.csv.gz")); len(files) == 0 {
		logrus.Warnf("examples folder %q holds no *.csv.gz: starting without the database %s", dir, examplesDatabase)
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ClientCommand is the mysql command line that connects to the server as
// root: "mysql -h 127.0.0.1 -P 3306 -u root examples", with -p when root
// has a password and without "examples" when that database does not
// exist. An unspecified listen address (0.0.0.0, ::) is reached through
// loopback.
func (s *Server) ClientCommand() string {
	host, port := "127.0.0.1", 0
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
		switch {
		case a.IP.IsUnspecified() && a.IP.To4() == nil:
			host = "::1"
		case !a.IP.IsUnspecified():
			host = a.IP.String()
		}
	}
	cmd := "mysql -h " + host + " -P " + strconv.Itoa(port) + " -u root"
	if s.password {
		cmd += " -p"
	}
	if hasDatabase(s.store, examplesDatabase) {
		cmd += " " + examplesDatabase
	}
	return cmd
}

// Engine returns the SQL engine (for in-process use).
func (s *Server) Engine() *sqle.Engine { return s.engine }

// Serve accepts connections until Shutdown or Close is called.
func (s *Server) Serve() error { return s.srv.Start() }

// exampleName turns "thyroid.csv.gz" into "thyroid".
func exampleName(file string) string {
	base := filepath.Base(file)
	return strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".csv")
}
