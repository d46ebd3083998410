package detectors_test

// The tests of this package, internal and external alike, run over the
// algorithms of every family: importing detectors/all here registers them
// in the package under test (the families are rebuilt against it), so
// Fit, Algorithms and the conformance test see all of them, as the engine
// does.
import _ "github.com/anomalydb/anomalydb/detectors/all"
