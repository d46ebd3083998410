// Package selfsupervised holds the detectors of the survey's §5.1.4
// (Pang et al., "Deep Learning for Anomaly Detection: A Review", 2021),
// generic normality feature learning by self-supervised classification: a
// network learns to tell apart transformations of the normal rows, and a
// row whose transformations it cannot tell apart is anomalous.
//
//   - goad: classification-based anomaly detection for general data
//     (Bergman and Hoshen, ICLR 2020): random affine transformations, a
//     classifier with a centre triplet loss; score from the distances to
//     the transformations' centres.
//
// Each registers with the detectors core from init.
package selfsupervised
