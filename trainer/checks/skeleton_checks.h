// Section 2 of the recipe, "end-to-end skeleton and dumb baselines": short experiments on the
// model's own train_step and eval, each from the exported initial weights.
//
//   skeleton.init_loss          loss at initialisation vs -log(1/C) (regression: var(y) + (mean
//                               prediction - mean y)^2)                         fail: off by > 15%
//   skeleton.init_bias          after "init well" (final bias = log priors / target mean): the
//                               initial mean prediction against the prior    fail: off by > 0.05
//   skeleton.loss_decreases     the first N steps: mean of the last 10% below the first 10%, the loss on
//                               fixed training rows down by >= 1%, all finite
//   skeleton.overfit_batch      8 samples, up to N steps: loss below 1% of its start, predictions = labels
//                               (regression: the loss criterion alone)
//   skeleton.input_independent  the same run with inputs zeroed must end clearly higher (>= 10%)
//   skeleton.dumb_baseline      the trained model beats the majority class (regression: the mean
//                               predictor's MSE) on validation
//   skeleton.determinism        two runs from one seed: identical losses and weights
//   train.prediction_dynamics   (evidence) predictions on a fixed batch during loss_decreases' run
//
// Classification (softmax cross-entropy) and regression (MSE) alike. The results carry the loss
// curves report.html plots.
#pragma once

#include <functional>
#include <memory>

#include "graph/graph.h"
#include "trainer/checks/check.h"
#include "trainer/trainer.h"

namespace preflight {

struct SkeletonConfig {
  SkeletonConfig() { train.lr = 3e-3f; }  // short probes: a larger step than the 3e-4 of a full run
  TrainConfig train;                   // the run the checks imitate (lr, optimizer inputs, seed, batch)
  int64_t steps = 100;                 // loss_decreases, input_independent, dumb_baseline
  int64_t overfit_samples = 8;
  int64_t overfit_steps = 300;
  float overfit_lr = 1e-2f;            // no regularisation, a larger step: it only has to memorise
  double init_loss_tolerance = 0.15;   // relative
  double input_independent_margin = 0.10;
  int64_t determinism_steps = 10;
  int64_t dynamics_samples = 8;        // train.prediction_dynamics: the fixed batch
  double loss_decrease_min = 0.01;     // loss_decreases: relative fall on fixed training rows
  double dumb_baseline_margin = 0.01;  // dumb_baseline, regression: MSE this much below the mean predictor's
};

// A fresh trainer with the exported initial weights (each experiment starts from them).
using TrainerFactory = std::function<Result<std::unique_ptr<Trainer>>()>;

// Makes a factory from a graph that has train_step and eval; its trainers run on `backend`
// (null: the reference backend).
TrainerFactory trainer_factory(const graph::Graph& graph, const Backend* backend = nullptr);

// `requested`: the final bias was set from the prior (graph::set_final_bias); skipped otherwise.
CheckResult check_init_bias(const TrainerFactory& make, const Dataset& train, int64_t classes, bool requested,
                            double tolerance = 0.05);
CheckResult check_init_loss(const TrainerFactory& make, const Dataset& train, int64_t classes, const SkeletonConfig& config);
// Also returns the trained trainer through `trained` for dumb_baseline; with `validation`, its
// loss every few steps joins the curves; with `dynamics`, train.prediction_dynamics is filled.
CheckResult check_loss_decreases(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config,
                                 std::unique_ptr<Trainer>* trained = nullptr, const Dataset* validation = nullptr,
                                 CheckResult* dynamics = nullptr);
CheckResult check_overfit_batch(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config);
CheckResult check_input_independent(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config);
// `train` gives the mean predictor's constant (regression).
CheckResult check_dumb_baseline(Trainer* trained, const Dataset& train, const Dataset& validation,
                                double margin = 0.01);

// Runs `run` twice: it returns the losses and a fingerprint of the weights of one short run.
struct RunFingerprint {
  std::vector<float> losses;
  uint64_t weights_hash = 0;
};
CheckResult check_determinism(const std::function<Result<RunFingerprint>()>& run);
// The run check_determinism uses by default: determinism_steps steps of fit from the factory.
Result<RunFingerprint> short_run(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config);

}  // namespace preflight
