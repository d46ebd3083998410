// Package gans holds the detectors of the survey's §5.1.2 (Pang et al.,
// "Deep Learning for Anomaly Detection: A Review", 2021), generic
// normality feature learning with generative adversarial networks: a
// generator learns the distribution of the normal rows against a
// discriminator, and a row is scored by how poorly the generator's
// latent space or reconstruction accounts for it. They train with the
// core's adversarial template (detectors.Adversary: one Adam per player,
// discriminator then generator on every mini-batch).
//
//   - ganomaly: GANomaly (Akcay et al., ACCV 2018): an encoder–decoder–
//     encoder generator; the score is the distance between a row's code
//     and its reconstruction's code.
//
// Each registers with the detectors core from init.
package gans
