// Package clustering holds the detectors of the survey's §5.2.3 (Pang et
// al., "Deep Learning for Anomaly Detection: A Review", 2021), anomaly
// measure-dependent feature learning for clustering-based measures: the
// representation is learned together with a clustering, and a row is
// scored by how poorly it belongs to any cluster.
//
//   - dagmm: the deep autoencoding Gaussian mixture model (Zong et al.,
//     ICLR 2018): the code and reconstruction features of an autoencoder,
//     scored by their energy under a Gaussian mixture.
//
// Each registers with the detectors core from init.
package clustering
