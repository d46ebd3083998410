package detectors

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Option declares one option a detector accepts in CREATE DETECTOR ...
// WITH (name = value, ...).
type Option struct {
	// Name is the lower-case option name.
	Name string
	// Default is the normalized value used when the option is not given.
	Default string
	// Usage is a one-line description for documentation and SHOW output.
	Usage string
	// Check validates a raw value and returns its normalized form. Errors
	// it returns are wrapped in ErrBadOption by the caller.
	Check func(raw string) (string, error)
}

// IntOption declares an integer option whose value must be in [min, max].
// Every option that sizes memory or work (widths, counts, epochs) has a
// finite max, so that one value typed in SQL cannot exhaust the server;
// the model as a whole is bounded by Limits (limits.go).
func IntOption(name, def, usage string, min, max int64) Option {
	return Option{Name: name, Default: def, Usage: usage, Check: func(raw string) (string, error) {
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return "", fmt.Errorf("not an integer in [%d, %d]", min, max)
		}
		if v < min || v > max {
			return "", fmt.Errorf("must be in [%d, %d]", min, max)
		}
		return strconv.FormatInt(v, 10), nil
	}}
}

// FloatOption declares a float option; ok reports whether a finite value is
// in range and want describes the range for error messages.
func FloatOption(name, def, usage string, ok func(float64) bool, want string) Option {
	return Option{Name: name, Default: def, Usage: usage, Check: func(raw string) (string, error) {
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("not a finite number")
		}
		if !ok(v) {
			return "", fmt.Errorf("must be %s", want)
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}}
}

// MaxLayerWidth bounds each entry of an IntListOption and maxLayers its
// length, so that a typo in SQL cannot allocate gigabytes; the model's
// total size is bounded by Limits (limits.go) on top of that.
const (
	MaxLayerWidth = 4096
	maxLayers     = 32
)

// IntListOption declares a non-empty comma-separated list of at most
// maxLayers (32) integers in [1, MaxLayerWidth] (4096), such as layer
// widths '64,32'.
func IntListOption(name, def, usage string) Option {
	return Option{Name: name, Default: def, Usage: usage, Check: func(raw string) (string, error) {
		v, err := parseIntList(raw)
		if err != nil {
			return "", err
		}
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.Itoa(x)
		}
		return strings.Join(parts, ","), nil
	}}
}

func parseIntList(raw string) ([]int, error) {
	fields := strings.Split(raw, ",")
	if len(fields) > maxLayers {
		return nil, fmt.Errorf("at most %d entries", maxLayers)
	}
	v := make([]int, 0, len(fields))
	for _, f := range fields {
		x, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("want comma-separated positive integers")
		}
		if x < 1 || x > MaxLayerWidth {
			return nil, fmt.Errorf("each entry must be in [1, %d]", MaxLayerWidth)
		}
		v = append(v, x)
	}
	return v, nil
}

// commonOptions are accepted by every algorithm. An algorithm's Options
// entry with the same name replaces the common one (to change a default).
var commonOptions = []Option{
	IntOption("epochs", "50", "passes over the training data", 1, MaxEpochs),
	IntOption("batch_size", "128", "rows per mini-batch (capped at the number of training rows)", 1, maxBatchSize),
	FloatOption("lr", "0.001", "Adam learning rate", func(v float64) bool { return v > 0 }, "> 0"),
	FloatOption("weight_decay", "0", "L2 penalty on weights (Adam weight decay)", func(v float64) bool { return v >= 0 }, ">= 0"),
	IntOption("seed", "0", "seed of every random choice (init, shuffling, noise)", math.MinInt64, math.MaxInt64),
	FloatOption("contamination", "0.1", "expected anomaly fraction; sets the threshold", func(v float64) bool { return v > 0 && v < 0.5 }, "in (0, 0.5)"),
	IntListOption("hidden", "64,32", "layer widths of the network"),
	FloatOption("validation", "0", "fraction of training rows held out for early stopping (0 = off)", func(v float64) bool { return v >= 0 && v < 0.5 }, "in [0, 0.5)"),
	IntOption("patience", "5", "with validation: epochs without improvement of the held-out loss before stopping", 1, MaxEpochs),
	IntOption("max_train_rows", strconv.Itoa(DefaultMaxTrainRows), "most rows trained on: a seeded sample of a larger training query (statistics use every row; row_sampler.go)", 1, maxTrainRows),
	// The encoding of non-numeric features (encoding.go).
	IntOption("max_categories", strconv.Itoa(DefaultMaxCategories), "categorical columns: one-hot positions for this many most frequent training values, plus other and unseen", 1, MaxMaxCategories),
	BoolOption("missing_indicator", "false", "numeric, boolean and time columns: add a 0/1 column that is 1 for NULL"),
	BoolOption("time_cycles", "false", "date and time columns: add sin/cos of the hour of day and of the day of week"),
	// Learned embeddings of categorical columns (input_embedding.go).
	EnumOption("categorical", "onehot", "categorical columns: one-hot positions, or an embedding learned with the detector's loss", "onehot", "embedding"),
	IntOption("embedding_dim", "0", "with categorical = 'embedding': values per category (0: round(1.6·(n+1)^0.56) for n kept values; at most n − 1, at least 1)", 0, 1024),
	IntOption("embedding_epochs", "10", "with categorical = 'embedding': epochs of the stage that trains the embeddings", 1, MaxEpochs),
}

// encodingOptions returns the options of the encoding stage.
func encodingOptions(o Options) EncodingOptions {
	return EncodingOptions{MaxCategories: o.Int("max_categories"), MissingIndicator: o.Bool("missing_indicator"), Cyclic: o.Bool("time_cycles")}
}

// WithDefault returns the common option name with another default value.
// It panics if name is not a common option or def is not valid for it.
func WithDefault(name, def string) Option {
	for _, o := range commonOptions {
		if o.Name == name {
			norm, err := o.Check(def)
			if err != nil || norm != def {
				panic(fmt.Sprintf("detectors: default %q for %s is not normalized", def, name))
			}
			o.Default = def
			return o
		}
	}
	panic("detectors: withDefault: no common option " + name)
}

// Options holds normalized option values, every declared option present
// (defaults filled in). Algorithms read them with the typed accessors,
// which panic if the option was not declared (a programming error).
type Options map[string]string

// Int returns an integer option.
func (o Options) Int(name string) int { return int(o.Int64(name)) }

// Int64 returns an integer option as int64.
func (o Options) Int64(name string) int64 {
	v, err := strconv.ParseInt(o.get(name), 10, 64)
	if err != nil {
		panic(fmt.Sprintf("detectors: option %q is not an integer", name))
	}
	return v
}

// Float returns a float option.
func (o Options) Float(name string) float64 {
	v, err := strconv.ParseFloat(o.get(name), 64)
	if err != nil {
		panic(fmt.Sprintf("detectors: option %q is not a number", name))
	}
	return v
}

// Ints returns an integer-list option.
func (o Options) Ints(name string) []int {
	v, err := parseIntList(o.get(name))
	if err != nil {
		panic(fmt.Sprintf("detectors: option %q is not an integer list", name))
	}
	return v
}

func (o Options) get(name string) string {
	v, ok := o[name]
	if !ok {
		panic(fmt.Sprintf("detectors: option %q not declared", name))
	}
	return v
}

// optionSpecs returns the options algorithm a accepts, by name.
func optionSpecs(a Algorithm) map[string]Option {
	specs := make(map[string]Option, len(commonOptions)+4)
	for _, o := range commonOptions {
		specs[o.Name] = o
	}
	for _, o := range a.Options() {
		specs[o.Name] = o
	}
	return specs
}

// normalizeOptions validates opts for algorithm a and returns the complete
// normalized set. Names are matched case-insensitively; values are trimmed.
func normalizeOptions(name string, a Algorithm, opts map[string]string) (Options, error) {
	specs := optionSpecs(a)
	out := make(Options, len(specs))
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the first bad option deterministically
	for _, k := range keys {
		key := normalizeName(k)
		spec, ok := specs[key]
		if !ok {
			return nil, fmt.Errorf("%w: %q for algorithm %s (accepted: %s)", ErrUnknownOption, k, name, strings.Join(sortedKeys(specs), ", "))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: %q given twice", ErrBadOption, key)
		}
		v, err := spec.Check(strings.TrimSpace(opts[k]))
		if err != nil {
			return nil, fmt.Errorf("%w: %s = %q: %v", ErrBadOption, key, opts[k], err)
		}
		out[key] = v
	}
	for key, spec := range specs {
		if _, ok := out[key]; !ok {
			out[key] = spec.Default
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidateOptions reports whether opts are valid for algorithm: the
// algorithm is registered (else ErrUnknownAlgorithm), every option is
// accepted (else ErrUnknownOption), every value parses and is in range
// (else ErrBadOption) and the model fits DefaultLimits for the smallest
// data, one row of one feature (else ErrTooLarge; Fit checks the real
// shape). The label option is not passed here; the SQL layer strips it.
func ValidateOptions(algorithm string, opts map[string]string) error {
	a, name, o, err := resolve(algorithm, opts)
	if err != nil {
		return err
	}
	return checkFootprint(name, a, o, givenNames(opts), shapeFor(1, 1, o), DefaultLimits)
}

// givenNames returns the normalized names of the options in opts.
func givenNames(opts map[string]string) map[string]bool {
	given := make(map[string]bool, len(opts))
	for k := range opts {
		given[normalizeName(k)] = true
	}
	return given
}

// resolve looks algorithm up and returns it with its canonical name and
// the complete, normalized and cross-checked options (ValidateOptions).
func resolve(algorithm string, opts map[string]string) (Algorithm, string, Options, error) {
	a, name, err := lookup(algorithm)
	if err != nil {
		return nil, "", nil, err
	}
	o, err := normalizeOptions(name, a, opts)
	if err != nil {
		return nil, "", nil, err
	}
	if err := checkOptions(a, o, opts); err != nil {
		return nil, "", nil, err
	}
	if err := checkEmbedding(name, a, o); err != nil { // input_embedding.go
		return nil, "", nil, err
	}
	return a, name, o, nil
}

// OptionDefaults returns the options algorithm accepts with their
// normalized default values.
func OptionDefaults(algorithm string) (map[string]string, error) {
	a, name, err := lookup(algorithm)
	if err != nil {
		return nil, err
	}
	o, err := normalizeOptions(name, a, nil)
	return map[string]string(o), err
}
