// Package functions holds anomalydb's SQL functions, shaped like
// go-mysql-server's built-ins: one function per file, each a type with a
// constructor, registered from one list (All).
//
//   - anomaly_score('detector', f1, ..., fn) DOUBLE: the detector's score of
//     the row, higher = more anomalous.
//   - is_anomaly('detector', f1, ..., fn) BOOLEAN: 1 where the score exceeds
//     the detector's threshold, else 0.
//   - anomaly_explain('detector', [k,] f1, ..., fn) LONGTEXT: JSON of the
//     score and the features ranked by their contribution to it (the top
//     k with k).
//   - anomaly_percentile('detector', f1, ..., fn) DOUBLE: the fraction of
//     the detector's training rows scoring below the row, in [0, 1], from
//     the training-score distribution the detector keeps; non-decreasing
//     in the score.
//
// Feature arguments are taken in the detector's training order. A NULL
// feature is not an error: it is replaced by the training mean, exactly as
// in training, so the functions return a value for every row. A score is
// never NaN: a row too extreme to score in DOUBLE arithmetic (an infinite
// feature, a value 2^500 or more standard deviations from the training
// mean, or one that overflows the detector's network, such as
// anomaly_score('d', 1e308, -1e308)) scores the largest DOUBLE,
// 1.7976931348623157e308 (detectors.MaxScore), and is_anomaly gives 1 for
// it. A NULL detector name gives NULL. Non-numeric arguments, a wrong argument count
// and unknown detectors are MySQL errors. A row's score does not depend on
// the other rows of the query.
package functions
