// Package ranking holds the detectors of the survey's §6.1 (Pang et al.,
// "Deep Learning for Anomaly Detection: A Review", 2021), end-to-end
// anomaly score learning by ranking models: a network learns to order
// rows by how anomalous they are, from a few labelled anomalies or from
// pseudo-labels, and its output is the score.
//
//   - prenet: pairwise relation prediction (Pang et al., "Deep
//     Weakly-supervised Anomaly Detection", KDD 2023): ordinal regression
//     on pairs of labelled anomalies and unlabelled rows.
//   - sdor: self-trained deep ordinal regression (Pang et al., CVPR
//     2020): pseudo-labels from LeSiNN, refined by the network's own
//     scores over self-training iterations.
//   - mil_ranking: deep multiple-instance ranking (Sultani, Chen, Shah,
//     "Real-world Anomaly Detection in Surveillance Videos", CVPR 2018):
//     bags of rows with bag-level labels (WITH (bag = 'col')); the
//     highest score of an anomalous bag is ranked above the highest score
//     of a normal bag, with sparsity and temporal smoothness terms over
//     the ordered rows of the anomalous bags; scores per row.
//
// Each registers with the detectors core from init.
package ranking
