// Package oneclass holds the detectors of the survey's §5.2.2 (Pang et
// al., "Deep Learning for Anomaly Detection: A Review", 2021), anomaly
// measure-dependent feature learning for one-class classification
// measures: the representation is learned for a one-class description of
// the normal data, and the score is the row's place relative to it.
//
//   - deep_svdd: the smallest hypersphere around the representations
//     (Ruff et al., ICML 2018).
//   - deep_sad: Deep SVDD with labelled anomalies pushed away from the
//     center (Ruff et al., ICLR 2020).
//   - ocnn: the one-class neural network (Chalapathy et al., 2018).
//   - ae_1svm: an autoencoder and a one-class SVM on random Fourier
//     features of its code, trained jointly (Nguyen & Vien, ECML PKDD
//     2018).
//
// Each registers with the detectors core from init.
package oneclass
