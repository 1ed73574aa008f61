#include "trainer/checks/recipe.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/file_io.h"
#include "trainer/checks/data_checks.h"
#include "trainer/checks/evidence_checks.h"

namespace preflight {

bool Report::failed() const {
  for (const CheckResult& check : checks) {
    if (check.verdict == Verdict::kFail) return true;
  }
  return false;
}

Report run_recipe(const graph::Graph& graph, const Dataset& train, const Dataset& validation,
                  const RecipeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Report report;
  report.data = train.source;
  report.train_rows = train.rows;
  report.validation_rows = validation.rows;
  // The predictions: eval's output 1 (its contract, runtime/verify.cc: a model without infer has one).
  const int eval = graph.find_method("eval");
  const std::vector<int>& eval_outputs = graph.methods[static_cast<size_t>(eval >= 0 ? eval : 0)].outputs;
  TensorDesc predictions;
  if (eval >= 0 && eval_outputs.size() >= 2) predictions = graph.tensors[static_cast<size_t>(eval_outputs[1])].desc;
  report.classes = train.classification && predictions.rank == 2 ? predictions.dims[1] : 0;
  const auto add = [&](CheckResult result) {
    if (options.progress) {
      std::fprintf(options.progress, "  %-28s %-7s %s\n", result.id.c_str(), verdict_name(result.verdict),
                   printable(result.explanation).c_str());  // it may quote a file's names
      std::fflush(options.progress);
    }
    report.checks.push_back(std::move(result));
  };
  for (CheckResult& result : run_data_checks(train, validation, report.classes, options.data, options.folder)) {
    add(std::move(result));
  }
  const TrainerFactory make = trainer_factory(graph, options.backend);
  GradientCheckConfig gradients = options.gradients;
  gradients.session.backend = options.backend;
  std::unique_ptr<Trainer> trained;
  add(check_determinism([&] { return short_run(make, train, options.skeleton); }));
  add(check_init_loss(make, train, report.classes, options.skeleton));
  add(check_init_bias(make, train, report.classes, options.init_bias, options.init_bias_tolerance));
  add(check_input_view(train, options.skeleton.train, options.folder));
  CheckResult dynamics = make_result("train.prediction_dynamics", Verdict::kSkipped, 0, 0, "the training probe failed");
  add(check_loss_decreases(make, train, options.skeleton, &trained, &validation, &dynamics));
  add(check_dumb_baseline(trained.get(), train, validation, options.skeleton.dumb_baseline_margin));
  add(check_input_independent(make, train, options.skeleton));
  add(check_overfit_batch(make, train, options.skeleton));
  add(check_batch_independence(graph, train, gradients));
  add(check_gradients(graph, train, gradients));
  add(std::move(dynamics));
  if (trained) {
    add(check_first_layer(trained->snapshot(),
                          format_text("after the %lld steps of skeleton.loss_decreases", static_cast<long long>(options.skeleton.steps)),
                          options.folder));
  } else {
    add(make_result("train.first_layer", Verdict::kSkipped, 0, 0, "the training probe failed"));
  }
  if (options.full) {
    for (CheckResult& result : run_training_checks(make, train, validation, options.training)) add(std::move(result));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

namespace {

// One settable threshold: where it lives and whether it must be a whole number.
struct Threshold {
  const char* name;
  const char* meaning;
  double* real;
  float* single;
  int64_t* whole;
  int* small;
};

std::vector<Threshold> thresholds(RecipeOptions* o) {
  return {
      {"data.imbalance_warn", "data.balance warns when largest / smallest class count exceeds it", &o->data.imbalance_warn, nullptr, nullptr, nullptr},
      {"data.duplicate_warn_fraction", "data.duplicates warns above this fraction of training rows", &o->data.duplicate_warn_fraction, nullptr, nullptr, nullptr},
      {"data.outlier_z", "data.outliers: |z| beyond which a value or a sample is an outlier", &o->data.outlier_z, nullptr, nullptr, nullptr},
      {"data.outlier_gap", "data.outliers: ... and isolated from every other value by this many standard deviations", &o->data.outlier_gap, nullptr, nullptr, nullptr},
      {"data.near_constant_fraction", "data.outliers skips features with one value in at least this fraction of rows", &o->data.near_constant_fraction, nullptr, nullptr, nullptr},
      {"data.list_first", "how many rows or features a message lists", nullptr, nullptr, nullptr, &o->data.list_first},
      {"skeleton.steps", "steps of the loss_decreases, input_independent and dumb_baseline probes", nullptr, nullptr, &o->skeleton.steps, nullptr},
      {"skeleton.loss_decrease_min", "loss_decreases: fall of the loss on fixed training rows, relative", &o->skeleton.loss_decrease_min, nullptr, nullptr, nullptr},
      {"skeleton.dumb_baseline_margin", "dumb_baseline (regression): how far below the mean predictor's MSE, relative", &o->skeleton.dumb_baseline_margin, nullptr, nullptr, nullptr},
      {"skeleton.overfit_samples", "overfit_batch: samples to memorise", nullptr, nullptr, &o->skeleton.overfit_samples, nullptr},
      {"skeleton.overfit_steps", "overfit_batch: steps", nullptr, nullptr, &o->skeleton.overfit_steps, nullptr},
      {"skeleton.overfit_lr", "overfit_batch: learning rate", nullptr, &o->skeleton.overfit_lr, nullptr, nullptr},
      {"skeleton.init_loss_tolerance", "init_loss: relative error allowed", &o->skeleton.init_loss_tolerance, nullptr, nullptr, nullptr},
      {"skeleton.init_bias_tolerance", "init_bias: largest difference from the prior", &o->init_bias_tolerance, nullptr, nullptr, nullptr},
      {"skeleton.input_independent_margin", "input_independent: how much lower the real-input loss must end", &o->skeleton.input_independent_margin, nullptr, nullptr, nullptr},
      {"skeleton.determinism_steps", "determinism: steps of each of the two runs", nullptr, nullptr, &o->skeleton.determinism_steps, nullptr},
      {"skeleton.dynamics_samples", "prediction_dynamics: rows of the fixed batch", nullptr, nullptr, &o->skeleton.dynamics_samples, nullptr},
      {"gradients.samples", "batch_independence: samples to backprop from", nullptr, nullptr, nullptr, &o->gradients.samples},
      {"gradients.elements_per_tensor", "gradients: elements checked per trainable tensor", nullptr, nullptr, nullptr, &o->gradients.elements_per_tensor},
      {"gradients.rows", "gradients: rows of the first batch the check differentiates", nullptr, nullptr, nullptr, &o->gradients.rows},
      {"gradients.step", "gradients: central difference step", &o->gradients.step, nullptr, nullptr, nullptr},
      {"gradients.absolute_tolerance", "gradients: absolute error allowed", &o->gradients.absolute_tolerance, nullptr, nullptr, nullptr},
      {"gradients.relative_tolerance", "gradients: relative error allowed", &o->gradients.relative_tolerance, nullptr, nullptr, nullptr},
      {"train.capacity_target", "capacity: training accuracy to reach (--full)", &o->training.capacity_target, nullptr, nullptr, nullptr},
      {"train.capacity_target_r2", "capacity: training R^2 to reach, regression (--full)", &o->training.capacity_target_r2, nullptr, nullptr, nullptr},
      {"train.generalisation_gap_warn", "generalisation: warn above this train - validation gap (--full)", &o->training.generalisation_gap_warn, nullptr, nullptr, nullptr},
      {"train.schedule_floor", "lr_default: warn when the schedule falls below this fraction early (--full)", &o->training.schedule_floor, nullptr, nullptr, nullptr},
  };
}

}  // namespace

std::vector<std::string> threshold_names() {
  RecipeOptions options;
  std::vector<std::string> names;
  for (const Threshold& t : thresholds(&options)) {
    const double value = t.real ? *t.real : t.single ? static_cast<double>(*t.single) : t.whole ? static_cast<double>(*t.whole) : *t.small;
    names.push_back(format_text("%-36s %-10g %s", t.name, value, t.meaning));
  }
  return names;
}

Status set_threshold(RecipeOptions* options, const std::string& name, double value) {
  std::string known;
  for (const Threshold& t : thresholds(options)) {
    known += known.empty() ? "" : ", ";
    known += t.name;
    if (name != t.name) continue;
    PF_CHECK(std::isfinite(value), Error::kInvalidArgument, "threshold %s: %g is not a finite number", t.name, value);
    if (t.real) {
      *t.real = value;
    } else if (t.single) {
      *t.single = static_cast<float>(value);
    } else {
      PF_CHECK(value == std::floor(value) && value >= 1 && value <= 1e9, Error::kInvalidArgument,
               "threshold %s must be a whole number >= 1, got %g", t.name, value);
      if (t.whole) *t.whole = static_cast<int64_t>(value);
      else *t.small = static_cast<int>(value);
    }
    return Status::ok();
  }
  return Status::error(Error::kInvalidArgument, "unknown threshold '%.60s' (known: %.250s)", name.c_str(), known.c_str());
}

Status set_threshold(RecipeOptions* options, const std::string& assignment) {
  const size_t equals = assignment.find('=');
  PF_CHECK(equals != std::string::npos, Error::kInvalidArgument, "--set takes NAME=VALUE, got '%.80s'", assignment.c_str());
  const std::string value = assignment.substr(equals + 1);
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  PF_CHECK(!value.empty() && end && *end == '\0', Error::kInvalidArgument, "--set %.80s: '%.40s' is not a number",
           assignment.c_str(), value.c_str());
  return set_threshold(options, assignment.substr(0, equals), number);
}

Status apply_threshold_file(RecipeOptions* options, const std::string& path) {
  std::string text;  // a regular file within the input budget (runtime/file_io.h)
  PF_RETURN_IF_ERROR(read_regular_file(path.c_str(), &text).with_context("the threshold file: "));
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    return Status::error(Error::kInvalidArgument, "%s: not JSON: %.200s", path.c_str(), error.what());
  }
  PF_CHECK(document.is_object(), Error::kInvalidArgument, "%s: the thresholds must be a JSON object of name: number",
           path.c_str());
  for (const auto& item : document.items()) {
    PF_CHECK(item.value().is_number(), Error::kInvalidArgument, "%s: threshold '%s' is not a number", path.c_str(),
             item.key().c_str());
    const Status status = set_threshold(options, item.key(), item.value().get<double>());
    if (!status.is_ok()) return status.with_context("%s: ", path.c_str());
  }
  return Status::ok();
}

std::string report_json(const Report& report) {
  using nlohmann::json;
  json checks = json::array();
  const auto number = [](double value) { return std::isfinite(value) ? json(value) : json(nullptr); };
  for (const CheckResult& check : report.checks) {
    json curves = json::array();
    for (const Curve& curve : check.curves) {
      json ys = json::array();
      for (double y : curve.y) ys.push_back(number(y));
      curves.push_back({{"name", curve.name}, {"x", curve.x}, {"y", ys}});
    }
    checks.push_back({{"id", check.id},
                      {"verdict", verdict_name(check.verdict)},
                      {"measured", number(check.measured)},
                      {"threshold", number(check.threshold)},
                      {"explanation", check.explanation},
                      {"evidence", check.evidence},
                      {"curves", curves}});
  }
  const json document = {{"schema", "preflight.report"},
                         {"version", kReportSchemaVersion},
                         {"model", report.model},
                         {"data", report.data},
                         {"train_rows", report.train_rows},
                         {"validation_rows", report.validation_rows},
                         {"classes", report.classes},
                         {"verdict", report.failed() ? "fail" : "pass"},
                         {"seconds", report.seconds},
                         {"checks", checks}};
  return document.dump(2) + "\n";
}

std::string report_table(const Report& report) {
  std::string table = "check                         verdict  measured     threshold\n";
  char line[256];
  int counts[4] = {0, 0, 0, 0};
  for (const CheckResult& check : report.checks) {
    std::snprintf(line, sizeof line, "%-29s %-8s %-12.5g %-12.5g\n", check.id.c_str(), verdict_name(check.verdict),
                  check.measured, check.threshold);
    table += line;
    ++counts[static_cast<int>(check.verdict)];
  }
  std::snprintf(line, sizeof line, "verdict: %s (%d pass, %d warn, %d fail, %d skipped; %.1f s)\n",
                report.failed() ? "FAIL" : "PASS", counts[0], counts[1], counts[2], counts[3], report.seconds);
  return table + line;
}

}  // namespace preflight
