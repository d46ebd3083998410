// Command anomalydb runs the anomalydb server: a MySQL-compatible SQL
// engine in which analysts train and apply deep anomaly detectors.
//
//	anomalydb serve [--addr 127.0.0.1:3306] [--data-dir DIR] [--password-file FILE] [--examples DIR] [--secure-file-priv DIR] [--tls-cert FILE --tls-key FILE] [--max-allowed-packet SIZE] [--log-level LEVEL] ...
//	anomalydb version
//	anomalydb help
//
// serve prints one line on stderr once it accepts connections,
//
//	ready: mysql -h 127.0.0.1 -P 3306 -u root examples
//
// the command that connects to it. On SIGTERM or SIGINT it stops
// accepting connections, lets running statements finish for
// --shutdown-timeout, cancels the rest, records a clean shutdown and
// exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia needs the newest version under Go 1.26

	_ "github.com/anomalydb/anomalydb/detectors/all" // every algorithm, for CREATE DETECTOR
	"github.com/anomalydb/anomalydb/engine"
)

// Exit codes: 2 is a usage error, as for Go's flag package.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command line: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "anomalydb: no command")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(rest, stdout, stderr)
	case "version":
		if len(rest) > 0 {
			return usageError(stderr, "anomalydb version: unexpected argument %q", rest[0])
		}
		printVersion(stdout)
		return exitOK
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	default:
		return usageError(stderr, "anomalydb: unknown command %q", cmd)
	}
}

// usageError reports a bad command line and returns exitUsage.
func usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, format+"\n", args...)
	fmt.Fprintln(stderr, `usage: anomalydb serve|version|help [flags]; "anomalydb help" lists them`)
	return exitUsage
}

// serveFlags declares the flags of serve on a new FlagSet.
type serveFlags struct {
	addr, dataDir, password, examples string
	passwordFile                      string
	secureFilePriv                    optionalString
	tlsCert, tlsKey                   string
	requireSecure                     bool
	connectTimeout, maxConnections    int
	shutdownTimeout                   time.Duration
	maxAllowedPacket                  byteSize
	maxTrainingMemory                 byteSize
	cacheMemory                       byteSize
	maxMemory                         byteSize
	insertBuffer                      byteSize
	dataFileSize                      byteSize
	level                             logLevel
	quiet                             bool
}

// optionalString is a string flag that knows whether it was given, so
// that an empty --secure-file-priv (no restriction, asked for) differs from
// leaving the flag out (the default folder).
type optionalString struct {
	value string
	set   bool
}

func (o *optionalString) String() string { return o.value }

func (o *optionalString) Set(s string) error {
	o.value, o.set = s, true
	return nil
}

func newServeFlags() (*flag.FlagSet, *serveFlags) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f := &serveFlags{level: logLevel(logrus.WarnLevel), maxAllowedPacket: engine.DefaultMaxAllowedPacket}
	fs.StringVar(&f.addr, "addr", "127.0.0.1:3306", "listen on `HOST:PORT`; beyond loopback root must have a password")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "keep the Iceberg warehouse and the detectors in `DIR`")
	fs.StringVar(&f.password, "password", os.Getenv("ANOMALYDB_PASSWORD"), "root's `PASSWORD`, which every local user can read in the process list: prefer --password-file or $ANOMALYDB_PASSWORD (the default, else none)")
	fs.StringVar(&f.passwordFile, "password-file", "", "read root's password from the first line of `FILE` (instead of --password)")
	fs.StringVar(&f.examples, "examples", "testdata", "on first start (empty data dir) load `DIR`/*.csv.gz into the database examples; \"\" for none")
	fs.Var(&f.secureFilePriv, "secure-file-priv", "LOAD DATA INFILE, LOAD_FILE() and INTO OUTFILE use server files only in `DIR` (default: the folder files beside --data-dir, created if missing); NULL: none; '': anywhere (unsafe); never in the data dir")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM, with its chain) in `FILE`; with --tls-key. Default: DATA_DIR/server-cert.pem, self-signed, made at first start")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM) in `FILE`; with --tls-cert. Default: DATA_DIR/server-key.pem")
	fs.BoolVar(&f.requireSecure, "require-secure-transport", false, "refuse logins without TLS (error 3159): @@require_secure_transport")
	fs.IntVar(&f.connectTimeout, "connect-timeout", 10, "close a connection whose handshake takes over `SECONDS` (2 or more): @@connect_timeout")
	fs.IntVar(&f.maxConnections, "max-connections", 151, "refuse connections beyond `N` (error 1040; one more for SUPER): @@max_connections")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM/SIGINT let running statements finish for `DURATION`, then cancel them")
	fs.Var(&f.maxTrainingMemory, "max-training-memory", "refuse a CREATE DETECTOR whose estimated training memory exceeds `SIZE` bytes (suffix K, M or G; error 1210; default a quarter of the machine's memory)")
	fs.Var(&f.cacheMemory, "cache-memory", "keep at most `SIZE` bytes of decoded table data in memory between reads (suffix K, M or G; default a quarter of the machine's memory, at most half of --max-memory); larger tables are read from their files as scans need them")
	fs.Var(&f.maxMemory, "max-memory", "the server's memory limit: a statement that needs more (a sort, GROUP BY or UPDATE over a table larger than memory) fails with error 1037 instead of the server running out of memory (suffix K, M or G; default three quarters of the machine's memory)")
	fs.Var(&f.dataFileSize, "data-file-size", "write data files of about `SIZE` bytes of rows (suffix K, M or G; default 4M): an UPDATE or DELETE rewrites the files holding the rows it changes")
	fs.Var(&f.insertBuffer, "insert-buffer", "a transaction holds at most `SIZE` bytes of inserted rows per table in memory (suffix K, M or G; default 64M); beyond, LOAD DATA, INSERT … SELECT and CREATE TABLE … AS SELECT write them to data files as they go, committed with the transaction")
	fs.Var(&f.maxAllowedPacket, "max-allowed-packet", "@@max_allowed_packet: refuse a statement longer than `SIZE` bytes (suffix K, M or G; 1K to 1G) with error 1153, and make string functions whose result would be longer return NULL")
	fs.Var(&f.level, "log-level", "log at `LEVEL`: error, warn, info (adds a line per connection and per failed statement) or debug (adds every statement)")
	fs.BoolVar(&f.quiet, "quiet", false, "same as --log-level error")
	return fs, f
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, f := newServeFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		return usageError(stderr, "anomalydb serve: %v", err)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "anomalydb serve: unexpected argument %q", fs.Arg(0))
	}
	level := logrus.Level(f.level)
	if f.quiet {
		level = logrus.ErrorLevel
	}
	setupLogging(stderr, level)

	if f.connectTimeout < 2 || f.connectTimeout > 31536000 {
		return usageError(stderr, "anomalydb serve: --connect-timeout %d: want 2 to 31536000 seconds", f.connectTimeout)
	}
	if f.maxConnections < 1 || f.maxConnections > 100000 {
		return usageError(stderr, "anomalydb serve: --max-connections %d: want 1 to 100000", f.maxConnections)
	}
	if f.shutdownTimeout < 0 {
		return usageError(stderr, "anomalydb serve: --shutdown-timeout %v: negative", f.shutdownTimeout)
	}
	password := f.password
	if f.passwordFile != "" {
		if flagSet(fs, "password") {
			return usageError(stderr, "anomalydb serve: --password and --password-file exclude each other")
		}
		var err error
		if password, err = readPasswordFile(f.passwordFile); err != nil {
			fmt.Fprintln(stderr, "anomalydb:", err)
			return exitFail
		}
	}

	logrus.Infof("anomalydb %s starting (data dir %s)", engine.Version(), f.dataDir)
	cfg := engine.Config{
		Addr: f.addr, DataDir: f.dataDir, Password: password, ExamplesDir: f.examples,
		TLSCert: f.tlsCert, TLSKey: f.tlsKey, RequireSecureTransport: f.requireSecure,
		ConnectTimeout: time.Duration(f.connectTimeout) * time.Second, MaxConnections: f.maxConnections,
		MaxAllowedPacket: int64(f.maxAllowedPacket), MaxTrainingMemory: int64(f.maxTrainingMemory),
		CacheMemory: int64(f.cacheMemory), InsertBuffer: int64(f.insertBuffer), DataFileBytes: int64(f.dataFileSize),
		MaxMemory: int64(f.maxMemory),
	}
	if f.secureFilePriv.set {
		cfg.SecureFilePriv = &f.secureFilePriv.value
	}
	srv, err := engine.NewServer(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "anomalydb:", err)
		return exitFail
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	stopped := make(chan error, 1)
	go func() {
		s := <-sigs
		fmt.Fprintf(stderr, "anomalydb: %v, shutting down: running statements have %v to finish (a second signal cancels them now)\n", s, f.shutdownTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
		defer cancel()
		go func() {
			select {
			case <-sigs:
				cancel()
			case <-ctx.Done():
			}
		}()
		stopped <- srv.Shutdown(ctx)
	}()
	// The listener is open: a client that connects from now on is
	// accepted as soon as Serve runs.
	fmt.Fprintln(stderr, "ready:", srv.ClientCommand())
	if err := srv.Serve(); err != nil {
		fmt.Fprintln(stderr, "anomalydb:", err)
		srv.Close()
		return exitFail
	}
	// Serve returns once Shutdown has closed the listener; the process
	// exits when Shutdown has closed the store.
	if err := <-stopped; err != nil {
		fmt.Fprintln(stderr, "anomalydb:", err)
		return exitFail
	}
	return exitOK
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// readPasswordFile returns the first line of file (without its line
// end): root's password. It warns when other users may read the file.
func readPasswordFile(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
		logrus.Warnf("--password-file %s can be read by other users (mode %v): chmod 600 it", file, st.Mode().Perm())
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// usage prints every command and every flag of serve.
func usage(w io.Writer) {
	fmt.Fprint(w, `usage: anomalydb <command> [flags]

commands:
  serve     run the server (MySQL protocol); prints "ready: mysql ..." on
            stderr once it accepts connections
  version   print the version string and the build (Go version, revision)
  help      print this help (also -h, --help)

flags of serve:
`)
	fs, _ := newServeFlags()
	fs.VisitAll(func(fl *flag.Flag) {
		name, text := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%-22s %s", line, text)
		if fl.DefValue != "" && fl.DefValue != "false" && fl.Name != "password" {
			fmt.Fprintf(w, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// printVersion prints the server's version string, the one that clients
// see in the handshake, VERSION() and @@version, then the build.
func printVersion(w io.Writer) {
	fmt.Fprintln(w, engine.Version())
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	fmt.Fprintf(w, "module %s %s\n", bi.Main.Path, engine.BuildVersion())
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			rev += " " + t
		}
		fmt.Fprintf(w, "revision %s\n", rev)
	}
	fmt.Fprintf(w, "built with %s\n", bi.GoVersion)
}
