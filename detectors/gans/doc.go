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
//   - anogan: AnoGAN (Schlegl et al., IPMI 2017): a GAN, then a per-row
//     search of the generator's latent space; the score is the search's
//     residual and discrimination loss.
//   - fast_anogan: f-AnoGAN (Schlegl et al., Medical Image Analysis
//     2019): a WGAN-GP, then an encoder trained to invert its generator;
//     the score is the izi_f residual, in one pass.
//
// gan_nets.go holds the plain GAN (generator, discriminator features)
// the two AnoGANs share.
//   - alad: ALAD (Zenati et al., ICDM 2018): a BiGAN with the cycle-
//     consistency discriminators D_xx and D_zz; the score is feature
//     matching on D_xx between (x, x) and (x, G(E(x))). Option cycle =
//     false gives the plain BiGAN (EGBAD, Zenati et al. 2018).
//
// Each registers with the detectors core from init.
package gans
