// Package extraction holds the detectors of the survey's §4 (Pang et al.,
// "Deep Learning for Anomaly Detection: A Review", 2021), deep learning
// for feature extraction: a network learns a representation without
// regard to anomaly scoring, and a classical detector scores rows in it.
//
//   - ae_knn: the code of an autoencoder (package autoencoders) and the
//     k-NN distance detector (Ramaswamy et al., SIGMOD 2000; the mean of
//     the k distances, Angiulli & Pizzuti, PKDD 2002).
//
// Each registers with the detectors core from init.
package extraction
