package engine

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/anomalydb/anomalydb/storage"
)

// detectorParser wraps go-mysql-server's parser: DETECTOR statements
// (CREATE DETECTOR, DROP DETECTOR, SHOW DETECTORS) are parsed here and
// handed to the planner as injected statements; everything else goes to
// the MySQL parser unchanged.
type detectorParser struct {
	sql.Parser
	svc  *detectorService
	prov *provider // for RENAME TABLE and ALTER TABLE … RENAME (rename.go)
}

var _ sql.Parser = (*detectorParser)(nil)

// ParseSimple implements sql.Parser.
func (p *detectorParser) ParseSimple(query string) (ast.Statement, error) {
	if isDetectorStatement(query) {
		return p.parseDetector(query, ast.ParserOptions{})
	}
	stmt, err := rollupParser{p.Parser}.ParseSimple(query)
	return rewriteRenames(stmt, p.prov), orAsOfPlaceholder(stmt, err)
}

// Parse implements sql.Parser.
func (p *detectorParser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	if isDetectorStatement(query) {
		return p.parseFirst(query, ';', multi, sql.LoadSqlMode(ctx).ParserOptions())
	}
	stmt, parsed, rest, err := rollupParser{p.Parser}.Parse(ctx, query, multi)
	return rewriteRenames(stmt, p.prov), parsed, rest, orAsOfPlaceholder(stmt, err)
}

// ParseWithOptions implements sql.Parser.
func (p *detectorParser) ParseWithOptions(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions) (ast.Statement, string, string, error) {
	if isDetectorStatement(query) {
		return p.parseFirst(query, delimiter, multi, options)
	}
	stmt, parsed, rest, err := rollupParser{p.Parser}.ParseWithOptions(ctx, query, delimiter, multi, options)
	return rewriteRenames(stmt, p.prov), parsed, rest, orAsOfPlaceholder(stmt, err)
}

// ParseOneWithOptions implements sql.Parser: it parses the first
// statement and returns where the next one starts.
func (p *detectorParser) ParseOneWithOptions(ctx context.Context, query string, options ast.ParserOptions) (ast.Statement, int, error) {
	if isDetectorStatement(query) {
		end, next := statementEnd(query, ';', options.AnsiQuotes)
		stmt, err := p.parseDetector(query[:end], options)
		return stmt, next, err
	}
	stmt, next, err := rollupParser{p.Parser}.ParseOneWithOptions(ctx, query, options)
	return rewriteRenames(stmt, p.prov), next, orAsOfPlaceholder(stmt, err)
}

// parseFirst parses the DETECTOR statement that query starts with, as
// go-mysql-server's parser does: with multi, only up to the first
// delimiter outside quotes and comments, returning the rest (the next
// statements of a multi-statement query) as remainder; otherwise all of
// query.
func (p *detectorParser) parseFirst(query string, delimiter rune, multi bool, options ast.ParserOptions) (stmt ast.Statement, parsed, remainder string, err error) {
	parsed = sql.RemoveSpaceAndDelimiter(query, delimiter)
	if multi {
		end, next := statementEnd(parsed, delimiter, options.AnsiQuotes)
		remainder = strings.TrimLeftFunc(parsed[next:], func(r rune) bool { return r == delimiter || unicode.IsSpace(r) })
		parsed = sql.RemoveSpaceAndDelimiter(parsed[:end], delimiter)
	}
	stmt, err = p.parseDetector(parsed, options)
	return stmt, parsed, remainder, err
}

// statementEnd returns the index of the first delimiter in query outside
// quoted strings, quoted identifiers and comments, and the index after
// it; both are len(query) when there is none. With ansiQuotes, "..." is
// an identifier.
func statementEnd(query string, delimiter rune, ansiQuotes bool) (end, next int) {
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(query, i, ansiQuotes)
		case c == '#' || isDashComment(query[i:]):
			nl := strings.IndexByte(query[i:], '\n')
			if nl < 0 {
				return len(query), len(query)
			}
			i += nl + 1
		case strings.HasPrefix(query[i:], "/*"):
			e := strings.Index(query[i+2:], "*/")
			if e < 0 {
				return len(query), len(query)
			}
			i += 2 + e + 2
		default:
			r, size := utf8.DecodeRuneInString(query[i:])
			if r == delimiter {
				return i, i + size
			}
			i += size
		}
	}
	return len(query), len(query)
}

// isDashComment reports whether s starts with a "-- " comment: MySQL
// requires white space (or the end) after the two dashes, so that
// "1--1" is 1 - -1.
func isDashComment(s string) bool {
	return strings.HasPrefix(s, "--") && (len(s) == 2 || s[2] == ' ' || s[2] == '\t' || s[2] == '\n' || s[2] == '\r')
}

// skipQuoted returns the index after the quoted string or identifier
// that starts at query[i]: a doubled quote character stands for itself,
// and in strings a backslash escapes the next character. With
// ansiQuotes, "..." is an identifier.
func skipQuoted(query string, i int, ansiQuotes bool) int {
	q := query[i]
	ident := q == '`' || q == '"' && ansiQuotes
	for j := i + 1; j < len(query); j++ {
		switch query[j] {
		case '\\':
			if !ident {
				j++
			}
		case q:
			if j+1 < len(query) && query[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(query)
}

// token is one lexical token of a DETECTOR statement.
type token struct {
	kind byte // 'i' identifier or keyword, 'q' quoted identifier, 's' string, 'n' number, 'p' punctuation, 0 end
	text string
	pos  int
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

// lex splits src into tokens; it stops at the end or at the first
// character it does not know, which the parser then reports. With
// ansiQuotes (sql_mode ANSI_QUOTES), "..." quotes an identifier, as
// `...` always does.
func lex(src string, ansiQuotes bool) ([]token, int, string) {
	l := &lexer{src: src}
	for {
		l.skipSpace()
		if l.pos >= len(src) {
			l.toks = append(l.toks, token{kind: 0, pos: l.pos})
			return l.toks, -1, ""
		}
		start := l.pos
		c := src[l.pos]
		switch {
		case c == '`' || c == '"' && ansiQuotes:
			// A doubled quote stands for one, as in MySQL: `a``b` is a`b.
			var b strings.Builder
			i := l.pos + 1
			for ; i < len(src); i++ {
				if src[i] == c {
					if i+1 < len(src) && src[i+1] == c {
						i++
					} else {
						break
					}
				}
				b.WriteByte(src[i])
			}
			if i >= len(src) {
				return l.toks, start, "unterminated quoted identifier"
			}
			l.toks = append(l.toks, token{kind: 'q', text: b.String(), pos: start})
			l.pos = i + 1
		case c == '\'' || c == '"':
			var b strings.Builder
			i := l.pos + 1
			closed := false
			for i < len(src) {
				if src[i] == '\\' && i+1 < len(src) {
					// As the MySQL parser reads the rest of the
					// statement: \0 \b \n \r \t \Z stand for the control
					// characters, any other escaped byte for itself.
					b.WriteByte(unescapeSQL(src[i+1]))
					i += 2
					continue
				}
				if src[i] == c {
					if i+1 < len(src) && src[i+1] == c {
						b.WriteByte(c)
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			if !closed {
				return l.toks, start, "unterminated string"
			}
			l.toks = append(l.toks, token{kind: 's', text: b.String(), pos: start})
			l.pos = i
		case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
			i := l.pos
			if c == '-' || c == '+' {
				i++
			}
			j := i
			for j < len(src) && (isDigit(src[j]) || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
				((src[j] == '-' || src[j] == '+') && j > i && (src[j-1] == 'e' || src[j-1] == 'E'))) {
				j++
			}
			if j == i || (j == i+1 && src[i] == '.') {
				l.toks = append(l.toks, token{kind: 'p', text: string(c), pos: start})
				l.pos++
				continue
			}
			l.toks = append(l.toks, token{kind: 'n', text: src[l.pos:j], pos: start})
			l.pos = j
		case isIdentStart(rune(c)):
			j := l.pos
			for j < len(src) && isIdentPart(rune(src[j])) {
				j++
			}
			l.toks = append(l.toks, token{kind: 'i', text: src[l.pos:j], pos: start})
			l.pos = j
		case strings.ContainsRune("(),=;?", rune(c)):
			l.toks = append(l.toks, token{kind: 'p', text: string(c), pos: start})
			l.pos++
		default:
			return l.toks, start, ""
		}
	}
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
		case strings.HasPrefix(l.src[l.pos:], "--") || c == '#':
			nl := strings.IndexByte(l.src[l.pos:], '\n')
			if nl < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += nl + 1
			}
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += end + 4
			}
		default:
			return
		}
	}
}

// unescapeSQL is the byte that a backslash followed by c stands for in a
// string literal, as go-mysql-server's parser decodes it.
func unescapeSQL(c byte) byte {
	if d := sqltypes.SQLDecodeMap[c]; d != sqltypes.DontEscape {
		return d
	}
	return c
}

func isDigit(c byte) bool          { return c >= '0' && c <= '9' }
func isIdentStart(r rune) bool     { return r == '_' || r == '$' || unicode.IsLetter(r) || r >= 0x80 }
func isIdentPart(r rune) bool      { return isIdentStart(r) || (r >= '0' && r <= '9') }
func kw(t token, word string) bool { return t.kind == 'i' && strings.EqualFold(t.text, word) }

// leadingWords returns the first two words of a statement, skipping
// comments and white space, upper-cased.
func leadingWords(query string) (string, string) {
	l := &lexer{src: query}
	var words []string
	for len(words) < 2 {
		l.skipSpace()
		start := l.pos
		for l.pos < len(query) && isIdentPart(rune(query[l.pos])) {
			l.pos++
		}
		if l.pos == start {
			break
		}
		words = append(words, strings.ToUpper(query[start:l.pos]))
	}
	for len(words) < 2 {
		words = append(words, "")
	}
	return words[0], words[1]
}

// isDetectorStatement reports whether query is a DETECTOR statement
// (CREATE DETECTOR, DROP DETECTOR, SHOW DETECTORS), by its first two
// words.
func isDetectorStatement(query string) bool {
	if isDetectorMetaStatement(query) { // DESCRIBE, SHOW CREATE, RENAME, CREATE OR REPLACE: detector_meta.go
		return true
	}
	w1, w2 := leadingWords(query)
	return w1 == "CREATE" && w2 == "DETECTOR" ||
		w1 == "DROP" && w2 == "DETECTOR" ||
		w1 == "ALTER" && w2 == "DETECTOR" || // alter_detector.go
		w1 == "SHOW" && (w2 == "DETECTORS" || w2 == "SNAPSHOTS") // SHOW SNAPSHOTS: show_snapshots.go
}

// parseDetector parses a DETECTOR statement into the statement handed to
// the planner; options are the session's (ANSI_QUOTES) for the query of
// CREATE DETECTOR ... AS.
//
// Placeholders. A prepared DETECTOR statement (COM_STMT_PREPARE, or SQL
// PREPARE … FROM) may hold `?` where MySQL takes a value: option values
// of CREATE DETECTOR … WITH (epochs = ?), values in its SELECT, and the
// pattern of SHOW DETECTORS LIKE ?. They are the statement's children,
// numbered in the order they appear (:v1, :v2, … as vitess numbers them),
// so go-mysql-server binds them to the values of each execution like any
// placeholder, and the node takes the bound values in
// WithResolvedChildren. Names (of detectors, databases, algorithms and
// options) are never placeholders, as in MySQL.
func (p *detectorParser) parseDetector(query string, options ast.ParserOptions) (ast.Statement, error) {
	node, err := parseDetectorStatement(query, options)
	if err != nil {
		return nil, err
	}
	node.setService(p.svc)
	var children ast.Exprs
	for i := range node.params() {
		children = append(children, ast.NewValArg([]byte(":v"+strconv.Itoa(i+1))))
	}
	// The statement itself needs no privilege: its SELECT is authorised when it runs.
	return ast.InjectedStatement{Statement: node, Children: children, Auth: ast.AuthInformation{AuthType: ast.AuthType_IGNORE}}, nil
}

// detectorNode is the plan node of a DETECTOR statement.
type detectorNode interface {
	sql.ExecSourceRel
	ast.Injectable
	setService(*detectorService)
	// params returns the number of the statement's ? placeholders.
	params() int
}

// countPlaceholders returns the number of ? placeholders of query, as
// vitess counts them for COM_STMT_PREPARE (0 for a statement that does
// not parse: preparing it fails anyway).
func countPlaceholders(query string) int {
	n, err := parseDetectorStatement(query, ast.ParserOptions{})
	if err != nil {
		return 0
	}
	return n.params()
}

// parser is a cursor over the tokens of one DETECTOR statement.
type parser struct {
	query string
	toks  []token
	i     int

	optionParams []string // the options whose value is ?, in order
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}
func (p *parser) fail(detail string) error { return errSyntax(p.query, p.peek().pos, detail) }

func (p *parser) expectKeyword(word string) error {
	if !kw(p.peek(), word) {
		return p.fail("expected " + word)
	}
	p.next()
	return nil
}

func (p *parser) acceptKeywords(words ...string) (bool, error) {
	if !kw(p.peek(), words[0]) {
		return false, nil
	}
	p.next()
	for _, w := range words[1:] {
		if err := p.expectKeyword(w); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (p *parser) ident(what string) (string, error) {
	t := p.peek()
	if t.kind != 'i' && t.kind != 'q' {
		return "", p.fail("expected " + what)
	}
	p.next()
	return t.text, nil
}

// qualifiedName parses name or db.name.
func (p *parser) qualifiedName() (db, name string, err error) {
	first, err := p.ident("detector name")
	if err != nil {
		return "", "", err
	}
	if t := p.peek(); t.kind == 'p' && t.text == "." {
		p.next()
		second, err := p.ident("detector name after '.'")
		if err != nil {
			return "", "", err
		}
		return first, second, nil
	}
	return "", first, nil
}

func (p *parser) end() error {
	if t := p.peek(); t.kind == 'p' && t.text == ";" {
		p.next()
	}
	if p.peek().kind != 0 {
		return p.fail("unexpected text after statement")
	}
	return nil
}

func parseDetectorStatement(query string, options ast.ParserOptions) (detectorNode, error) {
	toks, badPos, detail := lex(query, options.AnsiQuotes)
	// The SELECT of CREATE DETECTOR may hold characters our lexer does not
	// know; only the part before AS must lex cleanly.
	p := &parser{query: query, toks: toks}
	if badPos >= 0 {
		p.toks = append(p.toks, token{kind: 0, pos: badPos})
	}
	lexErr := func() error {
		if badPos >= 0 {
			return errSyntax(query, badPos, detail)
		}
		return nil
	}
	if n, ok, err := p.parseMetaStatement(lexErr); ok { // detector_meta.go
		return n, err
	}
	first := p.next()
	switch {
	case kw(first, "CREATE"):
		n := &createDetectorNode{}
		var err error
		if n.orReplace, err = p.acceptKeywords("OR", "REPLACE"); err != nil { // detector_meta.go
			return nil, orLex(lexErr(), err)
		}
		p.next() // DETECTOR
		if n.ifNotExists, err = p.acceptKeywords("IF", "NOT", "EXISTS"); err != nil {
			return nil, err
		}
		if n.orReplace && n.ifNotExists {
			return nil, orLex(lexErr(), p.fail("OR REPLACE and IF NOT EXISTS cannot be combined"))
		}
		if n.db, n.name, err = p.qualifiedName(); err != nil {
			return nil, orLex(lexErr(), err)
		}
		if err := checkDetectorName(n.name); err != nil {
			return nil, err
		}
		if err := p.expectKeyword("USING"); err != nil {
			return nil, orLex(lexErr(), err)
		}
		if n.algorithm, err = p.ident("algorithm name"); err != nil {
			return nil, orLex(lexErr(), err)
		}
		n.algorithm = strings.ToLower(n.algorithm)
		n.options = map[string]string{}
		if ok, _ := p.acceptKeywords("WITH"); ok {
			if err := p.options(n.options); err != nil {
				return nil, orLex(lexErr(), err)
			}
		}
		if !kw(p.peek(), "AS") {
			return nil, orLex(lexErr(), p.fail("expected AS SELECT ..."))
		}
		asTok := p.next()
		rest := strings.TrimSpace(query[asTok.pos+2:])
		rest = strings.TrimSpace(strings.TrimSuffix(rest, ";"))
		if rest == "" {
			return nil, errSyntax(query, len(query), "expected a SELECT after AS")
		}
		selectParams, err := checkTrainingQuery(rest, options)
		if err != nil {
			after := query[asTok.pos+2:]
			return nil, errSyntax(query, len(query)-len(strings.TrimLeftFunc(after, unicode.IsSpace)), err.Error())
		}
		n.selectSQL = rest
		n.optionParams, n.selectParams = p.optionParams, selectParams
		n.query = query
		return n, nil
	case kw(first, "DROP"):
		p.next()
		n := &dropDetectorNode{}
		var err error
		if n.ifExists, err = p.acceptKeywords("IF", "EXISTS"); err != nil {
			return nil, orLex(lexErr(), err)
		}
		if n.db, n.name, err = p.qualifiedName(); err != nil {
			return nil, orLex(lexErr(), err)
		}
		if err := p.end(); err != nil {
			return nil, orLex(lexErr(), err)
		}
		return n, nil
	case kw(first, "ALTER"):
		n, err := p.parseAlterDetector() // alter_detector.go
		if err != nil {
			return nil, orLex(lexErr(), err)
		}
		return n, nil
	case kw(p.peek(), "SNAPSHOTS"):
		p.next()
		n, err := p.parseShowSnapshots() // show_snapshots.go
		if err != nil {
			return nil, orLex(lexErr(), err)
		}
		return n, nil
	default: // SHOW DETECTORS
		p.next()
		n := &showDetectorsNode{query: query}
		if kw(p.peek(), "FROM") || kw(p.peek(), "IN") {
			p.next()
			db, err := p.ident("database name")
			if err != nil {
				return nil, orLex(lexErr(), err)
			}
			n.db = db
		}
		if kw(p.peek(), "LIKE") {
			p.next()
			switch t := p.peek(); {
			case t.kind == 's':
				n.like = &t.text
			case t.kind == 'p' && t.text == "?":
				n.likeParam = true
			default:
				return nil, orLex(lexErr(), p.fail("expected a pattern after LIKE"))
			}
			p.next()
		} else if kw(p.peek(), "WHERE") {
			// The expression may hold what the lexer does not know (<, >):
			// only the text before WHERE had to lex.
			if err := p.parseShowWhere(n, options); err != nil { // detector_meta.go
				return nil, err
			}
			return n, nil
		}
		if err := p.end(); err != nil {
			return nil, orLex(lexErr(), err)
		}
		return n, nil
	}
}

// checkDetectorName refuses, before anything runs, a name the store
// cannot save a detector under: 1059 for more than 64 characters, as
// MySQL for any identifier, and 1103 for the rest (empty, trailing or
// leading spaces, '/', '\\', control characters, a leading '.').
func checkDetectorName(name string) error {
	err := storage.ValidateName("detector", name)
	switch {
	case err == nil:
		return nil
	case utf8.RuneCountInString(name) > 64:
		return mysql.NewSQLError(mysql.ERTooLongIdent, mysql.SSClientError, "Identifier name '%s' is too long", name)
	}
	why := strings.TrimPrefix(err.Error(), fmt.Sprintf("%v: detector name %q ", storage.ErrInvalidName, name))
	return mysql.NewSQLError(mysql.ERWrongTableName, mysql.SSClientError, "Incorrect detector name '%s': %s", name, why)
}

// wrappedSQLError is the text of a *mysql.SQLError of the parser, which
// go-mysql-server passes on as the text of an error 1105.
var wrappedSQLError = regexp.MustCompile(`(?s)^(.*) \(errno (\d+)\) \(sqlstate ([0-9A-Z]{5})\)$`)

// asDetectorParseError gives an error of the DETECTOR parser that
// go-mysql-server passed on as text (checkDetectorName's 1059 and 1103)
// its number back, or returns nil.
func asDetectorParseError(se *mysql.SQLError) *mysql.SQLError {
	m := wrappedSQLError.FindStringSubmatch(se.Message)
	if m == nil {
		return nil
	}
	switch num, _ := strconv.Atoi(m[2]); num {
	case mysql.ERTooLongIdent, mysql.ERWrongTableName:
		return mysql.NewSQLError(num, m[3], "%s", m[1])
	}
	return nil
}

func orLex(lexErr, err error) error {
	if lexErr != nil {
		return lexErr
	}
	return err
}

// options parses ( key = value [, key = value]... ) into opts. Keys are
// case-insensitive; values keep their text.
func (p *parser) options(opts map[string]string) error {
	if t := p.peek(); t.kind != 'p' || t.text != "(" {
		return p.fail("expected ( after WITH")
	}
	p.next()
	if t := p.peek(); t.kind == 'p' && t.text == ")" {
		p.next()
		return nil
	}
	for {
		keyTok := p.peek()
		key, err := p.ident("option name")
		if err != nil {
			return err
		}
		key = strings.ToLower(key)
		if _, dup := opts[key]; dup {
			return errSyntax(p.query, keyTok.pos, "option "+key+" given twice")
		}
		if t := p.peek(); t.kind != 'p' || t.text != "=" {
			return p.fail("expected = after option name")
		}
		p.next()
		v := p.peek()
		switch {
		case v.kind == 's' || v.kind == 'n' || v.kind == 'i' || v.kind == 'q':
			opts[key] = v.text
			p.next()
		case v.kind == 'p' && v.text == "?":
			opts[key] = "" // bound when the statement is executed
			p.optionParams = append(p.optionParams, key)
			p.next()
		default:
			return p.fail("expected an option value")
		}
		t := p.next()
		if t.kind == 'p' && t.text == ")" {
			return nil
		}
		if t.kind != 'p' || t.text != "," {
			return errSyntax(p.query, t.pos, "expected , or )")
		}
	}
}

// checkTrainingQuery returns an error unless query, the text after
// CREATE DETECTOR ... AS, is one read-only query: a SELECT (with WITH,
// UNION/INTERSECT/EXCEPT, parentheses, VALUES or TABLE, which the MySQL
// parser turns into a SELECT) without INTO. The caller reports it as a
// syntax error (1064). The statement is parsed by the parser
// go-mysql-server uses, before anything runs, so no other statement
// (DELETE, DROP TABLE, INSERT, ...) can hide behind AS, and nothing the
// query would write (INTO OUTFILE, DUMPFILE or @variables) is written.
// It returns the number of the query's ? placeholders.
func checkTrainingQuery(query string, options ast.ParserOptions) (int, error) {
	stmt, err := ast.ParseWithOptions(context.Background(), query, options)
	if err != nil {
		return 0, fmt.Errorf("CREATE DETECTOR ... AS needs one SELECT query: %s", vitessMessage(err))
	}
	sel, ok := stmt.(ast.SelectStatement)
	if !ok {
		return 0, fmt.Errorf("CREATE DETECTOR ... AS needs a SELECT query, not a %s statement", statementKind(stmt, query))
	}
	into := sel.GetInto() != nil
	params := 0
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *ast.Into:
			if n != nil {
				into = true
			}
		case *ast.SQLVal:
			if n.Type == ast.ValArg { // as vitess counts a prepared statement's parameters
				params++
			}
		}
		return !into, nil
	}, stmt)
	if into {
		return 0, fmt.Errorf("CREATE DETECTOR ... AS needs a SELECT query without INTO (OUTFILE, DUMPFILE or variables)")
	}
	return params, nil
}

// statementKind names the kind of a statement that is not a query for
// error messages: DELETE, UPDATE, INSERT, REPLACE, DROP, ... (the
// statement's first word otherwise).
func statementKind(stmt ast.Statement, query string) string {
	switch s := stmt.(type) {
	case *ast.Delete:
		return "DELETE"
	case *ast.Update:
		return "UPDATE"
	case *ast.Insert:
		return strings.ToUpper(s.Action)
	case *ast.DDL:
		return strings.ToUpper(s.Action)
	}
	w, _ := leadingWords(query)
	return w
}

// vitessMessage is a parser error's message without vitess's gRPC-style
// "Code: INVALID_ARGUMENT" line.
func vitessMessage(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 && strings.HasPrefix(msg, "Code:") {
		msg = msg[i+1:]
	}
	return strings.TrimSpace(msg)
}
