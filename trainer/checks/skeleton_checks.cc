#include "trainer/checks/skeleton_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "runtime/hash.h"

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

bool skipped_for_regression(const Dataset& data, const char* id, CheckResult* out) {
  if (data.classification) return false;
  *out = make_result(id, Verdict::kSkipped, 0, 0, "regression data: this check covers classification for now");
  return true;
}

}  // namespace

TrainerFactory trainer_factory(const graph::Graph& graph) {
  return [graph]() { return Trainer::create(graph); };
}

CheckResult check_init_loss(const TrainerFactory& make, const Dataset& train, int64_t classes, const SkeletonConfig& config) {
  const char* id = "skeleton.init_loss";
  CheckResult skipped;
  if (skipped_for_regression(train, id, &skipped)) return skipped;
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return error_result(id, trainer.status());
  Result<Evaluation> evaluation = (*trainer)->evaluate(head(train, 4 * config.train.batch));
  if (!evaluation.is_ok()) return error_result(id, evaluation.status());
  const double expected = std::log(static_cast<double>(classes));
  const double error = std::fabs(evaluation->loss - expected) / expected;
  const bool ok = error <= config.init_loss_tolerance;
  return make_result(id, ok ? Verdict::kPass : Verdict::kFail, evaluation->loss, expected,
                format_text("loss at initialisation %.4g, expected -log(1/%lld) = %.4g (%.0f%% off, tolerance %.0f%%)%s",
                       evaluation->loss, static_cast<long long>(classes), expected, 100.0 * error,
                       100.0 * config.init_loss_tolerance,
                       ok ? "" : ": the initial predictions are far from uniform; check the final layer's scale and "
                                 "bias and the input scaling"));
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
                                 std::unique_ptr<Trainer>* trained) {
  const char* id = "skeleton.loss_decreases";
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) return error_result(id, trainer.status());
  TrainConfig run = config.train;
  run.check_numerics = true;  // names the first node that produced a NaN or Inf
  Result<TrainReport> report = run_steps(trainer->get(), train, run, config.steps);
  if (!report.is_ok()) {
    return make_result(id, Verdict::kFail, NAN, 0,
                  format_text("training diverged: %s. Lower the learning rate", report.status().message()));
  }
  const std::vector<float>& losses = report->losses;
  const size_t tenth = std::max<size_t>(1, losses.size() / 10);
  const double first = mean_of(losses, 0, tenth), last = mean_of(losses, losses.size() - tenth, losses.size());
  const double initial = losses.front();
  if (trained) *trained = std::move(trainer).value();
  if (last >= initial && last < first) {
    // Down from a blow-up, but not below where it started: it diverged.
    return make_result(id, Verdict::kFail, last, initial,
                  format_text("the loss ends at %.4g (mean of the last 10%% of %zu steps), above its value at initialisation "
                         "%.4g, after rising to %.4g: training diverges; lower the learning rate",
                         last, losses.size(), initial, *std::max_element(losses.begin(), losses.end())));
  }
  const bool ok = last < first && last < initial;
  return make_result(id, ok ? Verdict::kPass : Verdict::kFail, last, first,
                format_text("mean loss of the last 10%% of %zu steps %.4g vs the first 10%% %.4g (at initialisation %.4g)%s",
                       losses.size(), last, first, initial,
                       ok ? "" : ": the loss does not go down; check the learning rate (0?) and that the weights train"));
}

CheckResult check_overfit_batch(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config) {
  const char* id = "skeleton.overfit_batch";
  CheckResult skipped;
  if (skipped_for_regression(train, id, &skipped)) return skipped;
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
  const bool low = final_loss < 0.01 * initial, exact = evaluation->accuracy == 1.0;
  return make_result(id, low && exact ? Verdict::kPass : Verdict::kFail, final_loss, 0.01 * initial,
                format_text("after %zu steps on %lld samples the loss is %.3g (%.2f%% of its start %.3g), %.0f%% predicted right%s",
                       report->losses.size(), static_cast<long long>(batch.rows), final_loss, 100.0 * final_loss / initial,
                       initial, 100.0 * evaluation->accuracy,
                       low && exact ? "" : ": a model that cannot memorise 8 samples has a bug (frozen weights, learning "
                                           "rate 0, a broken backward, labels that do not match inputs)"));
}

CheckResult check_input_independent(const TrainerFactory& make, const Dataset& train, const SkeletonConfig& config) {
  const char* id = "skeleton.input_independent";
  double final_losses[2] = {0, 0};
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
  }
  const double gain = final_losses[1] > 0 ? 1.0 - final_losses[0] / final_losses[1] : 0.0;
  const bool ok = gain >= config.input_independent_margin;
  return make_result(id, ok ? Verdict::kPass : Verdict::kFail, gain, config.input_independent_margin,
                format_text("after %lld steps the loss with real inputs is %.4g, with zeroed inputs %.4g (%.0f%% lower, "
                       "needed %.0f%%)%s",
                       static_cast<long long>(config.steps), final_losses[0], final_losses[1], 100.0 * gain,
                       100.0 * config.input_independent_margin,
                       ok ? "" : ": the model learns nothing from its inputs (inputs ignored, or labels that carry no "
                                 "signal, such as shuffled labels)"));
}

CheckResult check_dumb_baseline(Trainer* trained, const Dataset& validation) {
  const char* id = "skeleton.dumb_baseline";
  CheckResult skipped;
  if (skipped_for_regression(validation, id, &skipped)) return skipped;
  if (!trained || validation.rows == 0) return make_result(id, Verdict::kSkipped, 0, 0, "no trained model or no validation split");
  std::vector<int64_t> counts;
  for (int64_t label : validation.labels) {
    if (label >= static_cast<int64_t>(counts.size())) counts.resize(static_cast<size_t>(label + 1), 0);
    ++counts[static_cast<size_t>(label)];
  }
  int64_t majority = 0;
  for (size_t c = 1; c < counts.size(); ++c) majority = counts[c] > counts[static_cast<size_t>(majority)] ? static_cast<int64_t>(c) : majority;
  const double baseline = static_cast<double>(counts[static_cast<size_t>(majority)]) / static_cast<double>(validation.rows);
  Result<Evaluation> evaluation = trained->evaluate(validation);
  if (!evaluation.is_ok()) return error_result(id, evaluation.status());
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
  for (const graph::Tensor& tensor : (*trainer)->trained_graph().tensors) hash = fnv1a(tensor.data.data(), tensor.data.size(), hash);
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
