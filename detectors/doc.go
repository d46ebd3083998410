// Package detectors is anomalydb's deep anomaly detection core: it trains
// detectors over Arrow record batches and scores rows with them. It knows
// nothing about SQL.
//
// # Layering
//
//	engine/, functions/ (SQL)  →  Fit, Model, ValidateOptions, Algorithms
//	                           →  Algorithm (one file per algorithm, registered by name from init
//	                                 of its family package; detectors/all imports every family):
//	                                extraction/   §4     ae_knn
//	                                autoencoders/ §5.1.1 autoencoder, vae, robust_autoencoder, randnet
//	                                predictability/ §5.1.3 lstm_forecast, gru_forecast, deeplog (sequence detectors)
//	                                distance/     §5.2.1 repen, rdp
//	                                oneclass/     §5.2.2 deep_svdd, deep_sad, ocnn, ae_1svm
//	                                clustering/   §5.2.3 dagmm
//	                                softmax/      §6.3   ape (categorical events)
//	                           →  nn/ (network pieces the families share; imports this core):
//	                                mlp.go, batch_norm.go, autoencoder.go (AENet), chain.go,
//	                                recurrent.go (LSTM and GRU stacks unrolled over a window)
//	                           →  shared parts, written once:
//	                                options.go    option parsing and defaults
//	                                limits.go     option bounds and model size (Limits)
//	                                encoding.go   mixed-type features: per column numeric, boolean, time (seconds,
//	                                              optional cycles), categorical (one-hot + other + unseen), fitted
//	                                              on every row read (encoding_fit.go) and frozen in the model
//	                                preprocess.go z-score standardisation, NULL → mean, extreme values
//	                                row_sampler.go training rows streamed: statistics of all, a seeded sample of max_train_rows
//	                                sequence.go   ordered rows: a SequenceAlgorithm scores a row from its window (the rows
//	                                              before it in its partition); FitSequence trains the template on windows,
//	                                              ScoreSequence scores partitions (whole or in chunks, bit-identically)
//	                                train.go      the training template (gorgonia graphs run by program.go, Adam in adam.go)
//	                                adversary.go  adversarial training in the same template: an Adversary's players,
//	                                              each its objective, tensors and Adam, step in turn on every mini-batch
//	                                              (and, optionally, weights averaged over the last epochs)
//	                                threshold.go  contamination → threshold
//	                                score_distribution.go training-score distribution: Percentile, WithContamination, WithThreshold
//	                                ops.go, matmul_op.go, gmm_ops.go gorgonia ops the executor runs
//	                                internal/kernel plain-Go and AVX2 scoring kernels
//	                                model.go      scoring (ScoreRow, ScoreBatch, ScoreMatrix)
//	                                explain.go    per-feature contributions to a score (Explain)
//	                                persist.go    MarshalBinary / UnmarshalModel
//	                                recipe.go     what the caller made a model from (Recipe), recorded training losses
//	                                training_log.go the training's log, epoch by epoch (TrainingLog, TrainingData.OnEpoch)
//	                                bags.go       bags of rows for multiple-instance algorithms (TrainingData.Bags,
//	                                              BagUser): one label per bag, whole bags, Trainer.Bags
//
// # Contract
//
//   - Scores: higher means more anomalous. Model.Threshold is the
//     (1-contamination) quantile of the training rows' scores and
//     Model.IsAnomaly(s) is s > Threshold. A model keeps the distribution
//     of its training scores (at most MaxDistributionPoints sorted values),
//     from which Percentile reads a score as the fraction of training rows
//     below it and WithContamination / WithThreshold derive a model with
//     another threshold, without retraining.
//   - Scores are never NaN or infinite. A row that cannot be scored in
//     float64 arithmetic (a ±Inf feature, a feature 2^500 or more standard
//     deviations from its training mean, or a network computation that
//     overflows to NaN or ±Inf) scores MaxScore, the largest finite
//     float64, which is above every Threshold: the most extreme rows are
//     always anomalies. The rule is applied once, in model.go, for every
//     algorithm and scoring path.
//   - Missing values: NULL is NaN in every float64 slice of this package.
//     Preprocessing replaces NaN by the training mean, i.e. 0 after
//     standardisation; an explicit ±Inf is extreme, not missing (above).
//     In training, NaN and extreme values are imputed as the mean.
//     Constant columns get standard deviation 1. A string feature's
//     NULL is a category of its own (encoding.go), never NaN.
//   - Raw and encoded rows: the scoring entry points take raw rows, one
//     value per feature (a string feature's category code from
//     Encoding.Code, a time feature's seconds since the epoch); a model
//     with an Encoding expands them to Encoding.Width() columns before
//     standardising. Algorithms only ever see encoded, standardised rows.
//   - Ownership: record batches passed to Fit, RowSampler.Add and
//     ScoreBatch belong to the caller; this package neither retains nor
//     releases them.
//   - Determinism: every random choice (initialisation, shuffling, noise)
//     comes from the seed option (default 0) through a per-run generator;
//     there is no global random state. The same algorithm, options and
//     data give bit-identical models, thresholds and scores, whatever
//     GOMAXPROCS is.
//   - Batch independence: a row's score is bit-identical whether it is
//     scored alone (ScoreRow) or at any position of any batch (ScoreBatch,
//     ScoreMatrix), and after a MarshalBinary / UnmarshalModel round trip.
//     Scoring is plain Go (with bit-identical AVX2 kernels, see
//     internal/kernel) over the trained weights, one row at a time.
//   - Errors: data and option problems are returned as errors wrapping the
//     sentinels in errors.go (test with errors.Is); programming errors
//     (e.g. a duplicate Register) panic.
//   - Concurrency: a *Model is safe for concurrent use. ScoreBatch and
//     ScoreMatrix split large inputs over GOMAXPROCS goroutines. A panic
//     in a goroutine of this package is raised again, as a *WorkerPanic,
//     in the goroutine that called (worker_panic.go).
//
// # Options
//
// Every algorithm accepts epochs, batch_size, lr, weight_decay, seed,
// contamination, hidden (comma-separated layer widths), validation and
// patience (early stopping on held-out rows, see validation.go), and
// max_train_rows (training on a seeded sample of at most that many rows,
// with preprocessing statistics of every row, see row_sampler.go); an algorithm
// may add options or change defaults (OptionDefaults lists them). Names
// are case-insensitive. The label column is not an option here: the SQL
// layer passes it as TrainingData.Label.
//
// Every integer option that sizes memory or work has an upper bound, and
// Fit refuses, before allocating, a model whose Footprint (parameters and
// estimated working memory for the data's shape) exceeds its Limits
// (ErrTooLarge; DefaultLimits: 50 million parameters, 2 GiB); see
// limits.go.
//
// # Adding an algorithm
//
// Write one file, in the folder of its family in the survey's taxonomy
// (detectors/<family>, imported by detectors/all), that defines a type
// implementing Algorithm (its network as state tensors, its loss for a
// mini-batch as a gorgonia graph, its score for a row in plain Go,
// usually from nn.MLP, and its Footprint, the size estimate Limits are
// checked against) and registers it in init:
//
//	func init() { detectors.Register("my_algo", myAlgo{}) }
//
// Optional Preparer and Finisher hooks compute state from the training
// data before and after training, ColumnIniter replaces Init for an
// algorithm that needs to know which encoded positions form each user
// column (column_spans.go; APE's entities), EpochEnder between epochs, Pretrainer
// trains another objective first (autoencoder pretraining); LabelUser
// declares the use of labels (UsesLabels: weakly supervised algorithms
// fail with ErrNoLabelledAnomaly without a row labelled 1) and
// OptionChecker constraints between options; a BatchSampler draws its own mini-batches (REPEN's
// triplets); a MinStepper sets a floor on the mini-batches of a training,
// which a small table reaches by passing over its rows more than once an
// epoch (min_steps.go; fence_gan); a BagUser learns from bags of rows (TrainingData.Bags, read
// by its Driver through Trainer.Bags: mil_ranking). An Adversary (GANs) trains several players instead of one
// objective: each minimizes its own graph over the tensors it names,
// with its own Adam, in turn on every mini-batch (discriminator, then
// generator); a NaN loss of any of them is ErrDiverged, a collapse the
// algorithm detects ErrCollapsed. A player may keep, as the model, its
// weights averaged over the last epochs (Player.Average, Averaging). A Scorer may implement Explainer when its score decomposes
// over features (reconstruction errors, autoencoders/explain_recon.go); any other is
// explained by integrated gradients of its score (explain_gradients.go). A Driver (driver.go) replaces the single training run
// by several (ensemble members, alternating optimisation); one whose
// objective only its own loop can form (sdor's pseudo-labels,
// mil_ranking's bags) is an EmbeddingRefuser, refusing categorical =
// 'embedding', whose embeddings the core learns with the algorithm's
// objective before its training (input_embedding.go). A SequenceAlgorithm
// (sequence.go) is trained on window rows and scored only over ordered rows
// (its Scorer may be a StepJudge with a verdict of its own); the row-at-a-time
// generic tests skip it, and detectors/predictability tests its contract. The conformance test then checks it
// automatically: reproducibility, persistence, batch independence, graph
// versus plain-Go agreement and an AUC floor.
package detectors
