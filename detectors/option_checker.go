package detectors

import "strings"

// OptionChecker is implemented by algorithms with constraints between
// options that per-option checks cannot express (e.g. deep_svdd's nu only
// applies to the soft-boundary objective). CheckOptions receives the
// normalized options and given, which reports whether the user set an
// option explicitly (names in lower case); it is called by Fit and
// ValidateOptions, not when a saved model is loaded. Errors should wrap
// ErrBadOption (or ErrUnknownOption for an option that does not apply).
type OptionChecker interface {
	CheckOptions(o Options, given func(name string) bool) error
}

// checkOptions runs a's OptionChecker, if any, over the options opts the
// user gave (raw names) and their normalized form o.
func checkOptions(a Algorithm, o Options, opts map[string]string) error {
	c, ok := a.(OptionChecker)
	if !ok {
		return nil
	}
	given := givenNames(opts)
	return c.CheckOptions(o, func(name string) bool { return given[name] })
}

// normalizeName is how option names are matched: trimmed, lower case.
func normalizeName(k string) string { return strings.ToLower(strings.TrimSpace(k)) }
