// Package softmax holds the detectors of the survey's §6.3 (Pang et al.,
// "Deep Learning for Anomaly Detection: A Review", 2021), end-to-end
// anomaly score learning by softmax likelihood: the probability of a row
// (an event) under a log-linear model of its values, learnt without
// computing the model's partition function, and the row's negative
// log-likelihood as its anomaly score.
//
//   - ape: Chen, Tang, Sun, Chen and Zhang, "Entity Embedding-based
//     Anomaly Detection for Heterogeneous Categorical Events" (IJCAI
//     2016): one embedding per categorical value (entity), weighted
//     pairwise interactions between columns, noise-contrastive estimation
//     with context-dependent noise.
//
// Each registers with the detectors core from init.
package softmax
