// Package e2eoneclass holds the detectors of the survey's §6.4 (Pang et
// al., "Deep Learning for Anomaly Detection: A Review", 2021), end-to-end
// one-class classification: a network is trained adversarially to tell
// the normal rows from generated ones that stand for everything else,
// and that network, the discriminator, is itself the detector. They
// train with the core's adversarial template (detectors.Adversary: one
// Adam per player, discriminator then generator on every mini-batch) and
// keep only the discriminator.
//
//   - fence_gan: Fence GAN (Ngo et al., "Fence GAN: Towards Better
//     Anomaly Detection", ICTAI 2019): the generator's encirclement and
//     dispersion losses put its rows on the boundary of the data.
//   - ocan: one-class adversarial nets (Zheng et al., "One-Class
//     Adversarial Nets for Fraud Detection", AAAI 2019): a complementary
//     generator puts its rows in the low-density regions of the data.
//   - alocc: the adversarially learned one-class classifier (Sabokrou,
//     Khalooei, Fathy and Adeli, "Adversarially Learned One-Class
//     Classifier for Novelty Detection", CVPR 2018): a denoising
//     autoencoder, the refiner, against a discriminator that judges the
//     refined row; unlike the others it keeps the refiner too, since its
//     score runs the row through it.
//
// Each registers with the detectors core from init.
package e2eoneclass
