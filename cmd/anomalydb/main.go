// Command anomalydb runs the anomalydb server: a MySQL-compatible SQL
// engine in which analysts train and apply deep anomaly detectors.
//
//	anomalydb serve [--addr 127.0.0.1:3306] [--data-dir DIR] [--password P] [--examples DIR] [--secure-file-priv DIR] [--max-allowed-packet SIZE] [--log-level LEVEL]
//	anomalydb version
//	anomalydb help
//
// serve prints one line on stderr once it accepts connections,
//
//	ready: mysql -h 127.0.0.1 -P 3306 -u root examples
//
// the command that connects to it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/sirupsen/logrus"
	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia needs the newest version under Go 1.26

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
	secureFilePriv                    optionalString
	maxAllowedPacket                  byteSize
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
	fs.StringVar(&f.password, "password", os.Getenv("ANOMALYDB_PASSWORD"), "root's `PASSWORD` (default $ANOMALYDB_PASSWORD, else none)")
	fs.StringVar(&f.examples, "examples", "testdata", "on first start (empty data dir) load `DIR`/*.csv.gz into the database examples; \"\" for none")
	fs.Var(&f.secureFilePriv, "secure-file-priv", "LOAD DATA INFILE, LOAD_FILE() and INTO OUTFILE use server files only in `DIR` (default: the folder files beside --data-dir, created if missing); NULL: none; '': anywhere (unsafe); never in the data dir")
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

	logrus.Infof("anomalydb %s starting (data dir %s)", engine.Version(), f.dataDir)
	cfg := engine.Config{
		Addr: f.addr, DataDir: f.dataDir, Password: f.password, ExamplesDir: f.examples,
		MaxAllowedPacket: int64(f.maxAllowedPacket),
	}
	if f.secureFilePriv.set {
		cfg.SecureFilePriv = &f.secureFilePriv.value
	}
	srv, err := engine.NewServer(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "anomalydb:", err)
		return exitFail
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(stderr, "anomalydb: %v, shutting down\n", s)
		srv.Close()
	}()
	// The listener is open: a client that connects from now on is
	// accepted as soon as Serve runs.
	fmt.Fprintln(stderr, "ready:", srv.ClientCommand())
	if err := srv.Serve(); err != nil {
		fmt.Fprintln(stderr, "anomalydb:", err)
		return exitFail
	}
	return exitOK
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
