package functions

// Every detector algorithm registers with the detectors core from its
// family package; this import makes them all available to CREATE DETECTOR
// ... USING name (see package detectors/all).
import _ "github.com/anomalydb/anomalydb/detectors/all"
