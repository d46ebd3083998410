// Package autoencoders holds the detectors of the survey's §5.1.1
// (Pang et al., "Deep Learning for Anomaly Detection: A Review", 2021),
// generic normality feature learning with autoencoders: a row is scored
// by how badly a network trained to reconstruct the data reconstructs it.
//
//   - autoencoder: the replicator network (Hawkins et al., DaWaK 2002),
//     with denoising (Vincent et al., ICML 2008), sparsity and dropout.
//   - vae: the variational autoencoder's reconstruction probability
//     (An & Cho, 2015).
//   - robust_autoencoder: X = L_D + S (Zhou & Paffenroth, KDD 2017).
//   - randnet: an ensemble of autoencoders with randomly dropped
//     connections (Chen et al., SDM 2017).
//
// Each registers with the detectors core from init; the network pieces
// they share are in package nn (AENet).
package autoencoders
