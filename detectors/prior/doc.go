// Package prior holds the detectors of the survey's §6.2 (Pang et al.,
// "Deep Learning for Anomaly Detection: A Review", 2021), end-to-end
// anomaly score learning driven by a prior: a prior distribution of
// anomaly scores shapes the loss, so that the network's output is itself
// the anomaly score.
//
//   - devnet: deviation networks (Pang, Shen and van den Hengel, KDD
//     2019): a Gaussian prior gives a reference score, and the deviation
//     loss puts unlabelled rows near it and labelled anomalies a margin
//     above; scores are z-scores.
//
// Each registers with the detectors core from init.
package prior
