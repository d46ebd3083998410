// Package all registers every detector algorithm of anomalydb with the
// detectors core. Import it for its side effect, as database/sql drivers
// and image decoders are imported:
//
//	import _ "github.com/anomalydb/anomalydb/detectors/all"
//
// The engine, the SQL functions and the benchmark commands do; a program
// that wants only some families imports those family packages instead.
// The families follow the sections of Pang et al., "Deep Learning for
// Anomaly Detection: A Review" (ACM Computing Surveys, 2021):
//
//	detectors/extraction    §4     deep learning for feature extraction (ae_knn)
//	detectors/autoencoders  §5.1.1 autoencoders (autoencoder, vae, robust_autoencoder, randnet)
//	detectors/gans          §5.1.2 generative adversarial networks (ganomaly, anogan, fast_anogan)
//	detectors/predictability §5.1.3 predictability modelling (lstm_forecast, gru_forecast, deeplog)
//	detectors/selfsupervised §5.1.4 self-supervised classification (goad, neutral)
//	detectors/distance      §5.2.1 distance-based measures (repen, rdp)
//	detectors/oneclass      §5.2.2 one-class classification measures (deep_svdd, deep_sad, ocnn, ae_1svm)
//	detectors/clustering    §5.2.3 clustering-based measures (dagmm)
//	detectors/ranking       §6.1   ranking models (prenet, sdor, mil_ranking)
//	detectors/prior         §6.2   prior-driven models (devnet)
//	detectors/softmax       §6.3   softmax likelihood models (ape)
//	detectors/e2eoneclass   §6.4   end-to-end one-class classification (fence_gan, ocan, alocc)
package all

import (
	_ "github.com/anomalydb/anomalydb/detectors/autoencoders"
	_ "github.com/anomalydb/anomalydb/detectors/clustering"
	_ "github.com/anomalydb/anomalydb/detectors/distance"
	_ "github.com/anomalydb/anomalydb/detectors/e2eoneclass"
	_ "github.com/anomalydb/anomalydb/detectors/extraction"
	_ "github.com/anomalydb/anomalydb/detectors/gans"
	_ "github.com/anomalydb/anomalydb/detectors/oneclass"
	_ "github.com/anomalydb/anomalydb/detectors/predictability"
	_ "github.com/anomalydb/anomalydb/detectors/prior"
	_ "github.com/anomalydb/anomalydb/detectors/ranking"
	_ "github.com/anomalydb/anomalydb/detectors/selfsupervised"
	_ "github.com/anomalydb/anomalydb/detectors/softmax"
)
