// Command anomalydb runs the anomalydb server: a MySQL-compatible SQL
// engine in which analysts train and apply deep anomaly detectors.
//
//	anomalydb serve [--addr 127.0.0.1:3306] [--data-dir DIR] [--password P] [--examples DIR]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia needs the newest version under Go 1.26

	"github.com/anomalydb/anomalydb/engine"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: anomalydb serve [--addr HOST:PORT] [--data-dir DIR] [--password P] [--examples DIR]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:3306", "address to listen on")
	dataDir := fs.String("data-dir", "./data", "data directory (Iceberg warehouse and detectors)")
	password := fs.String("password", os.Getenv("ANOMALYDB_PASSWORD"), "root's password (default $ANOMALYDB_PASSWORD); required off loopback")
	examples := fs.String("examples", "testdata", "directory of *.csv.gz loaded into database `examples` on first start")
	quiet := fs.Bool("quiet", false, "log errors only")
	_ = fs.Parse(os.Args[2:])

	srv, err := engine.NewServer(engine.Config{
		Addr: *addr, DataDir: *dataDir, Password: *password, ExamplesDir: *examples, Quiet: *quiet,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "anomalydb:", err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "anomalydb: %v, shutting down\n", s)
		srv.Close()
	}()
	fmt.Fprintf(os.Stderr, "anomalydb: listening on %s (data dir %s)\n", srv.Addr(), *dataDir)
	if err := srv.Serve(); err != nil {
		fmt.Fprintln(os.Stderr, "anomalydb:", err)
		os.Exit(1)
	}
}
