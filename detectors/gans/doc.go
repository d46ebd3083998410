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
//   - alad: ALAD (Zenati et al., ICDM 2018): a BiGAN with the cycle-
//     consistency discriminators D_xx and D_zz; the score is feature
//     matching on D_xx between (x, x) and (x, G(E(x))). Option cycle =
//     false gives the plain BiGAN (EGBAD, Zenati et al. 2018).
//
// Each registers with the detectors core from init.
package gans
