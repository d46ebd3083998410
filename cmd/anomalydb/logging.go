package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"
)

// logLevel is the value of --log-level: error, warn, info or debug.
type logLevel logrus.Level

var logLevels = []logrus.Level{logrus.ErrorLevel, logrus.WarnLevel, logrus.InfoLevel, logrus.DebugLevel}

// String implements flag.Value.
func (l *logLevel) String() string {
	if l == nil {
		return ""
	}
	if logrus.Level(*l) == logrus.WarnLevel {
		return "warn" // logrus says "warning"
	}
	return logrus.Level(*l).String()
}

// Set implements flag.Value.
func (l *logLevel) Set(s string) error {
	for _, lv := range logLevels {
		if s == lv.String() || (lv == logrus.WarnLevel && s == "warn") {
			*l = logLevel(lv)
			return nil
		}
	}
	return fmt.Errorf("want error, warn, info or debug")
}

// perQuery are the starts of go-mysql-server's and vitess's warnings that
// repeat per statement or per connection, or give advice anomalydb has no
// flag for. They are logged from --log-level info on, so that the
// terminal in which `make run &` was started stays readable.
var perQuery = []string{
	"error running query",       // every failed statement; the client has the error
	"Error authenticating user", // every failed login; the client has the 1045
	"secure_file_priv is set to",
	"Any user with GRANT FILE privileges",
	"Please consider restarting the server with secure_file_priv",
}

// demoteFormatter formats like the formatter it wraps, and writes nothing
// for the perQuery warnings when the level is below info.
type demoteFormatter struct {
	logrus.Formatter
	level logrus.Level
}

// Format implements logrus.Formatter.
func (f demoteFormatter) Format(e *logrus.Entry) ([]byte, error) {
	if f.level < logrus.InfoLevel && e.Level == logrus.WarnLevel {
		for _, p := range perQuery {
			if strings.HasPrefix(e.Message, p) {
				return nil, nil
			}
		}
	}
	return f.Formatter.Format(e)
}

// setupLogging sends the process's log (go-mysql-server, vitess and
// engine all log through logrus) to w at level.
func setupLogging(w io.Writer, level logrus.Level) {
	logrus.SetOutput(w)
	logrus.SetLevel(level)
	logrus.SetFormatter(demoteFormatter{Formatter: &logrus.TextFormatter{}, level: level})
}
