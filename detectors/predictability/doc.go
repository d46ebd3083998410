// Package predictability holds the detectors of the survey's §5.1.3
// (Pang et al., "Deep Learning for Anomaly Detection: A Review", 2021),
// predictability modelling: a network learns to predict a row from the
// rows before it in its partition, and a row is anomalous to the extent
// it was not predictable. They are sequence detectors (detectors/
// sequence.go): trained with detectors.FitSequence on ordered,
// partitioned rows, scored with Model.ScoreSequence; a row's score
// depends only on its window.
//
//   - lstm_forecast, gru_forecast (forecast.go): an LSTM or GRU reads the
//     window and predicts the row's numeric (encoded) features; the score
//     is the prediction error standardized per feature on the training
//     residuals (Malhotra et al., "Long Short Term Memory Networks for
//     Anomaly Detection in Time Series", ESANN 2015).
//   - deeplog (deeplog.go): Du, Li, Zheng and Srikumar, "DeepLog: Anomaly
//     Detection and Diagnosis from System Logs through Deep Learning"
//     (CCS 2017), an LSTM over a categorical key column (log template
//     ids) predicting the next key's distribution; a step is anomalous if
//     its key is not among the top g predicted, its score is the key's
//     negative log-probability. It belongs here, not with the softmax
//     likelihood models of §6.3, because its anomaly measure is the
//     predictability of a step from the steps before it: the softmax is
//     only the form of its prediction, and the survey itself files
//     DeepLog's kind of model under predictability modelling.
//
// The recurrent cells are detectors/nn's Recurrent (a gorgonia graph
// unrolled over the window for training by the shared template, a plain-Go
// kernel for scoring). Each algorithm registers with the core from init.
package predictability
