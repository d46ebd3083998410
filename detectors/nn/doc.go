// Package nn holds the network pieces the detector families share: the
// multilayer perceptron (MLP) as a gorgonia graph over a detectors.State
// and as a plain-Go kernel for scoring (MLPKernel), batch normalization,
// the autoencoder network of the autoencoder family and its scorer
// (AENet, ReconScorer), and Chain / Must for writing long graphs.
//
// Layering: nn imports the detectors core (State, Graph, Option and the
// gorgonia ops the core's graph executor runs: MatMul, LeakyRelu, the SPD
// and log-sum-exp ops); the core does not import nn, and the algorithm
// families import both. Graph and kernel of a layer compute the same
// function; the kernel's floating-point operations for a row do not
// depend on the batch it is scored in (the Scorer contract).
package nn
