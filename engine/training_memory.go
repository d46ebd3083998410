package engine

import "github.com/anomalydb/anomalydb/detectors"

// minTrainingMemory is the smallest --max-training-memory.
const minTrainingMemory = 16 << 20

// DefaultMaxTrainingMemory is the default bound of a training's estimated
// working memory: a quarter of the machine's physical memory, or
// detectors.DefaultLimits' 2 GiB where that is unknown.
func DefaultMaxTrainingMemory() int64 {
	if m := physicalMemory(); m > 0 {
		return max(m/4, minTrainingMemory)
	}
	return detectors.DefaultLimits.MaxBytes
}

// trainingLimits are the limits of every training: the parameter bound
// of detectors.DefaultLimits and maxBytes of estimated working memory (0:
// DefaultMaxTrainingMemory). A CREATE DETECTOR whose estimate exceeds them
// is refused with 1210 before training.
func trainingLimits(maxBytes int64) detectors.Limits {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxTrainingMemory()
	}
	return detectors.Limits{MaxParams: detectors.DefaultLimits.MaxParams, MaxBytes: maxBytes}
}
