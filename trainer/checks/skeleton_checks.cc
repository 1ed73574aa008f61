#include "trainer/checks/skeleton_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/hash.h"

namespace preflight {
namespace {

CheckResult error_result(const char* id, const Status& status) {
  return make_result(id, Verdict::kFail, NAN, 0, status.message());
}

// The first `count` rows of `data`.
Dataset head(const Dataset& data, int64_t count) {
  Dataset part = data;
  part.rows = std::min(count, data.rows);
  part.features.resize(static_cast<size_t>(part.rows * data.sample_elements()));
  if (part.classification) part.labels.resize(static_cast<size_t>(part.rows));
  else part.targets.resize(static_cast<size_t>(part.rows));
  part.source = data.source + " (first " + std::to_string(part.rows) + " rows)";
  return part;
}

double mean_of(const std::vector<float>& values, size_t first, size_t end) {
  double sum = 0.0;
  for (size_t i = first; i < end; ++i) sum += values[i];
  return end > first ? sum / static_cast<double>(end - first) : NAN;
}

// Trains `steps` steps (as many epochs as that takes) on `data`; no validation.
Result<TrainReport> run_steps(Trainer* trainer, const Dataset& data, TrainConfig config, int64_t steps) {
  const int64_t batches = (data.rows + config.batch - 1) / config.batch;
  config.max_steps = steps;
  config.epochs = static_cast<int>((steps + batches - 1) / batches);
  config.patience = 0;
  config.checkpoint.clear();
  config.progress = nullptr;
  return trainer->fit(data, Dataset(), config);
}

// One value per step (1-based) as a curve for the report.
Curve step_curve(const std::string& name, const std::vector<float>& losses) {
  Curve curve;
  curve.name = name;
  for (size_t i = 0; i < losses.size(); ++i) {
    curve.x.push_back(static_cast<double>(i + 1));
    curve.y.push_back(losses[i]);
  }
  return curve;
}

}  // namespace

TrainerFactory trainer_factory(const graph::Graph& graph, const Backend* backend) {
  SessionOptions options;
  options.backend = backend;
  return [graph, options]() { return Trainer::create(graph, options); };
}

CheckResult check_init_loss(const TrainerFactory& make, const Dataset& train, int64_t classes, const SkeletonConfig& config) {
  const char* id = "skeleton.init_loss";
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return error_result(id, trainer.status());
  const Dataset sample = head(train, 4 * config.train.batch);
  Result<Evaluation> evaluation = (*trainer)->evaluate(sample);
  if (!evaluation.is_ok()) return error_result(id, evaluation.status());
  double expected = 0.0;
  std::string expectation;
  if (train.classification) {
    expected = std::log(static_cast<double>(classes));
    expectation = format_text("-log(1/%lld) = %.4g", static_cast<long long>(classes), expected);
  } else {
    // Mean squared error of predictions that start near a constant: var(y) + (mean prediction - mean y)^2.
    double mean = 0.0, variance = 0.0;
    target_moments(sample, &mean, &variance);
    const double predicted = evaluation->mean_prediction.empty() ? 0.0 : evaluation->mean_prediction[0];
    expected = variance + (predicted - mean) * (predicted - mean);
    expectation = format_text("var(y) + (mean prediction - mean y)^2 = %.4g + (%.4g - %.4g)^2 = %.4g", variance, predicted,
                              mean, expected);
  }
  const double error = std::fabs(evaluation->loss - expected) / (expected > 0 ? expected : 1.0);
  const bool ok = error <= config.init_loss_tolerance;
  return make_result(id, ok ? Verdict::kPass : Verdict::kFail, evaluation->loss, expected,
                     format_text("loss at initialisation %.4g, expected %s (%.0f%% off, tolerance %.0f%%)%s",
                                 evaluation->loss, expectation.c_str(), 100.0 * error, 100.0 * config.init_loss_tolerance,
                                 ok ? ""
                                    : train.classification
                                          ? ": the initial predictions are far from uniform; check the final layer's "
                                            "scale and bias and the input scaling"
                                          : ": the initial predictions vary too much; check the final layer's scale and "
                                            "the input scaling"));
}

CheckResult check_init_bias(const TrainerFactory& make, const Dataset& train, int64_t classes, bool requested,
                            double tolerance) {
  const char* id = "skeleton.init_bias";
  if (!requested) {
    return make_result(id, Verdict::kSkipped, 0, 0,
                       "not requested (--init-bias starts the final bias at the log class priors or the target mean)");
  }
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return error_result(id, trainer.status());
  Result<Evaluation> evaluation = (*trainer)->evaluate(train);
  if (!evaluation.is_ok()) return error_result(id, evaluation.status());
  const std::vector<float> prior = prior_bias(train, classes);
  double worst = 0.0;
  std::string listed;
  if (train.classification) {
    // Compare probabilities: the prior is exp of the bias.
    for (size_t c = 0; c < prior.size() && c < evaluation->mean_prediction.size(); ++c) {
      const double expected = std::exp(static_cast<double>(prior[c]));
      worst = std::max(worst, std::fabs(evaluation->mean_prediction[c] - expected));
      if (c < 10) listed += format_text("%s%.3f/%.3f", c ? " " : "", evaluation->mean_prediction[c], expected);
    }
  } else {
    double spread = 0.0;
    for (float t : train.targets) spread += (t - prior[0]) * (t - prior[0]);
    spread = std::sqrt(spread / static_cast<double>(train.targets.empty() ? 1 : train.targets.size()));
    const double predicted = evaluation->mean_prediction.empty() ? NAN : evaluation->mean_prediction[0];
    worst = std::fabs(predicted - prior[0]) / (spread > 0 ? spread : 1.0);
    listed = format_text("%.4g/%.4g", predicted, static_cast<double>(prior[0]));
  }
  const bool ok = worst <= tolerance;
  return make_result(id, ok ? Verdict::kPass : Verdict::kFail, worst, tolerance,
                     format_text("initial mean prediction vs prior (%s): %s; largest difference %.3g%s",
                                 train.classification ? "probability per class" : "target mean, in target std",
                                 listed.c_str(), worst,
                                 ok ? "" : ": the initial predictions ignore the prior although the bias was set; the "
                                           "weights before it are too large"));
}

CheckResult check_loss_decreases(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config,
                                 std::unique_ptr<Trainer>* trained, const Dataset* validation, CheckResult* dynamics) {
  const char* id = "skeleton.loss_decreases";
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return error_result(id, trainer.status());
  const Dataset fixed_train = head(train, 4 * config.train.batch);
  Result<Evaluation> before = (*trainer)->evaluate(fixed_train);
  if (!before.is_ok()) return error_result(id, before.status());
  TrainConfig run = config.train;
  run.check_numerics = true;  // names the first node that produced a NaN or Inf
  // Every few steps: the loss on the whole validation split, and the predictions on a fixed batch
  // (train.prediction_dynamics).
  Curve validation_curve;
  validation_curve.name = "validation";
  const Dataset& fixed_source = validation && validation->rows ? *validation : train;
  const Dataset fixed = head(fixed_source, config.dynamics_samples);
  std::vector<Curve> samples(static_cast<size_t>(fixed.rows));
  for (int64_t r = 0; r < fixed.rows; ++r) {
    samples[static_cast<size_t>(r)].name =
        fixed.classification ? format_text("row %lld (label %lld)", static_cast<long long>(r + 1),
                                           static_cast<long long>(fixed.labels[static_cast<size_t>(r)]))
                             : format_text("row %lld (target %.4g)", static_cast<long long>(r + 1),
                                           static_cast<double>(fixed.targets[static_cast<size_t>(r)]));
  }
  if (validation || dynamics) {
    run.observe_every = std::max<int64_t>(1, config.steps / 10);
    run.observe = [&](Trainer& observed, int64_t step) -> Status {
      if (validation && validation->rows) {
        Result<Evaluation> on_validation = observed.evaluate(*validation);
        if (!on_validation.is_ok()) return on_validation.status();
        validation_curve.x.push_back(static_cast<double>(step));
        validation_curve.y.push_back(on_validation->loss);
      }
      if (dynamics && fixed.rows) {
        Result<Evaluation> on_fixed = observed.evaluate(fixed);
        if (!on_fixed.is_ok()) return on_fixed.status();
        for (int64_t r = 0; r < fixed.rows; ++r) {
          // Classification: the probability given to the true class; regression: the prediction.
          const size_t at = static_cast<size_t>(r * on_fixed->prediction_width) +
                            (fixed.classification ? static_cast<size_t>(fixed.labels[static_cast<size_t>(r)]) : 0);
          samples[static_cast<size_t>(r)].x.push_back(static_cast<double>(step));
          samples[static_cast<size_t>(r)].y.push_back(at < on_fixed->predictions.size() ? on_fixed->predictions[at] : NAN);
        }
      }
      return Status::ok();
    };
  }
  Result<TrainReport> report = run_steps(trainer->get(), train, run, config.steps);
  if (!report.is_ok()) {
    return make_result(id, Verdict::kFail, NAN, 0,
                  format_text("training diverged: %s. Lower the learning rate", report.status().message()));
  }
  if (dynamics) {
    *dynamics = make_result("train.prediction_dynamics", Verdict::kPass, static_cast<double>(fixed.rows), 0,
                            format_text("%s of %lld fixed %s rows over the %lld steps of skeleton.loss_decreases (plotted)",
                                        fixed.classification ? "the probability of the true class" : "the prediction",
                                        static_cast<long long>(fixed.rows),
                                        &fixed_source == &train ? "training" : "validation",
                                        static_cast<long long>(config.steps)));
    dynamics->curves = std::move(samples);
  }
  const std::vector<float>& losses = report->losses;
  Curve training_curve = step_curve("training", losses);
  const size_t tenth = std::max<size_t>(1, losses.size() / 10);
  const double first = mean_of(losses, 0, tenth), last = mean_of(losses, losses.size() - tenth, losses.size());
  const double initial = losses.front();
  std::unique_ptr<Trainer> trained_trainer = std::move(trainer).value();
  // The windows of per-batch losses are noisy (each step sees another batch, and regression
  // losses are heavy-tailed), so the verdict also asks the loss on a fixed sample of the
  // training rows, before and after, to fall by at least 1%: a run that does not learn (learning
  // rate 0, frozen weights) leaves it unchanged, whatever its batches did.
  Result<Evaluation> after = trained_trainer->evaluate(fixed_train);
  if (!after.is_ok()) return error_result(id, after.status());
  const double highest = *std::max_element(losses.begin(), losses.end());
  const bool ok = last < first && after->loss < (1.0 - config.loss_decrease_min) * before->loss;
  CheckResult result;
  if (!ok && after->loss > before->loss && highest > 2.0 * initial) {
    result = make_result(id, Verdict::kFail, last, initial,
                  format_text("the loss rose to %.4g from %.4g at initialisation and ends at %.4g (mean of the last 10%% "
                              "of %zu steps); on %lld fixed training rows it went from %.4g to %.4g: training diverges; "
                              "lower the learning rate",
                              highest, initial, last, losses.size(), static_cast<long long>(fixed_train.rows),
                              before->loss, after->loss));
  } else {
    result = make_result(id, ok ? Verdict::kPass : Verdict::kFail, last, first,
                format_text("mean loss of the last 10%% of %zu steps %.4g vs the first 10%% %.4g (at initialisation %.4g); "
                            "on %lld fixed training rows %.4g -> %.4g (%.1f%% lower, needed %.0f%%)%s",
                       losses.size(), last, first, initial, static_cast<long long>(fixed_train.rows), before->loss,
                       after->loss, 100.0 * (1.0 - after->loss / before->loss), 100.0 * config.loss_decrease_min,
                       ok ? "" : ": the loss does not go down; check the learning rate (0?) and that the weights train"));
  }
  result.curves.push_back(std::move(training_curve));
  if (!validation_curve.x.empty()) result.curves.push_back(std::move(validation_curve));
  if (trained) *trained = std::move(trained_trainer);
  return result;
}

CheckResult check_overfit_batch(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config) {
  const char* id = "skeleton.overfit_batch";
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return error_result(id, trainer.status());
  const Dataset batch = head(train, config.overfit_samples);
  TrainConfig run = config.train;
  run.lr = config.overfit_lr;
  run.weight_decay = 0.0f;
  Result<TrainReport> report = run_steps(trainer->get(), batch, run, config.overfit_steps);
  if (!report.is_ok()) return error_result(id, report.status());
  Result<Evaluation> evaluation = (*trainer)->evaluate(batch);
  if (!evaluation.is_ok()) return error_result(id, evaluation.status());
  const double initial = report->losses.front(), final_loss = evaluation->loss;
  // Classification: every prediction right as well; regression: the loss criterion alone.
  const bool low = final_loss < 0.01 * initial, exact = !train.classification || evaluation->accuracy == 1.0;
  CheckResult result = make_result(
      id, low && exact ? Verdict::kPass : Verdict::kFail, final_loss, 0.01 * initial,
      format_text("after %zu steps on %lld samples the loss is %.3g (%.2f%% of its start %.3g)%s%s",
                  report->losses.size(), static_cast<long long>(batch.rows), final_loss, 100.0 * final_loss / initial,
                  initial,
                  train.classification ? format_text(", %.0f%% predicted right", 100.0 * evaluation->accuracy).c_str() : "",
                  low && exact ? ""
                               : ": a model that cannot memorise 8 samples has a bug (frozen weights, learning rate 0, a "
                                 "broken backward, labels that do not match inputs)"));
  result.curves.push_back(step_curve("overfit one batch", report->losses));
  return result;
}

CheckResult check_input_independent(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config) {
  const char* id = "skeleton.input_independent";
  double final_losses[2] = {0, 0};
  std::vector<Curve> curves(2);
  for (int zeroed = 0; zeroed < 2; ++zeroed) {
    Result<std::unique_ptr<Trainer>> trainer = make();
    if (!trainer.is_ok()) return error_result(id, trainer.status());
    Dataset data = train;
    if (zeroed) std::fill(data.features.begin(), data.features.end(), 0.0f);
    Result<TrainReport> report = run_steps(trainer->get(), data, config.train, config.steps);
    if (!report.is_ok()) return error_result(id, report.status());
    const std::vector<float>& losses = report->losses;
    const size_t tenth = std::max<size_t>(1, losses.size() / 10);
    final_losses[zeroed] = mean_of(losses, losses.size() - tenth, losses.size());
    curves[static_cast<size_t>(zeroed)] = step_curve(zeroed ? "zero-input baseline" : "real inputs", losses);
  }
  const double gain = final_losses[1] > 0 ? 1.0 - final_losses[0] / final_losses[1] : 0.0;
  const bool ok = gain >= config.input_independent_margin;
  CheckResult result = make_result(id, ok ? Verdict::kPass : Verdict::kFail, gain, config.input_independent_margin,
                format_text("after %lld steps the loss with real inputs is %.4g, with zeroed inputs %.4g (%.0f%% lower, "
                       "needed %.0f%%)%s",
                       static_cast<long long>(config.steps), final_losses[0], final_losses[1], 100.0 * gain,
                       100.0 * config.input_independent_margin,
                       ok ? "" : ": the model learns nothing from its inputs (inputs ignored, or labels that carry no "
                                 "signal, such as shuffled labels)"));
  result.curves = std::move(curves);
  return result;
}

CheckResult check_dumb_baseline(Trainer* trained, const Dataset& train, const Dataset& validation, double margin) {
  const char* id = "skeleton.dumb_baseline";
  if (!trained || validation.rows == 0) return make_result(id, Verdict::kSkipped, 0, 0, "no trained model or no validation split");
  Result<Evaluation> evaluation = trained->evaluate(validation);
  if (!evaluation.is_ok()) return error_result(id, evaluation.status());
  if (!validation.classification) {
    // The mean predictor: always the training split's target mean.
    double mean = 0.0, variance = 0.0;
    target_moments(train, &mean, &variance);
    double baseline = 0.0;
    for (float t : validation.targets) baseline += (t - mean) * (t - mean);
    baseline /= static_cast<double>(validation.rows);
    // Clearly below: a model still at the mean predictor beats it by chance by a hair.
    const bool ok = evaluation->loss < (1.0 - margin) * baseline;
    return make_result(id, ok ? Verdict::kPass : Verdict::kFail, evaluation->loss, (1.0 - margin) * baseline,
                       format_text("validation MSE %.4g vs %.4g for always predicting the training mean %.4g (needed %.0f%% "
                                   "lower)%s",
                                   evaluation->loss, baseline, mean, 100.0 * margin,
                                   ok ? "" : ": the trained model does no better than a constant"));
  }
  std::vector<int64_t> counts;
  for (int64_t label : validation.labels) {
    if (label >= static_cast<int64_t>(counts.size())) counts.resize(static_cast<size_t>(label + 1), 0);
    ++counts[static_cast<size_t>(label)];
  }
  int64_t majority = 0;
  for (size_t c = 1; c < counts.size(); ++c) majority = counts[c] > counts[static_cast<size_t>(majority)] ? static_cast<int64_t>(c) : majority;
  const double baseline = static_cast<double>(counts[static_cast<size_t>(majority)]) / static_cast<double>(validation.rows);
  const bool ok = evaluation->accuracy > baseline;
  return make_result(id, ok ? Verdict::kPass : Verdict::kFail, evaluation->accuracy, baseline,
                format_text("validation accuracy %.1f%% vs %.1f%% for always predicting the majority class %lld%s",
                       100.0 * evaluation->accuracy, 100.0 * baseline, static_cast<long long>(majority),
                       ok ? "" : ": the trained model does no better than a constant"));
}

Result<RunFingerprint> short_run(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config) {
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return trainer.status();
  Result<TrainReport> report = run_steps(trainer->get(), train, config.train, config.determinism_steps);
  if (!report.is_ok()) return report.status();
  RunFingerprint fingerprint;
  fingerprint.losses = report->losses;
  uint64_t hash = kFnvOffsetBasis;
  for (const graph::Tensor& tensor : (*trainer)->snapshot().tensors) hash = fnv1a(tensor.data.data(), tensor.data.size(), hash);
  fingerprint.weights_hash = hash;
  return Result<RunFingerprint>(std::move(fingerprint));
}

CheckResult check_determinism(const std::function<Result<RunFingerprint>()>& run) {
  const char* id = "skeleton.determinism";
  Result<RunFingerprint> first = run();
  if (!first.is_ok()) return error_result(id, first.status());
  Result<RunFingerprint> second = run();
  if (!second.is_ok()) return error_result(id, second.status());
  size_t differing = first->losses.size();
  for (size_t i = 0; i < first->losses.size() && i < second->losses.size(); ++i) {
    if (first->losses[i] != second->losses[i]) {
      differing = i;
      break;
    }
  }
  const bool same_losses = first->losses == second->losses;
  const bool same_weights = first->weights_hash == second->weights_hash;
  if (same_losses && same_weights) {
    return make_result(id, Verdict::kPass, 0, 0,
                  format_text("two runs of %zu steps from one seed give identical losses and weights (hash %016llx)",
                         first->losses.size(), static_cast<unsigned long long>(first->weights_hash)));
  }
  return make_result(id, Verdict::kFail, static_cast<double>(differing), 0,
                same_losses ? std::string("the losses agree but the weights differ")
                            : format_text("the losses first differ at step %zu (%.6g vs %.6g): something is not seeded (the "
                                     "data order, an initialisation, a dropout mask)",
                                     differing + 1, static_cast<double>(first->losses[differing]),
                                     static_cast<double>(second->losses[differing])));
}

}  // namespace preflight
