package functions

// FeatureValue converts a SQL value to a detector feature value exactly as
// anomaly_score, is_anomaly, anomaly_percentile and anomaly_explain
// convert their feature arguments: NULL gives NaN (which the detector
// replaces by the training mean), a number its float64 value (DECIMAL
// rounded to the nearest DOUBLE), a boolean 0 or 1, and a string that is
// entirely a decimal number, surrounded by white space or not, that number
// ("1.5", " 2e3 "). ok is false for any other value (a string that is not
// a number, a date, JSON): those functions fail with error 1366 for it.
//
// Callers that score rows with detectors.Model.ScoreMatrix after this
// conversion get anomaly_score's scores bit for bit.
func FeatureValue(v interface{}) (f float64, ok bool) { return toFloat(v) }
