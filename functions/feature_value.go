package functions

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/anomalydb/anomalydb/detectors"
)

// FeatureValue converts a SQL value to a detector feature value exactly as
// anomaly_score, is_anomaly, anomaly_percentile and anomaly_explain
// convert their feature arguments for a numeric feature: NULL gives NaN
// (which the detector replaces by the training mean), a number its
// float64 value (DECIMAL rounded to the nearest DOUBLE), a boolean 0 or 1,
// and a string that is entirely a decimal number, surrounded by white
// space or not, that number ("1.5", " 2e3 "). ok is false for any other
// value (a string that is not a number, a date, JSON): those functions
// fail with error 1366 for it.
//
// Callers that score rows with detectors.Model.ScoreMatrix after this
// conversion get anomaly_score's scores bit for bit. For a model with an
// encoding (string, date or time features) use ModelFeatureValue.
func FeatureValue(v interface{}) (f float64, ok bool) { return toFloat(v) }

// ModelFeatureValue converts v, the value given for feature k of model m,
// to the raw value m scores (detectors/encoding.go), as the detector
// functions do for every argument:
//
//   - a categorical feature (a string column in training): v's text is
//     looked up among the training values (a value never seen in training
//     is "unseen", not an error), NULL is a category of its own; a number
//     is compared by its text ("1" for 1);
//   - a time feature (DATE, DATETIME, TIMESTAMP in training): a date or
//     time, or a string MySQL converts to one, gives its seconds since
//     1970-01-01 00:00:00 UTC, NULL gives NaN; any other value is not
//     ok (error 1366);
//   - a numeric or boolean feature, and every feature of a model without
//     an encoding: FeatureValue.
//
// The conversion of a value depends only on the value and the model, so
// a row scores the same in anomaly_score, in a batch and in
// detect_anomalies.
func ModelFeatureValue(m *detectors.Model, k int, v interface{}) (float64, bool) {
	enc := m.Encoding()
	if enc == nil {
		return toFloat(v)
	}
	switch enc.Columns()[k].Kind {
	case detectors.KindCategorical:
		switch x := v.(type) {
		case nil:
			return enc.Code(k, "", true), true
		case string:
			return enc.Code(k, x, false), true
		case []byte:
			return enc.Code(k, string(x), false), true
		}
		return enc.Code(k, fmt.Sprint(v), false), true
	case detectors.KindTime:
		return timeSeconds(v)
	}
	return toFloat(v)
}

// timeSeconds converts a date or time (or a string MySQL converts to
// one) to seconds since the epoch, computed as the detector core reads
// a stored DATETIME (microseconds / 1e6) so that both agree bit for bit.
func timeSeconds(v interface{}) (float64, bool) {
	switch x := v.(type) {
	case nil:
		return math.NaN(), true
	case time.Time:
		return float64(x.UnixMicro()) / 1e6, true
	case string, []byte:
		t, _, err := types.DatetimeMaxPrecision.Convert(context.Background(), x)
		if err != nil || t == nil {
			return 0, false
		}
		if tt, ok := t.(time.Time); ok {
			return float64(tt.UnixMicro()) / 1e6, true
		}
	}
	return 0, false
}
