package engine

import (
	"github.com/anomalydb/anomalydb/detectors"
)

// checkBagOption refuses, with error 1210, WITH (bag = 'col') for an
// algorithm that does not learn from bags of rows (detectors.UsesBags):
// only multiple-instance algorithms (mil_ranking) group the training rows
// by a bag column. The column itself is looked up in the training SELECT
// by runTrainingQuery (error 1054 if it is not there), and is neither a
// feature nor the label.
func checkBagOption(algorithm, bag string) error {
	if bag == "" {
		return nil
	}
	uses, err := detectors.UsesBags(algorithm)
	if err != nil || uses {
		return nil // an unknown algorithm was reported by ValidateOptions
	}
	var users []string
	for _, a := range detectors.Algorithms() {
		if u, _ := detectors.UsesBags(a); u {
			users = append(users, a)
		}
	}
	return errWrongArguments("CREATE DETECTOR: option bag is not used by %s (it groups the training rows into bags for %v)", algorithm, users)
}
