package engine

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// null stands for a NULL field in the expected records below.
const null = "\uFFFFNULL"

// csvDefaults is LOAD DATA without FIELDS or LINES clauses.
var csvDefaults = csvDialect{FieldTerm: "\t", Escape: `\`, LineTerm: "\n"}

// csvComma is FIELDS TERMINATED BY ',' ENCLOSED BY '"' (escape '\').
var csvComma = csvDialect{FieldTerm: ",", Enclose: `"`, Escape: `\`, LineTerm: "\n"}

func with(d csvDialect, f func(*csvDialect)) csvDialect {
	f(&d)
	return d
}

// readCSV reads every record of in after skipping skip lines, with a
// buffer of size bytes; NULL fields are null.
func readCSV(d csvDialect, in string, skip int64, size int) ([][]string, error) {
	r := newCSVReader(strings.NewReader(in), d, size)
	if err := r.SkipLines(skip); err != nil {
		return nil, err
	}
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if r.Row() != len(out)+1 {
			return out, errors.New("Row() does not count the records")
		}
		row := make([]string, len(rec))
		for i, f := range rec {
			row[i] = f.Value
			if f.Null {
				row[i] = null
			}
		}
		out = append(out, row)
	}
}

func rec(fields ...string) []string { return fields }

// longField is a value longer than the smallest buffer, with every kind of
// special byte in it, so that terminators, doubled quotes and escapes fall
// across buffer boundaries.
var longField = strings.Repeat(`abc,"def"\`+"\r\n", 40)

// longFieldCSV is longField as a CSV exporter writes it: enclosed, quotes
// doubled, backslashes escaped.
var longFieldCSV = `"` + strings.ReplaceAll(strings.ReplaceAll(longField, `\`, `\\`), `"`, `""`) + `"`

var csvCases = []struct {
	name string
	bug  string // the one-line bug the case catches
	d    csvDialect
	in   string
	skip int64
	want [][]string
}{
	{
		name: "defaults: tab-separated, newline-terminated",
		bug:  "wrong default terminators",
		d:    csvDefaults,
		in:   "a\tb\n1\t2\n",
		want: [][]string{rec("a", "b"), rec("1", "2")},
	},
	{
		name: "field terminator inside an enclosed field",
		bug:  "splitting the line at the separator before looking at quotes (go-mysql-server's bug)",
		d:    csvComma,
		in:   `"a,b",c` + "\n" + `1,"x, y, z"` + "\n",
		want: [][]string{rec("a,b", "c"), rec("1", "x, y, z")},
	},
	{
		name: "doubled enclosing characters",
		bug:  `"" inside an enclosed field not read as one "`,
		d:    csvComma,
		in:   `"The ""BIG"" boss",""""` + "\n",
		want: [][]string{rec(`The "BIG" boss`, `"`)},
	},
	{
		name: "enclosing characters inside an unenclosed field are data",
		bug:  "quotes stripped or collapsed in a field that does not begin with one (MySQL's manual: The \"BIG\" boss)",
		d:    csvComma,
		in:   `The "BIG" boss,The ""BIG"" boss` + "\n",
		want: [][]string{rec(`The "BIG" boss`, `The ""BIG"" boss`)},
	},
	{
		name: "an enclosing character not followed by a terminator does not close",
		bug:  "an enclosed field closed at any quote",
		d:    csvComma,
		in:   `"a"b",c` + "\n",
		want: [][]string{rec(`a"b`, "c")},
	},
	{
		name: "line terminator inside an enclosed field",
		bug:  "reading line by line, so a quoted newline splits the record",
		d:    csvComma,
		in:   "\"line 1\nline 2\",x\n2,y\n",
		want: [][]string{rec("line 1\nline 2", "x"), rec("2", "y")},
	},
	{
		name: "CRLF line terminator, CRLF inside an enclosed field",
		bug:  "a two-byte line terminator matched on its first byte only",
		d:    with(csvComma, func(d *csvDialect) { d.LineTerm = "\r\n" }),
		in:   "a,b\r\n\"c\r\nd\",e\r\nf\rg,h\r\n",
		want: [][]string{rec("a", "b"), rec("c\r\nd", "e"), rec("f\rg", "h")},
	},
	{
		name: "multi-byte terminators with partial matches in the data",
		bug:  "a partial match of a terminator consumed instead of kept as data",
		d:    csvDialect{FieldTerm: "::", Escape: `\`, LineTerm: "|||"},
		in:   "a:b::c||d|||::x:|||",
		want: [][]string{rec("a:b", "c||d"), rec("", "x:")},
	},
	{
		name: "escape sequences outside enclosures",
		bug:  `escapes not decoded, or decoded by deleting every backslash (go-mysql-server)`,
		d:    csvComma,
		in:   `a\,b,c\\d,\"e,\0\b\n\r\t\Z,\x` + "\n",
		want: [][]string{rec("a,b", `c\d`, `"e`, "\x00\b\n\r\t\x1a", "x")},
	},
	{
		name: "escape sequences inside enclosures",
		bug:  `an escaped quote taken as the end of the enclosed field`,
		d:    csvComma,
		in:   `"a\"b\\",",\n"` + "\n",
		want: [][]string{rec(`a"b\`, ",\n")},
	},
	{
		name: "escaped line terminator",
		bug:  "an escaped newline ends the record",
		d:    csvComma,
		in:   "a\\\nb,c\n",
		want: [][]string{rec("a\nb", "c")},
	},
	{
		name: `\N is NULL only as the whole field`,
		bug:  `\N inside a longer value read as NULL, or \N not read as NULL`,
		d:    csvComma,
		in:   `\N,\NN,a\N,"\N"` + "\n",
		want: [][]string{rec(null, "NN", "aN", null)},
	},
	{
		name: "the word NULL with ENCLOSED BY",
		bug:  `"NULL" enclosed read as NULL, or the bare word not (or lower case read as NULL)`,
		d:    csvComma,
		in:   `NULL,"NULL",null,NULLS` + "\n",
		want: [][]string{rec(null, "NULL", "null", "NULLS")},
	},
	{
		name: "the word NULL without ENCLOSED BY is a string",
		bug:  "the word NULL read as NULL in every dialect (go-mysql-server)",
		d:    csvDefaults,
		in:   "NULL\t\\N\n",
		want: [][]string{rec("NULL", null)},
	},
	{
		name: "ESCAPED BY '' disables escapes",
		bug:  "a backslash still escaping with escapes disabled",
		d:    with(csvComma, func(d *csvDialect) { d.Escape = "" }),
		in:   `a\,\N,"b\"` + "\n",
		want: [][]string{rec(`a\`, `\N`, `b\`)},
	},
	{
		name: "ESCAPED BY equal to ENCLOSED BY",
		bug:  `with ESCAPED BY '"' the closing quote taken as an escape`,
		d:    with(csvComma, func(d *csvDialect) { d.Escape = `"` }),
		in:   `"fie""ld1","x\n",a"b` + "\n",
		want: [][]string{rec(`fie"ld1`, `x\n`, `a"b`)},
	},
	{
		name: "LINES STARTING BY (MySQL's manual's example)",
		bug:  "text before the prefix kept, or lines without it not skipped",
		d:    with(csvComma, func(d *csvDialect) { d.LineStart = "xxx" }),
		in:   "xxx\"abc\",1\nsomething xxx\"def\",2\n\"ghi\",3\n",
		want: [][]string{rec("abc", "1"), rec("def", "2")},
	},
	{
		name: "IGNORE 1 LINES skips the header",
		bug:  "the header loaded as data, or one data row skipped too many",
		d:    csvComma,
		in:   "id,name\n1,a\n2,b\n",
		skip: 1,
		want: [][]string{rec("1", "a"), rec("2", "b")},
	},
	{
		name: "IGNORE counts lines as MySQL does: escapes yes, enclosures no",
		bug:  "IGNORE n LINES counting records instead of MySQL's lines",
		d:    csvComma,
		in:   "h\\\nh\n\"x\ny\"\n1\n",
		skip: 2,
		want: [][]string{rec(`y"`), rec("1")},
	},
	{
		name: "IGNORE more lines than the file has",
		bug:  "skipping past the end reported as an error or a record",
		d:    csvComma,
		in:   "a\nb\n",
		skip: 5,
	},
	{
		name: "empty fields, trailing terminators, blank lines",
		bug:  "an empty field dropped, a final newline read as an empty record, or a trailing separator at the end of the file read as an empty field",
		d:    csvComma,
		in:   "a,,b\n\n1,2,\n1,2,",
		want: [][]string{rec("a", "", "b"), rec(""), rec("1", "2", ""), rec("1", "2")},
	},
	{
		name: "no final line terminator",
		bug:  "the last record lost when the file does not end in a newline",
		d:    csvComma,
		in:   `1,"x"`,
		want: [][]string{rec("1", "x")},
	},
	{
		name: "escape character at the end of the file",
		bug:  "a trailing backslash dropped",
		d:    csvComma,
		in:   `ab\`,
		want: [][]string{rec(`ab\`)},
	},
	{
		name: "no line terminator: records are Fields fields",
		bug:  "LINES TERMINATED BY '' (or equal to the field terminator) reading the file as one record",
		d:    csvDialect{FieldTerm: ",", Escape: `\`, LineTerm: ",", Fields: 2},
		in:   "1,2,3,4,",
		want: [][]string{rec("1", "2"), rec("3", "4")},
	},
	{
		name: "a record longer than the buffer",
		bug:  "a terminator, doubled quote or escape split across two buffer fills misread",
		d:    with(csvComma, func(d *csvDialect) { d.LineTerm = "\r\n" }),
		in:   "1," + longFieldCSV + "\r\n2," + longFieldCSV + "\r\n",
		want: [][]string{rec("1", longField), rec("2", longField)},
	},
}

// TestCSVReader reads each case with the default buffer and with the
// smallest one (16 bytes), so that every case also runs with its
// terminators, quotes and escapes across buffer boundaries.
func TestCSVReader(t *testing.T) {
	for _, c := range csvCases {
		for _, size := range []int{0, 16} {
			got, err := readCSV(c.d, c.in, c.skip, size)
			if err != nil {
				t.Errorf("%s (buffer %d): %v\nbug: %s", c.name, size, err, c.bug)
				continue
			}
			if !reflect.DeepEqual(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("%s (buffer %d):\n got %q\nwant %q\nbug: %s", c.name, size, got, c.want, c.bug)
			}
		}
	}
}

// TestCSVReaderUnclosed: an enclosed field that the file ends inside is an
// error naming its record (counted after IGNORE), its position and the
// line it starts on. Bug caught: the rest of the file silently read as one
// field (MySQL's behaviour), or the error naming the wrong line.
func TestCSVReaderUnclosed(t *testing.T) {
	cases := []struct {
		in   string
		skip int64
		want csvUnclosedError
	}{
		{in: "1,\"abc\n2,def\n", want: csvUnclosedError{Row: 1, Field: 1, Line: 1}},
		{in: "h\n1,a\n2,\"x\"\n3,b,\"open\nmore\n", skip: 1, want: csvUnclosedError{Row: 3, Field: 2, Line: 4}},
		{in: "\"ok\nok\",1\n\"\n", want: csvUnclosedError{Row: 2, Field: 0, Line: 3}},
		{in: `"a\"`, want: csvUnclosedError{Row: 1, Field: 0, Line: 1}},
	}
	for _, c := range cases {
		_, err := readCSV(csvComma, c.in, c.skip, 16)
		var ue *csvUnclosedError
		if !errors.As(err, &ue) || *ue != c.want {
			t.Errorf("%q: error %v, want %+v", c.in, err, c.want)
		}
	}
}

// TestCSVReaderReadError: an error of the underlying reader (a client that
// drops the connection during LOAD DATA LOCAL) is returned, not taken for
// the end of the file. Bug caught: a partial file loaded and committed as
// if it were whole.
func TestCSVReaderReadError(t *testing.T) {
	in := strings.Repeat("1,\"abc\"\n", 100)
	broken := errors.New("connection reset")
	for _, cut := range []int{3, 4, 8, 250} {
		src := io.MultiReader(strings.NewReader(in[:cut]), iotest.ErrReader(broken))
		r := newCSVReader(src, csvComma, 16)
		var err error
		for err == nil {
			_, err = r.Read()
		}
		if err != broken {
			t.Errorf("cut at %d: Read ended with %v, want %v", cut, err, broken)
		}
	}
}

// TestCSVReaderStreams: the reader holds one record, not the file: reading
// a large file allocates about the file's bytes once (the records'
// strings), with no buffer growing with the file. Bug caught: reading the
// whole file into memory (io.ReadAll) before parsing.
func TestCSVReaderStreams(t *testing.T) {
	const rows = 20000
	in := strings.Repeat(`1,"some text, quoted",3.5`+"\n", rows)
	r := newCSVReader(strings.NewReader(in), csvComma, 0)
	n := 0
	for {
		if _, err := r.Read(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		if cap(r.buf) > 64 {
			t.Fatalf("after %d records the record buffer holds %d bytes", n, cap(r.buf))
		}
	}
	if n != rows {
		t.Fatalf("read %d records, want %d", n, rows)
	}
}
