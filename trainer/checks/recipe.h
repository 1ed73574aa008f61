// The gate: runs the recipe's checks in order on a model and its data and gathers a report
// (docs/report.md documents report.json). Sections 1 (data) and 2 (skeleton), and with `full` the
// run-level checks of section 3; the evidence (plots, images) and the HTML report are the rest of
// the recipe issue.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "trainer/checks/check.h"
#include "trainer/checks/data_checks.h"
#include "trainer/checks/gradient_checks.h"
#include "trainer/checks/skeleton_checks.h"
#include "trainer/checks/training_checks.h"

namespace preflight {

constexpr int kReportSchemaVersion = 1;

struct RecipeOptions {
  DataCheckThresholds data;
  SkeletonConfig skeleton;
  GradientCheckConfig gradients;
  bool full = false;              // also section 3: one full training run
  bool init_bias = false;         // the final bias was set from the prior (skeleton.init_bias)
  double init_bias_tolerance = 0.05;
  TrainingCheckConfig training;
  std::string folder;        // where the evidence goes (report.json's folder); empty: evidence skipped
  const Backend* backend = nullptr;  // what the probes and gradient checks run on (null: reference)
  FILE* progress = nullptr;  // one line per check as it finishes
};

struct Report {
  std::string model;
  std::string data;
  int64_t train_rows = 0, validation_rows = 0, classes = 0;
  std::vector<CheckResult> checks;
  double seconds = 0.0;
  bool failed() const;
};

// `graph` must have infer, eval and train_step (graph::add_training_methods) for the batch of
// options.skeleton.train.batch; `train` and `validation` have the model's sample shape.
Report run_recipe(const graph::Graph& graph, const Dataset& train, const Dataset& validation,
                  const RecipeOptions& options);

// Thresholds by name ("data.outlier_z", "skeleton.steps", ...; docs/recipe.md lists them): the
// one table behind `preflight check --set NAME=VALUE` and `--config FILE.json`.
std::vector<std::string> threshold_names();  // "NAME  DEFAULT  MEANING", one per threshold
Status set_threshold(RecipeOptions* options, const std::string& name, double value);
// "NAME=VALUE".
Status set_threshold(RecipeOptions* options, const std::string& assignment);
// A JSON object of NAME: number; errors name the file and the key.
Status apply_threshold_file(RecipeOptions* options, const std::string& path);

// The report as JSON (schema version kReportSchemaVersion), and a verdict table for a terminal.
std::string report_json(const Report& report);
std::string report_table(const Report& report);

}  // namespace preflight
