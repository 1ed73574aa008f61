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
  const bool capable = on_train->accuracy >= config.capacity_target;
  results.push_back(make_result(
      "train.capacity", capable ? Verdict::kPass : Verdict::kFail, on_train->accuracy, config.capacity_target,
      format_text("after %zu epochs the training accuracy is %.1f%% (loss %.4g), target %.0f%%%s", report->epochs.size(),
                  100.0 * on_train->accuracy, on_train->loss, 100.0 * config.capacity_target,
                  capable ? "" : ": the model cannot fit its training data; train longer, raise the learning rate, or "
                                 "use a larger model")));
  if (validation.rows == 0 || report->epochs.empty()) {
    results.push_back(make_result("train.generalisation", Verdict::kSkipped, 0, 0, "no validation split"));
    return results;
  }
  const EpochLog& last = report->epochs.back();
  const double gap = on_train->accuracy - last.validation_accuracy;
  const bool wide = gap > config.generalisation_gap_warn;
  std::string curve;
  for (const EpochLog& epoch : report->epochs) curve += format_text("%s%.3g", curve.empty() ? "" : " ", epoch.validation_loss);
  results.push_back(make_result(
      "train.generalisation", wide ? Verdict::kWarn : Verdict::kPass, gap, config.generalisation_gap_warn,
      format_text("validation accuracy %.1f%% vs training %.1f%% (gap %.1f points); best validation loss %.4g at epoch "
                  "%d; validation loss by epoch: %s%s",
                  100.0 * last.validation_accuracy, 100.0 * on_train->accuracy, 100.0 * gap, report->best_validation_loss,
                  report->best_epoch, curve.c_str(),
                  wide ? ". It overfits: add data or augmentation, regularise (weight decay, dropout), or stop early" : "")));
  return results;
}

}  // namespace preflight
