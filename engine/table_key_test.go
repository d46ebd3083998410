package engine

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/shopspring/decimal"
)

// fmtKeyValue is the fmt-based key encoding appendKeyValue replaced; keys
// must stay byte-identical.
func fmtKeyValue(b *strings.Builder, v interface{}) {
	switch x := v.(type) {
	case nil:
		b.WriteString("N;")
	case float64:
		fmt.Fprintf(b, "f%x;", math.Float64bits(x))
	case float32:
		fmt.Fprintf(b, "f%x;", math.Float64bits(float64(x)))
	case string:
		fmt.Fprintf(b, "s%d:%s;", len(x), x)
	case []byte:
		fmt.Fprintf(b, "s%d:%s;", len(x), x)
	case time.Time:
		fmt.Fprintf(b, "t%d;", x.UnixMicro())
	case decimal.Decimal:
		fmt.Fprintf(b, "d%s;", x.String())
	default:
		n, err := toInt64(v)
		if err == nil {
			fmt.Fprintf(b, "i%d;", n)
			return
		}
		fmt.Fprintf(b, "?%v;", v)
	}
}

func TestKeyEncodingUnchanged(t *testing.T) {
	values := []interface{}{
		nil, 0.0, math.Copysign(0, -1), 1.5, -3.25e300, math.Inf(1), math.NaN(), float32(0.1), float32(-7),
		"", "a", "a;s1:b", "ü and more text than sixty-four bytes, so that the stack buffer has to grow",
		[]byte{}, []byte{0, 1, 255}, time.Date(2024, 1, 2, 3, 4, 5, 678000, time.UTC), time.Unix(-86400, 0),
		decimal.RequireFromString("-1.50"), decimal.RequireFromString("12345678901234567890.0000000001"),
		int8(-8), int16(300), int32(-70000), int64(math.MinInt64), int(42), uint8(255), uint16(65535),
		uint32(4294967295), uint64(math.MaxInt64), uint64(math.MaxUint64), true, false, struct{ X int }{3},
	}
	for _, v := range values {
		var want strings.Builder
		fmtKeyValue(&want, v)
		if got := string(appendKeyValue(nil, v)); got != want.String() {
			t.Errorf("%T %v: key %q, want %q", v, v, got, want.String())
		}
	}
	var want strings.Builder
	for _, v := range values {
		fmtKeyValue(&want, v)
	}
	if got := rowKey(sql.Row(values)); got != want.String() {
		t.Errorf("rowKey = %q, want %q", got, want.String())
	}
}
