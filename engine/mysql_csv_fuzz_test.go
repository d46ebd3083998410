package engine

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Fuzz targets of the LOAD DATA text reader (mysql_csv.go). Plain go test
// runs their seeds; `make fuzz` explores further.

// fuzzDialect makes a dialect from fuzzed strings the way LOAD DATA can
// give them: ENCLOSED BY and ESCAPED BY are one byte or empty, the
// terminators and the line prefix a few bytes.
func fuzzDialect(fieldTerm, enclose, escape, lineStart, lineTerm string, fields int) csvDialect {
	cut := func(s string, n int) string { return s[:min(len(s), n)] }
	return csvDialect{
		FieldTerm: cut(fieldTerm, 8),
		Enclose:   cut(enclose, 1),
		Escape:    cut(escape, 1),
		LineStart: cut(lineStart, 8),
		LineTerm:  cut(lineTerm, 8),
		Fields:    fields,
	}
}

// FuzzCSVReader reads any bytes in any dialect, after skipping any number
// of lines, through a buffer of any size and a reader that returns one
// byte at a time, and checks that it never panics, always ends (each
// record consumes input, so there are at most len(in)+1 of them), and
// never returns more value bytes than the file holds.
func FuzzCSVReader(f *testing.F) {
	for _, c := range csvCases {
		f.Add([]byte(c.in), c.d.FieldTerm, c.d.Enclose, c.d.Escape, c.d.LineStart, c.d.LineTerm, uint8(c.d.Fields), uint8(c.skip), uint8(0))
	}
	f.Add([]byte("\"a\\\nb\"\"\n\\"), ",", `"`, `"`, "", "\n", uint8(2), uint8(1), uint8(16))
	f.Add([]byte("xxa,b;;xxc;"), ",", "", `\`, "xx", ";", uint8(0), uint8(0), uint8(1))
	f.Add([]byte("a,b,c,d,e"), ",", `'`, "", "", "", uint8(2), uint8(1), uint8(17))
	f.Add([]byte("\"unclosed,\n"), ",", `"`, `\`, "", "\n", uint8(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, fieldTerm, enclose, escape, lineStart, lineTerm string, fields, skip, size uint8) {
		d := fuzzDialect(fieldTerm, enclose, escape, lineStart, lineTerm, int(fields))
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(in)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			r := newCSVReader(src, d, int(size))
			if err := r.SkipLines(int64(skip)); err != nil {
				// Without a line terminator, skipping reads records,
				// which may end in an unclosed enclosed field.
				if _, ok := err.(*csvUnclosedError); !ok {
					t.Fatalf("SkipLines: unexpected error %v", err)
				}
				continue
			}
			values := 0
			for n := 0; ; n++ {
				if n > len(in)+1 {
					t.Fatalf("%d records from %d bytes: the reader does not advance", n, len(in))
				}
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					if _, ok := err.(*csvUnclosedError); !ok {
						t.Fatalf("Read: unexpected error %v", err)
					}
					break
				}
				if len(rec) == 0 {
					t.Fatalf("record %d has no fields", n+1)
				}
				for _, fl := range rec {
					values += len(fl.Value)
				}
			}
			if values > len(in) {
				t.Fatalf("%d value bytes from a file of %d", values, len(in))
			}
			if _, err := r.Read(); err != io.EOF {
				t.Fatalf("Read after the end = %v, want io.EOF", err)
			}
		}
	})
}

// csvNullMark in a fuzzed record stands for a NULL field; csvFieldSep and
// csvRecordSep split the fuzzed data into fields and records.
const (
	csvNullMark  = "\x1d"
	csvFieldSep  = "\x1f"
	csvRecordSep = "\x1e"
)

// FuzzCSVRoundTrip writes records as MySQL's SELECT ... INTO OUTFILE
// does in a dialect (escaping the escape and enclosing characters and,
// outside enclosures, the first byte of each terminator; NULL as \N, or
// as the bare word NULL when enclosing without an escape character) and
// checks that the reader gives back the same records. Dialects in which
// MySQL's own output is ambiguous are skipped (see exportCSV).
func FuzzCSVRoundTrip(f *testing.F) {
	rec := func(records ...[]string) string {
		var rs []string
		for _, r := range records {
			rs = append(rs, strings.Join(r, csvFieldSep))
		}
		return strings.Join(rs, csvRecordSep)
	}
	data := rec([]string{"a", "b,c", `"q"`}, []string{"", csvNullMark, "line\nbreak\\"}, []string{"NULL", "\\N", "x\x00y"})
	f.Add(data, "\t", "", `\`, "", "\n", false)
	f.Add(data, ",", `"`, `\`, "", "\n", false)
	f.Add(data, ",", `"`, "", "", "\r\n", false)
	f.Add(data, "::", "'", "|", ">>", "::", true)
	f.Add(rec([]string{"a:b", "c|"}, []string{"|||", ":"}), "::", "", `\`, "", "|||", false)
	f.Add(rec([]string{"x"}, []string{""}, []string{"y"}), ",", "", `\`, "", "", true)
	f.Add(rec([]string{"ab", "ba"}), "ab", "", `\`, "#", "ba", false)
	f.Fuzz(func(t *testing.T, data, fieldTerm, enclose, escape, lineStart, lineTerm string, fieldsMode bool) {
		var records [][]string
		for _, r := range strings.Split(data, csvRecordSep) {
			records = append(records, strings.Split(r, csvFieldSep))
		}
		d := fuzzDialect(fieldTerm, enclose, escape, lineStart, lineTerm, 0)
		if fieldsMode {
			d.LineTerm = d.FieldTerm // records of d.Fields fields
		}
		file, ok := exportCSV(d, records)
		if !ok {
			return
		}
		if d.LineTerm == "" || d.LineTerm == d.FieldTerm {
			d.Fields = len(records[0])
		}
		for _, size := range []int{0, 1} {
			got, err := readCSV(d, file, 0, size)
			if err != nil {
				t.Fatalf("%+v: reading %q: %v", d, file, err)
			}
			want := make([][]string, len(records))
			for i, r := range records {
				want[i] = make([]string, len(r))
				for j, v := range r {
					want[i][j] = v
					if v == csvNullMark {
						want[i][j] = null
					}
				}
			}
			if !equalRecords(got, want) {
				t.Fatalf("%+v: wrote %q as %q, read back %q", d, want, file, got)
			}
		}
	})
}

func equalRecords(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], csvFieldSep) != strings.Join(b[i], csvFieldSep) || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}

// exportCSV writes records in dialect d as MySQL's SELECT ... INTO OUTFILE
// does (sql_exchange.cc, select_export::send_data), every field enclosed
// when d has an enclosing character. It reports false for records d
// cannot represent unambiguously, where MySQL cannot read back its own
// output either: an escape character that is itself a letter of an
// escape sequence (\n, \N, ...), an escape character equal to the
// enclosing one or starting a terminator, terminators that start with
// the enclosing character or where one is a prefix of the other, no
// terminator at all, NULL without escape or enclosing characters, and,
// without an escape character, a value holding the first byte of a
// terminator outside an enclosure.
// Records of d without line terminator (LineTerm "" or equal to
// FieldTerm) must all have as many fields as the first.
func exportCSV(d csvDialect, records [][]string) (string, bool) {
	const sequences = "0bnrtZN" // escaped, these stand for other bytes
	fieldsMode := d.LineTerm == "" || d.LineTerm == d.FieldTerm
	special := d.Enclose + d.Escape
	if !fieldsMode {
		special += d.LineTerm[:1]
	}
	if d.FieldTerm != "" {
		special += d.FieldTerm[:1]
	}
	switch {
	case d.Escape != "" && strings.ContainsAny(special, sequences),
		d.Escape != "" && (d.Escape == d.Enclose || strings.HasPrefix(d.FieldTerm, d.Escape) || !fieldsMode && strings.HasPrefix(d.LineTerm, d.Escape)),
		d.FieldTerm == "" && fieldsMode,
		d.Enclose != "" && (strings.HasPrefix(d.FieldTerm, d.Enclose) || strings.HasPrefix(d.LineTerm, d.Enclose)),
		!fieldsMode && d.FieldTerm != "" && (strings.HasPrefix(d.FieldTerm, d.LineTerm) || strings.HasPrefix(d.LineTerm, d.FieldTerm)):
		return "", false
	}
	var b strings.Builder
	for _, r := range records {
		if fieldsMode && len(r) != len(records[0]) || d.FieldTerm == "" && len(r) > 1 {
			return "", false
		}
		b.WriteString(d.LineStart)
		for i, v := range r {
			if i > 0 {
				b.WriteString(d.FieldTerm)
			}
			switch {
			case v == csvNullMark && d.Escape != "":
				b.WriteString(d.Escape + "N")
				continue
			case v == csvNullMark && d.Enclose != "":
				b.WriteString("NULL")
				continue
			case v == csvNullMark:
				return "", false
			}
			b.WriteString(d.Enclose)
			for k := 0; k < len(v); k++ {
				c := v[k]
				switch {
				case d.Escape != "" && c == 0:
					b.WriteString(d.Escape + "0")
					continue
				case d.Enclose != "" && c == d.Enclose[0]:
					if d.Escape != "" {
						b.WriteString(d.Escape)
					} else {
						b.WriteByte(c) // doubled
					}
				case d.Escape != "" && c == d.Escape[0]:
					b.WriteString(d.Escape)
				case d.Enclose == "" && strings.IndexByte(special, c) >= 0:
					if d.Escape == "" {
						return "", false
					}
					b.WriteString(d.Escape)
				}
				b.WriteByte(c)
			}
			b.WriteString(d.Enclose)
		}
		if fieldsMode {
			b.WriteString(d.FieldTerm)
		} else {
			b.WriteString(d.LineTerm)
		}
	}
	return b.String(), true
}
