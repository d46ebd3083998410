package engine

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// The text-file reader of LOAD DATA.
//
// It reads records the way MySQL 8 does (sql_load.cc, READ_INFO), byte by
// byte from a bufio.Reader, so a file is never held in memory: the reader
// keeps one record at a time and its memory is bounded by the longest
// record. The rules, from MySQL's manual and its reader:
//
//   - A field ends at FIELDS TERMINATED BY, a record at LINES TERMINATED BY
//     (both may be several bytes, e.g. '\r\n'). A record ends at the end of
//     the file too; a file ending in a line terminator has no empty last
//     record.
//   - A field that begins with the ENCLOSED BY character is enclosed: it
//     may contain the field and the line terminators, and it ends only at
//     an enclosing character followed by a terminator or the end of the
//     file. A doubled enclosing character inside stands for one; any other
//     enclosing character inside is kept. In a field that does not begin
//     with it, the enclosing character is an ordinary byte.
//   - The ESCAPED BY character, inside and outside enclosures, makes the
//     next byte literal, except \0 \b \n \r \t \Z (NUL, backspace, newline,
//     carriage return, tab, ASCII 26) and \N. An escape character at the
//     end of the file is kept. When ESCAPED BY equals ENCLOSED BY, only the
//     doubled character is an escape (MySQL's rule for ESCAPED BY '"').
//   - NULL is a field that is exactly \N, and, when ENCLOSED BY is set, a
//     field that is the word NULL without enclosing characters (an enclosed
//     "NULL" is the string). MySQL reads an enclosed "\N" as NULL as well.
//   - LINES STARTING BY: each record begins after the next occurrence of
//     the prefix; what precedes it, including whole lines without it, is
//     skipped.
//   - IGNORE n LINES (SkipLines) skips n line terminators as MySQL does:
//     an escaped terminator does not count, enclosures are not looked at.
//   - Without a line terminator (LINES TERMINATED BY '' or equal to FIELDS
//     TERMINATED BY) a record is csvDialect.Fields fields, as in MySQL.
//
// Unlike MySQL, which then reads the rest of the file as the field's value,
// an enclosed field that the file ends inside is an error
// (csvUnclosedError).

// csvDialect is the FIELDS and LINES clauses of a LOAD DATA statement.
type csvDialect struct {
	FieldTerm string // FIELDS TERMINATED BY; "" never matches
	Enclose   string // FIELDS [OPTIONALLY] ENCLOSED BY: "" or one byte
	Escape    string // FIELDS ESCAPED BY: "" (no escapes) or one byte
	LineStart string // LINES STARTING BY
	LineTerm  string // LINES TERMINATED BY
	// Fields is the number of fields of a record when records have no
	// line terminator. Unused otherwise.
	Fields int
}

// csvField is one field of a record.
type csvField struct {
	Value    string // the field's bytes after unescaping
	Null     bool
	Enclosed bool // the field was enclosed (and closed)
}

// empty reports whether the field had no bytes at all in the file: not
// enclosed and nothing before its terminator.
func (f csvField) empty() bool { return !f.Enclosed && !f.Null && f.Value == "" }

// csvUnclosedError is an enclosed field that the file ends inside.
type csvUnclosedError struct {
	Row   int // the record, 1-based, counted after the lines SkipLines skipped
	Field int // the field's position in the record, 0-based
	Line  int // the line of the file the field starts on, 1-based
}

func (e *csvUnclosedError) Error() string {
	return fmt.Sprintf("row %d: field %d, enclosed from line %d, is not closed before the end of the file", e.Row, e.Field+1, e.Line)
}

// csvReader reads the records of one file.
type csvReader struct {
	br       *bufio.Reader
	d        csvDialect
	lineTerm string // "" when records have no line terminator
	enc, esc int    // the enclosing and escape bytes, -1 when none

	buf    []byte     // the current record's values, back to back
	spans  []csvSpan  // where each field of the current record is in buf
	fields []csvField // the current record, returned by Read

	rows int   // records returned so far
	line int   // the line being read, 1-based: 1 + newlines consumed
	eof  bool  // the file is read to its end
	err  error // the first error of the underlying reader
}

// csvSpan is a field of the current record before its value is a string.
type csvSpan struct {
	start, end int
	null       bool
	enclosed   bool
}

// csvBufferSize is the reader's default buffer size.
const csvBufferSize = 64 << 10

// newCSVReader reads r in dialect d through a buffer of size bytes (at
// least 16 and twice the longest terminator; 0 means csvBufferSize).
func newCSVReader(r io.Reader, d csvDialect, size int) *csvReader {
	if size <= 0 {
		size = csvBufferSize
	}
	for _, s := range []string{d.FieldTerm, d.LineTerm, d.LineStart} {
		size = max(size, 2*len(s)+2)
	}
	cr := &csvReader{br: bufio.NewReaderSize(r, size), d: d, lineTerm: d.LineTerm, enc: -1, esc: -1, line: 1}
	if cr.lineTerm == d.FieldTerm {
		cr.lineTerm = "" // MySQL: a line terminator equal to the field terminator is none
	}
	if d.Enclose != "" {
		cr.enc = int(d.Enclose[0])
	}
	if d.Escape != "" {
		cr.esc = int(d.Escape[0])
	}
	return cr
}

// Row is the number of records Read has returned: the current record's
// 1-based row number.
func (r *csvReader) Row() int { return r.rows }

// next consumes one byte; false at the end of the file or on an error
// (kept in r.err).
func (r *csvReader) next() (byte, bool) {
	c, err := r.br.ReadByte()
	if err != nil {
		if err != io.EOF && r.err == nil {
			r.err = err
		}
		return 0, false
	}
	if c == '\n' {
		r.line++
	}
	return c, true
}

// peekIs reports whether the unread input starts with s.
func (r *csvReader) peekIs(s string) bool {
	b, err := r.br.Peek(len(s))
	return err == nil && string(b) == s
}

// atEOF reports whether nothing is left to read.
func (r *csvReader) atEOF() bool {
	_, err := r.br.Peek(1)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return err != nil
}

// discard consumes s, which peekIs has just matched.
func (r *csvReader) discard(s string) {
	r.br.Discard(len(s))
	r.line += strings.Count(s, "\n")
}

// SkipLines skips n lines (IGNORE n LINES), as MySQL does: up to n line
// terminators, an escaped one not counting. Without a line terminator it
// skips n records.
func (r *csvReader) SkipLines(n int64) error {
	if r.lineTerm == "" {
		for ; n > 0; n-- {
			if _, err := r.Read(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
		r.rows = 0
		return nil
	}
	for ; n > 0 && !r.eof; n-- {
		for {
			c, ok := r.next()
			if !ok {
				r.eof = true
				break
			}
			if int(c) == r.esc {
				if _, ok := r.next(); !ok {
					r.eof = true
					break
				}
				continue
			}
			if c == r.lineTerm[0] && r.peekIs(r.lineTerm[1:]) {
				r.discard(r.lineTerm[1:])
				break
			}
		}
	}
	return r.err
}

// skipToStart consumes the input up to and including the next LINES
// STARTING BY prefix; false if the file ends first.
func (r *csvReader) skipToStart() bool {
	for !r.peekIs(r.d.LineStart) {
		if _, ok := r.next(); !ok {
			return false
		}
	}
	r.discard(r.d.LineStart)
	return true
}

// fieldEnd is what ended a field.
type fieldEnd int

const (
	endField  fieldEnd = iota // the field terminator
	endRecord                 // the line terminator
	endFile                   // the end of the file
	noField                   // the file ended before the field began
)

// Read returns the next record, or io.EOF after the last one. The slice is
// reused by the next call.
func (r *csvReader) Read() ([]csvField, error) {
	if r.eof {
		return nil, io.EOF
	}
	if (r.d.LineStart != "" && !r.skipToStart()) || r.atEOF() {
		r.eof = true
		if r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	}
	r.rows++
	r.buf, r.spans = r.buf[:0], r.spans[:0]
	for {
		end, err := r.readField()
		if err != nil {
			return nil, err
		}
		if end == noField {
			break
		}
		if end == endFile {
			r.eof = true
		}
		if end != endField || (r.lineTerm == "" && len(r.spans) == r.d.Fields) {
			break
		}
	}
	rec := string(r.buf)
	r.fields = r.fields[:0]
	for _, s := range r.spans {
		r.fields = append(r.fields, csvField{Value: rec[s.start:s.end], Null: s.null, Enclosed: s.enclosed})
	}
	return r.fields, nil
}

// readField reads one field into r.buf and r.spans (MySQL's
// READ_INFO::read_field).
func (r *csvReader) readField() (fieldEnd, error) {
	startLine := r.line
	c, ok := r.next()
	if !ok {
		return noField, r.err
	}
	enclosed := r.enc >= 0 && int(c) == r.enc
	if !enclosed {
		r.br.UnreadByte()
		if c == '\n' {
			r.line--
		}
	}
	start := len(r.buf)
	foundNull := false
	done := func(end fieldEnd, closed bool) (fieldEnd, error) {
		v := r.buf[start:]
		null := (len(v) == 1 && foundNull) || (!closed && r.enc >= 0 && string(v) == "NULL")
		r.spans = append(r.spans, csvSpan{start: start, end: len(r.buf), null: null, enclosed: closed})
		return end, nil
	}
	for {
		c, ok := r.next()
		if !ok {
			if r.err != nil {
				return 0, r.err
			}
			if enclosed {
				return 0, &csvUnclosedError{Row: r.rows, Field: len(r.spans), Line: startLine}
			}
			return done(endFile, false)
		}
		if int(c) == r.esc {
			nb, err := r.br.Peek(1)
			if err != nil { // an escape character at the end of the file is kept
				r.buf = append(r.buf, c)
				continue
			}
			if r.esc != r.enc || int(nb[0]) == r.esc {
				c2, _ := r.next()
				if c2 == 'N' {
					foundNull = true
				}
				r.buf = append(r.buf, unescapeCSV(c2))
				continue
			}
			// ESCAPED BY equals ENCLOSED BY and is not doubled: c is the
			// enclosing character.
		}
		switch {
		case !enclosed && r.lineTerm != "" && c == r.lineTerm[0] && r.peekIs(r.lineTerm[1:]):
			r.discard(r.lineTerm[1:])
			return done(endRecord, false)
		case enclosed && int(c) == r.enc:
			switch {
			case r.peekIs(r.d.Enclose): // doubled: one enclosing character
				r.discard(r.d.Enclose)
			case r.atEOF():
				if r.err != nil {
					return 0, r.err
				}
				return done(endFile, true)
			case r.lineTerm != "" && r.peekIs(r.lineTerm):
				r.discard(r.lineTerm)
				return done(endRecord, true)
			case r.d.FieldTerm != "" && r.peekIs(r.d.FieldTerm):
				r.discard(r.d.FieldTerm)
				return done(endField, true)
			}
			// Not followed by a terminator: part of the value.
		case !enclosed && r.d.FieldTerm != "" && c == r.d.FieldTerm[0] && r.peekIs(r.d.FieldTerm[1:]):
			r.discard(r.d.FieldTerm[1:])
			return done(endField, false)
		}
		r.buf = append(r.buf, c)
	}
}

// unescapeCSV is the byte that the escape character followed by c stands
// for (MySQL's READ_INFO::unescape).
func unescapeCSV(c byte) byte {
	switch c {
	case '0':
		return 0
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'Z':
		return 26
	}
	return c
}
