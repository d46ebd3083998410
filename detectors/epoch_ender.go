package detectors

import "github.com/anomalydb/anomalydb/arrowio"

// EpochEnder is implemented by algorithms that update state between
// epochs, outside the gradient step (e.g. the radius R of soft-boundary
// Deep SVDD or the offset r of OC-NN, both quantiles over the training
// rows). The template calls EndEpoch after every epoch's last optimizer
// step, before the validation loss (if any) is evaluated.
//
// x is the standardized training matrix (without the rows held out for
// validation) and labels its labels (nil without a label column); neither
// may be modified. epoch is the number of epochs completed (1 after the
// first) and epochs the number the run is configured for. EndEpoch may
// change any tensor of st in place, but must not add or remove tensors.
type EpochEnder interface {
	EndEpoch(st *State, x arrowio.Matrix, labels []float64, epoch, epochs int, opts Options) error
}
