package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/anomalydb/anomalydb/storage"
)

// Fuzz targets of the DETECTOR statement parser (parser.go). Plain go
// test runs their seeds; `make fuzz` (or go test -fuzz FuzzX ./engine)
// explores further.

// detectorSeeds are statements the parser must handle: valid ones of
// every form, quoting, comments, several statements, and the attacks of
// issue 8 (other statements behind AS, INTO OUTFILE).
var detectorSeeds = []string{
	"CREATE DETECTOR d USING deep_svdd AS SELECT a, b FROM t",
	"create detector if not exists db1.d using iforest with (epochs = 3, hidden = '8,4', lr = 1e-3) as select * from t;",
	"CREATE DETECTOR `my det` USING `deep_svdd` WITH () AS SELECT 1",
	"CREATE DETECTOR `a``b` USING x AS SELECT 1",
	"CREATE DETECTOR d USING x WITH (name = 'it''s \\'q\\' \\n') AS SELECT 'a;b', \"c;d\", `e;f` FROM t -- ;\n",
	"CREATE DETECTOR d USING x AS SELECT 1; DELETE FROM t",
	"CREATE DETECTOR d USING x AS DELETE FROM t",
	"CREATE DETECTOR d USING x AS DROP TABLE t",
	"CREATE DETECTOR d USING x AS SELECT * FROM t INTO OUTFILE '/tmp/x'",
	"CREATE DETECTOR d USING x AS (SELECT a FROM t) UNION (SELECT a FROM u)",
	"CREATE DETECTOR d USING x AS WITH c AS (SELECT 1 AS a) SELECT a FROM c",
	"CREATE DETECTOR d USING x AS SELECT a, COUNT(*) FROM t GROUP BY a WITH ROLLUP",
	"CREATE DETECTOR d USING x AS VALUES ROW(1, 2)",
	"CREATE DETECTOR d USING x AS TABLE t",
	"CREATE DETECTOR d USING x AS",
	"CREATE DETECTOR d USING x WITH (a = 1, a = 2) AS SELECT 1",
	"CREATE DETECTOR d USING x WITH (a = ) AS SELECT 1",
	"CREATE DETECTOR 'd",
	"CREATE DETECTOR `d",
	"/* c */ CREATE /* ; */ DETECTOR # x\n d USING x AS SELECT 1 /* ; */",
	"DROP DETECTOR d",
	"drop detector if exists `db`.`d`;",
	"DROP DETECTOR d; SELECT 1",
	"DROP DETECTOR d e",
	"DROP DETECTOR d --x;\nSELECT 1",
	"SHOW DETECTORS",
	"show detectors from db1",
	"SHOW DETECTORS IN `ünï db`;;;  ",
	"SHOW DETECTORS FROM",
	"DROP DETECTOR ü",
	"CREATE DETECTOR \xff USING x AS SELECT 1",
	"SHOW DETECTORS\x00",
	"SHOW DETECTORS WHERE name LIKE 'a%' AND training_rows > ?",
	"SHOW DETECTORS FROM db1 WHERE 1; SELECT 2",
	"SHOW DETECTORS WHERE 1 UNION SELECT 1",
	"SHOW DETECTORS WHERE 1) AS x WHERE (1",
	"SHOW DETECTORS WHERE",
	"DESCRIBE DETECTOR d",
	"desc detector `db`.`d`;",
	"DESCRIBE detector",
	"SHOW CREATE DETECTOR db1.d",
	"RENAME DETECTOR d TO db2.e",
	"RENAME DETECTOR d TO e, f TO g",
	"CREATE OR REPLACE DETECTOR d USING x WITH (seed = ?) AS SELECT a FROM t WHERE b > ?",
	"CREATE OR REPLACE DETECTOR IF NOT EXISTS d USING x AS SELECT 1",
	"CREATE OR REPLACE VIEW v AS SELECT 1",
	"SELECT 1",
	"",
	";",
}

// FuzzDetectorParser checks, for any text, that the detector parser
// never panics, that multi-statement splitting always makes progress
// and only splits off a suffix of the query (a loop over the remainder
// ends), and that the query CREATE DETECTOR ... AS will later run is,
// as the engine will parse it, exactly one SELECT without INTO: nothing
// else can hide behind AS (issue 8, item 2).
func FuzzDetectorParser(f *testing.F) {
	for _, s := range detectorSeeds {
		f.Add(s)
	}
	p := &detectorParser{Parser: sql.GlobalParser}
	ctx := sql.NewEmptyContext()
	f.Fuzz(func(t *testing.T, query string) {
		if len(query) > 4096 {
			return // long inputs explore nothing new and slow the run
		}
		end, next := statementEnd(query, ';', false)
		if end < 0 || end > next || next > len(query) || (end < len(query) && query[end:next] != ";") {
			t.Fatalf("statementEnd(%q) = %d, %d", query, end, next)
		}
		w1, w2 := leadingWords(query)
		detector := isDetectorStatement(query)
		if detector != isDetectorStatement(" \t/* c */ -- c\n"+query) {
			t.Fatalf("a leading comment changes whether %q is a DETECTOR statement", query)
		}
		if !detector {
			return // the MySQL parser's business
		}
		// The pre-parse agrees with the lexer the parser then uses.
		if toks, _, _ := lex(query, false); len(toks) < 2 || !strings.EqualFold(toks[0].text, w1) || !strings.EqualFold(toks[1].text, w2) {
			t.Fatalf("isDetectorStatement(%q) saw %s %s, the lexer %v", query, w1, w2, toks)
		}

		stmt, err := p.ParseSimple(query)
		checkDetectorStmt(t, p, ctx, query, stmt, err)
		for _, opts := range []ast.ParserOptions{{}, {AnsiQuotes: true}} {
			stmt, parsed, rest, err := p.ParseWithOptions(context.Background(), query, ';', true, opts)
			// Both parsers trim white space and delimiters at the end
			// first.
			if len(rest) >= len(query) && query != "" || !strings.HasSuffix(sql.RemoveSpaceAndDelimiter(query, ';'), rest) {
				t.Fatalf("multi-statement remainder of %q is %q: no progress or not a suffix", query, rest)
			}
			checkDetectorStmt(t, p, ctx, parsed, stmt, err)
		}
		stmt, n, err := p.ParseOneWithOptions(context.Background(), query, ast.ParserOptions{})
		if n < 0 || n > len(query) || (n == 0 && query != "" && err == nil) {
			t.Fatalf("ParseOneWithOptions(%q) returned next %d", query, n)
		}
		checkDetectorStmt(t, p, ctx, query, stmt, err)
	})
}

// checkDetectorStmt checks the result of parsing a DETECTOR statement:
// an error, or an injected DETECTOR node whose training query, parsed as
// the engine parses it when it trains, is one SELECT without INTO.
func checkDetectorStmt(t *testing.T, p *detectorParser, ctx *sql.Context, query string, stmt ast.Statement, err error) {
	t.Helper()
	if err != nil {
		if stmt != nil {
			t.Fatalf("%q: a statement and an error (%v)", query, err)
		}
		return
	}
	inj, ok := stmt.(ast.InjectedStatement)
	if !ok {
		t.Fatalf("%q: parsed to %T, not a DETECTOR statement", query, stmt)
	}
	if sd, ok := inj.Statement.(*showDetectorsNode); ok && sd.where != "" {
		// The WHERE is run inside a query of its own (detector_meta.go):
		// it must stay one SELECT.
		q := showWhereQuery(sd.where)
		run, _, rest, err := p.Parse(ctx, q, false)
		if err != nil || rest != "" {
			t.Fatalf("%q: accepted, but its query %q does not parse alone: %v, rest %q", query, q, err, rest)
		}
		if sel, ok := run.(*ast.Select); !ok || sel.Into != nil {
			t.Fatalf("%q: accepted, but its query %q is a %T", query, q, run)
		}
	}
	n, ok := inj.Statement.(*createDetectorNode)
	if !ok {
		return
	}
	// The training query runs through the engine's parser
	// (detectorService.train: AnalyzeQuery), not only through vitess.
	run, _, rest, err := p.Parse(ctx, n.selectSQL, false)
	if err != nil {
		t.Fatalf("%q: accepted, but its training query %q does not parse: %v", query, n.selectSQL, err)
	}
	if rest != "" {
		t.Fatalf("%q: training query %q leaves %q", query, n.selectSQL, rest)
	}
	sel, ok := run.(ast.SelectStatement)
	if !ok {
		t.Fatalf("%q: accepted, but its training query %q is a %T", query, n.selectSQL, run)
	}
	if sel.GetInto() != nil {
		t.Fatalf("%q: accepted a training query with INTO", query)
	}
	if _, next, err := ast.ParseOne(context.Background(), n.selectSQL); err == nil && next < len(strings.TrimRight(n.selectSQL, "; \t\r\n")) {
		t.Fatalf("%q: training query %q holds a second statement at %d", query, n.selectSQL, next)
	}
}

// FuzzDetectorNames builds CREATE, DROP and SHOW DETECTOR statements
// from any names, options and values, quoted as MySQL quotes them
// (identifiers in backticks with ` doubled, or under ANSI_QUOTES in
// double quotes with " doubled; strings in single quotes with ' and \
// escaped), each followed by a second statement, and checks that the
// parser gives each part back unchanged and splits off exactly the
// second statement.
func FuzzDetectorNames(f *testing.F) {
	f.Add("db", "d", "deep_svdd", "epochs", "10", "a", false)
	f.Add("my db", "a`b", "x", "hidden", "8,4", "col umn", false)
	f.Add("ünï😀db", "``", "Iforest", "NAME", `it's \n "quoted"`, "`", false)
	f.Add("", "d;", "x", "k", "\\", ";", false)
	f.Add("a.b", "-- c", "x", "#", "'", "/*", false)
	f.Add("", "d", "x", "", "\x00\b\n\r\t\x1a%_", "c", false)
	f.Add("a\\", `"; DROP TABLE t; "`, "x", `k"`, `v"`, `c\`, true)
	p := &detectorParser{Parser: sql.GlobalParser}
	f.Fuzz(func(t *testing.T, db, name, alg, key, value, col string, ansi bool) {
		for _, s := range []string{db, name, alg, key, col} {
			// MySQL identifiers are valid UTF-8 without NUL.
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > 256 {
				return
			}
		}
		if name == "" || alg == "" || key == "" || col == "" || !utf8.ValidString(value) || len(value) > 256 {
			return
		}
		opts := ast.ParserOptions{AnsiQuotes: ansi}
		quote := quoteIdent
		if ansi {
			quote = func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
		}
		target := quote(name)
		if db != "" {
			target = quoteIdent(db) + "." + target
		}
		sel := "SELECT " + quote(col) + " FROM t"
		// parse parses stmt followed by a second statement, as a client
		// with multi-statements sends it.
		parse := func(stmt string) any {
			t.Helper()
			got, parsed, rest, err := p.ParseWithOptions(context.Background(), stmt+"; SELECT 2;", ';', true, opts)
			if err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			if parsed != stmt || rest != "SELECT 2" {
				t.Fatalf("%s; SELECT 2: split into %q and %q", stmt, parsed, rest)
			}
			return got.(ast.InjectedStatement).Statement
		}
		create := "CREATE DETECTOR " + target + " USING " + quote(alg) +
			" WITH (" + quote(key) + " = " + quoteString(value) + ") AS " + sel
		if storage.ValidateName("detector", name) != nil {
			// A name the store cannot save a detector under is refused
			// by the parser, before anything runs.
			_, _, _, err := p.ParseWithOptions(context.Background(), create, ';', false, opts)
			if num := sqlErrorNumber(err); num != 1059 && num != 1103 {
				t.Fatalf("%s: %v, want error 1059 or 1103", create, err)
			}
			return
		}
		n := parse(create).(*createDetectorNode)
		if n.db != db || n.name != name || n.algorithm != strings.ToLower(alg) || n.selectSQL != sel {
			t.Fatalf("%s: parsed db %q name %q algorithm %q query %q", create, n.db, n.name, n.algorithm, n.selectSQL)
		}
		if got, ok := n.options[strings.ToLower(key)]; !ok || got != value || len(n.options) != 1 {
			t.Fatalf("%s: options %q, want %s = %q", create, n.options, strings.ToLower(key), value)
		}
		drop := "DROP DETECTOR IF EXISTS " + target
		if d := parse(drop).(*dropDetectorNode); d.db != db || d.name != name || !d.ifExists {
			t.Fatalf("%s: parsed db %q name %q", drop, d.db, d.name)
		}
		if db != "" {
			show := "SHOW DETECTORS FROM " + quote(db)
			if s := parse(show).(*showDetectorsNode); s.db != db {
				t.Fatalf("%s: parsed db %q", show, s.db)
			}
		}
	})
}

// quoteString quotes s as a MySQL string literal, as
// mysql_real_escape_string does (quoteIdent, in rollup.go, quotes
// identifiers).
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 26:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// sqlErrorNumber is err's MySQL error number, 0 if it has none.
func sqlErrorNumber(err error) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	return 0
}
