#include "trainer/checks/training_checks.h"

#include <cmath>

namespace preflight {

double schedule_factor(const TrainConfig& config, double fraction) {
  if (config.schedule == "cosine") return 0.5 * (1.0 + std::cos(M_PI * fraction));
  if (config.schedule == "step" && config.step_every > 0) {
    const int epoch = static_cast<int>(fraction * config.epochs);
    return std::pow(static_cast<double>(config.step_gamma), epoch / config.step_every);
  }
  return 1.0;
}

std::vector<CheckResult> run_training_checks(const TrainerFactory& make, const Dataset& train, const Dataset& validation,
                                             const TrainingCheckConfig& config) {
  std::vector<CheckResult> results;
  // train.lr_default needs no run.
  const double late = schedule_factor(config.train, 0.9);
  const bool collapses = late < config.schedule_floor;
  results.push_back(make_result(
      "train.lr_default", collapses ? Verdict::kWarn : Verdict::kPass, config.train.lr * late, config.train.lr * config.schedule_floor,
      format_text("%s at %g, schedule %s%s", config.optimizer.c_str(), static_cast<double>(config.train.lr),
                  config.train.schedule.c_str(),
                  collapses ? ": the rate is near 0 before the last 10% of steps, so they learn little; shorten the run "
                              "or soften the schedule"
                            : (config.optimizer == "adam" && config.train.lr == 3e-4f && config.train.schedule == "constant"
                                   ? " (the recipe's default)"
                                   : ""))));
  Result<std::unique_ptr<Trainer>> trainer = make();
  if (!trainer.is_ok()) {
    results.push_back(make_result("train.capacity", Verdict::kFail, NAN, config.capacity_target, trainer.status().message()));
    return results;
  }
  TrainConfig run = config.train;
  run.progress = nullptr;
  Result<TrainReport> report = (*trainer)->fit(train, validation, run);
  if (!report.is_ok()) {
    results.push_back(make_result("train.capacity", Verdict::kFail, NAN, config.capacity_target, report.status().message()));
    return results;
  }
  Result<Evaluation> on_train = (*trainer)->evaluate(train);
  if (!on_train.is_ok()) {
    results.push_back(make_result("train.capacity", Verdict::kFail, NAN, config.capacity_target, on_train.status().message()));
    return results;
  }
  // Classification: accuracy; regression: R^2 = 1 - MSE / var(y), the fraction of the target's
  // variance explained.
  const bool classification = train.classification;
  const auto score = [&](const Dataset& data, double loss, double accuracy) {
    if (classification) return accuracy;
    double mean = 0.0, variance = 0.0;
    target_moments(data, &mean, &variance);
    return variance > 0 ? 1.0 - loss / variance : 0.0;
  };
  const char* measure = classification ? "accuracy" : "R^2";
  const double target = classification ? config.capacity_target : config.capacity_target_r2;
  const double train_score = score(train, on_train->loss, on_train->accuracy);
  const bool capable = train_score >= target;
  results.push_back(make_result(
      "train.capacity", capable ? Verdict::kPass : Verdict::kFail, train_score, target,
      format_text("after %zu epochs the training %s is %.1f%% (loss %.4g), target %.0f%%%s", report->epochs.size(), measure,
                  100.0 * train_score, on_train->loss, 100.0 * target,
                  capable ? "" : ": the model cannot fit its training data; train longer, raise the learning rate, or "
                                 "use a larger model")));
  if (validation.rows == 0 || report->epochs.empty()) {
    results.push_back(make_result("train.generalisation", Verdict::kSkipped, 0, 0, "no validation split"));
    return results;
  }
  const EpochLog& last = report->epochs.back();
  const double validation_score = score(validation, last.validation_loss, last.validation_accuracy);
  const double gap = train_score - validation_score;
  const bool wide = gap > config.generalisation_gap_warn;
  std::string curve;
  Curve training_curve, validation_curve;
  training_curve.name = "training";
  validation_curve.name = "validation";
  const size_t epochs = report->epochs.size();
  for (size_t e = 0; e < epochs; ++e) {
    const EpochLog& epoch = report->epochs[e];
    // Long runs list their first and last 5 epochs (the report plots all of them).
    if (epochs <= 12 || e < 5 || e + 5 >= epochs) {
      curve += format_text("%s%.3g", curve.empty() ? "" : " ", epoch.validation_loss);
    } else if (e == 5) {
      curve += " ...";
    }
    training_curve.x.push_back(epoch.epoch);
    training_curve.y.push_back(epoch.train_loss);
    validation_curve.x.push_back(epoch.epoch);
    validation_curve.y.push_back(epoch.validation_loss);
  }
  CheckResult generalisation = make_result(
      "train.generalisation", wide ? Verdict::kWarn : Verdict::kPass, gap, config.generalisation_gap_warn,
      format_text("validation %s %.1f%% vs training %.1f%% (gap %.1f points); best validation loss %.4g at epoch "
                  "%d; validation loss by epoch: %s%s",
                  measure, 100.0 * validation_score, 100.0 * train_score, 100.0 * gap, report->best_validation_loss,
                  report->best_epoch, curve.c_str(),
                  wide ? ". It overfits: add data or augmentation, regularise (weight decay, dropout), or stop early" : ""));
  generalisation.curves = {training_curve, validation_curve};
  results.push_back(std::move(generalisation));
  return results;
}

}  // namespace preflight
