package detectors

import (
	"fmt"
	"strings"
)

// EnumOption declares an option whose value is one of values (matched
// case-insensitively, normalized to the spelling in values).
func EnumOption(name, def, usage string, values ...string) Option {
	return Option{Name: name, Default: def, Usage: usage, Check: func(raw string) (string, error) {
		for _, v := range values {
			if strings.EqualFold(raw, v) {
				return v, nil
			}
		}
		return "", fmt.Errorf("want one of '%s'", strings.Join(values, "', '"))
	}}
}

// FractionOption declares a float option in (0, 1], such as the nu of
// one-class objectives.
func FractionOption(name, def, usage string) Option {
	return FloatOption(name, def, usage, func(v float64) bool { return v > 0 && v <= 1 }, "in (0, 1]")
}
