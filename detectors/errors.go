package detectors

import (
	"errors"

	"github.com/anomalydb/anomalydb/arrowio"
)

// Sentinel errors. Every error returned by this package for a data or
// option problem wraps one of these (fmt.Errorf("%w: ...")), so callers
// test them with errors.Is and never match on text.
var (
	// ErrUnknownAlgorithm: the algorithm name is not registered.
	ErrUnknownAlgorithm = errors.New("unknown detector algorithm")
	// ErrUnknownOption: an option the algorithm does not accept.
	ErrUnknownOption = errors.New("unknown detector option")
	// ErrBadOption: an option value that does not parse or is out of range.
	ErrBadOption = errors.New("bad detector option value")
	// ErrNoRows: the training data has no rows.
	ErrNoRows = errors.New("detector training data has no rows")
	// ErrNonNumeric: a feature column is not of a numeric type.
	ErrNonNumeric = arrowio.ErrNonNumeric
	// ErrBadLabel: a label value other than 0, 1 or NULL.
	ErrBadLabel = arrowio.ErrBadLabel
	// ErrFeatureCount: a row or batch to score does not have exactly the
	// model's number of features, or TrainingData names no features.
	ErrFeatureCount = errors.New("wrong number of detector features")
	// ErrDiverged: training produced a non-finite loss or score (for
	// example a learning rate far too large).
	ErrDiverged = errors.New("detector training diverged")
	// ErrCollapsed: an adversarial training collapsed in a way its
	// algorithm detects (for example a generator that maps every row to
	// the same output), see Adversary.
	ErrCollapsed = errors.New("detector training collapsed")
	// ErrBadModel: UnmarshalModel was given bytes that are not a valid
	// serialized model of a known format version.
	ErrBadModel = errors.New("malformed detector model")
	// ErrTooLarge: the model the options ask for exceeds the Limits of
	// Fit (parameters or estimated working memory, see limits.go).
	ErrTooLarge = errors.New("detector model too large")
	// ErrNoLabelledAnomaly: an algorithm that requires labels (see
	// UsesLabels) was trained without any row labelled 1.
	ErrNoLabelledAnomaly = errors.New("detector training data has no labelled anomaly")
	// ErrNoScoreDistribution: a model saved before training-score
	// distributions were kept was asked for a percentile or a threshold
	// from a contamination (score_distribution.go).
	ErrNoScoreDistribution = errors.New("detector has no training-score distribution")
	// ErrSingleValue: a string feature (categorical, encoding.go) has
	// the same value, or NULL, on every training row: it can tell no row
	// from another, which is more likely a mistake in the training SELECT
	// than intended.
	ErrSingleValue = errors.New("a string feature has a single value in the training data")
	// ErrNotCategorical: an algorithm that models categorical values only
	// (ape) was given a numeric, boolean or time feature it was not told
	// how to bucket.
	ErrNotCategorical = errors.New("the detector needs categorical (string) features")
	// ErrOneClass: an evaluation against labels (Evaluate) whose labelled
	// rows are all anomalies or all normal, or that has none.
	ErrOneClass = errors.New("evaluation needs rows labelled 1 and rows labelled 0")
	// ErrBadBag: bags of rows (TrainingData.Bags, bags.go) that a
	// multiple-instance algorithm cannot train on: a NULL bag or label,
	// a bag whose rows have different labels, no normal bag, or more
	// rows than max_train_rows.
	ErrBadBag = errors.New("bad bags of training rows")
	// ErrSequenceModel: a row-at-a-time entry point (ScoreRow,
	// ScoreBatch, ScoreMatrix, Explain) was called on a sequence model
	// (sequence.go), whose score of a row depends on the rows before it:
	// score it with ScoreSequence (SQL: anomaly_score(...) OVER (...) or
	// detect_anomalies).
	ErrSequenceModel = errors.New("a sequence detector scores ordered rows")
	// ErrNoKey: a key algorithm (deeplog) without its key column, or
	// whose key is not its only feature.
	ErrNoKey = errors.New("detector needs a key column")
	// ErrWindowTooLong: no partition of the training rows has a row with
	// a full window (every partition has at most window+horizon-1 rows).
	ErrWindowTooLong = errors.New("detector window longer than every partition")
)
