// Section 3 of the recipe, "overfit, then regularise" (preflight check --full): one full training
// run, then
//
//   train.capacity        training accuracy after the run                 fail below 95%
//                         (regression: R^2 = 1 - MSE / var(y))             fail below 0.5
//   train.generalisation  validation tracked every epoch, best epoch kept   warn when train - validation
//                                                                           accuracy (R^2) > 10 points
//   train.lr_default      the optimiser and schedule used                  warn when the schedule drives
//                                                                           the rate below 1% before the
//                                                                           last 10% of steps
#pragma once

#include "trainer/checks/check.h"
#include "trainer/checks/skeleton_checks.h"

namespace preflight {

struct TrainingCheckConfig {
  TrainConfig train;                     // the full run: Adam at 3e-4, constant, by default
  double capacity_target = 0.95;         // training accuracy
  double capacity_target_r2 = 0.5;       // regression: training R^2 (1 - MSE / var(y))
  double generalisation_gap_warn = 0.10; // train - validation accuracy
  double schedule_floor = 0.01;          // of the base rate, before the last 10% of steps
  std::string optimizer = "adam";        // what the model was exported with (reported)
};

// Runs the training and returns the three results (in the order above).
std::vector<CheckResult> run_training_checks(const TrainerFactory& make, const Dataset& train, const Dataset& validation,
                                             const TrainingCheckConfig& config);

// The schedule's rate at `fraction` of the run, relative to the base rate (1 = unchanged).
double schedule_factor(const TrainConfig& config, double fraction);

}  // namespace preflight
