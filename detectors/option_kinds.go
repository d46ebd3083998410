package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
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

// GammaOption declares the width gamma of an RBF kernel
// exp(−gamma·‖a−b‖²): 'auto' (see Gamma) or a positive finite number.
func GammaOption(usage string) Option {
	return Option{Name: "gamma", Default: "auto", Usage: usage, Check: func(raw string) (string, error) {
		if strings.EqualFold(raw, "auto") {
			return "auto", nil
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("want 'auto' or a finite number")
		}
		if v <= 0 {
			return "", fmt.Errorf("must be > 0")
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}}
}

// Gamma returns the value of a GammaOption; 'auto' is 1/width, width being
// the dimension of the kernel's input (on standardized rows, this is
// scikit-learn's gamma 'scale').
func (o Options) Gamma(width int) float64 {
	if o.get("gamma") == "auto" {
		return 1 / float64(width)
	}
	return o.Float("gamma")
}

// DrawFourierFrequencies fills omega with the frequencies of random
// Fourier features (Rahimi & Recht 2007) of the RBF kernel
// exp(−gamma·‖a−b‖²): independent N(0, 2·gamma) draws, in index order.
func DrawFourierFrequencies(omega []float64, gamma float64, rng *rand.Rand) {
	sd := math.Sqrt(2 * gamma)
	for i := range omega {
		omega[i] = sd * rng.NormFloat64()
	}
}

// LayerListOption is an IntListOption that may also be empty: the
// widths of optional hidden layers (REPEN, RDP). Read it with LayerList.
func LayerListOption(name, def, usage string) Option {
	o := IntListOption(name, def, usage)
	check := o.Check
	o.Check = func(raw string) (string, error) {
		if raw == "" {
			return "", nil
		}
		return check(raw)
	}
	return o
}

// LayerList parses the value of a LayerListOption: nil when empty.
func LayerList(o Options, name string) []int {
	if o.get(name) == "" {
		return nil
	}
	return o.Ints(name)
}

// BoolOption declares an on/off option: true, false, 1 or 0 (MySQL's
// TRUE and FALSE are 1 and 0), case-insensitive, normalized to "true" or
// "false". Read it with Bool.
func BoolOption(name, def, usage string) Option {
	return Option{Name: name, Default: def, Usage: usage, Check: func(raw string) (string, error) {
		switch strings.ToLower(raw) {
		case "true", "1":
			return "true", nil
		case "false", "0":
			return "false", nil
		}
		return "", fmt.Errorf("want true or false (1 or 0)")
	}}
}

// Bool returns the value of a BoolOption.
func (o Options) Bool(name string) bool { return o.get(name) == "true" }
