package detectors

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEDefaults checks the README's table of algorithm options: every
// algorithm has a row, and every default it states is the algorithm's
// actual default (compared after the option's own normalization).
func TestREADMEDefaults(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| (.*`[a-z_]+` \\(.*)\\|\\s*$")
	// A default runs to ", ", ";", ")" or a space; "64,32" is one value.
	opt := regexp.MustCompile("`([a-z_]+)` \\(((?:[^,;) ]|,[^,;) ])+)")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		alg := m[1]
		a, _, err := lookup(alg)
		if err != nil {
			continue // another table
		}
		seen[alg] = true
		specs := optionSpecs(a)
		for _, o := range opt.FindAllStringSubmatch(m[2], -1) {
			name, stated := o[1], strings.Trim(o[2], "'")
			spec, ok := specs[name]
			if !ok {
				t.Errorf("README: %s has no option %s", alg, name)
				continue
			}
			norm, err := spec.Check(stated)
			if err != nil || norm != spec.Default {
				t.Errorf("README: %s %s default %q, the algorithm's is %q (%v)", alg, name, stated, spec.Default, err)
			}
		}
	}
	for _, alg := range Algorithms() {
		if !seen[alg] {
			t.Errorf("README: no options row for %s", alg)
		}
	}
}
