package detectors

// MinStepper is implemented by algorithms whose training needs some
// number of optimizer steps however few the training rows are: a GAN's
// game, say, whose reference runs all take thousands of mini-batches,
// where a table of a few hundred rows gives a few per epoch. MinSteps
// returns that number for options o (0 or less: no floor).
//
// An epoch of such an algorithm takes max(⌊rows/batch_size⌋,
// ⌈MinSteps/epochs⌉) mini-batches: when it has used every row it starts
// another pass over them, reshuffled, as a new epoch does (the rows left
// over by a pass, fewer than a mini-batch, are not used in it, as at the
// end of every epoch). The epochs themselves, and so what is done at
// their ends (EpochEnder, Averaging, validation, the training log), are
// the epochs option's. A training with enough rows runs as without the
// floor, bit for bit. It does not apply to a BatchSampler, whose Batches
// give the mini-batches per epoch.
type MinStepper interface {
	MinSteps(o Options) int
}

// minStepsPerEpoch returns the mini-batches per epoch of alg's training
// with options o: pass (⌊rows/batch_size⌋) raised to MinStepper's floor
// over epochs epochs.
func minStepsPerEpoch(alg Grapher, o Options, pass, epochs int) int {
	m, ok := alg.(MinStepper)
	if !ok || epochs < 1 || pass < 1 {
		return pass
	}
	return max(pass, (m.MinSteps(o)+epochs-1)/epochs)
}
