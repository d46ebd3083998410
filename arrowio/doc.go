// Package arrowio moves numeric data between Arrow record batches and the
// dense float64 matrices that anomalydb's detectors train and score on
// (features.go), and reads numeric CSV files into batches (csv.go).
//
// Contract of the feature conversion (FeatureMatrix, FillRows):
//
//   - Conversion is column by column: each Arrow column is read once with its
//     typed accessor (zero-copy Values() when it has no NULLs) and written
//     into a row-major float64 matrix. No value is boxed.
//   - Numeric means: every Arrow signed and unsigned integer type, float16,
//     float32, float64, decimal32/64/128/256 (converted with the column's
//     scale) and boolean (true = 1, false = 0). Any other type (string,
//     date, timestamp, ...) is rejected with an error wrapping
//     [ErrNonNumeric] that names the column.
//   - NULL becomes NaN. Throughout anomalydb's detector core NaN means
//     "missing".
//   - Labels (see [FeatureMatrix]) are 1 (anomaly), 0 (normal) or NaN
//     (NULL, unknown); any other value is an error wrapping [ErrBadLabel].
//   - Ownership: the conversion functions never retain or release the
//     record batches they are given; the caller owns them. Returned slices
//     are freshly allocated Go memory (or the caller's dst) and never alias
//     Arrow buffers.
package arrowio
