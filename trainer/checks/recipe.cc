#include "trainer/checks/recipe.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "trainer/checks/data_checks.h"

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
  const int infer = graph.find_method("infer");
  const TensorDesc& predictions = graph.tensors[static_cast<size_t>(graph.methods[static_cast<size_t>(infer)].outputs[0])].desc;
  report.classes = train.classification && predictions.rank == 2 ? predictions.dims[1] : 0;
  const auto add = [&](CheckResult result) {
    if (options.progress) {
      std::fprintf(options.progress, "  %-28s %-7s %s\n", result.id.c_str(), verdict_name(result.verdict),
                   result.explanation.c_str());
      std::fflush(options.progress);
    }
    report.checks.push_back(std::move(result));
  };
  for (CheckResult& result : run_data_checks(train, validation, report.classes, options.data)) add(std::move(result));
  const TrainerFactory make = trainer_factory(graph);
  std::unique_ptr<Trainer> trained;
  add(check_determinism([&] { return short_run(make, train, options.skeleton); }));
  if (report.classes > 0) add(check_init_loss(make, train, report.classes, options.skeleton));
  add(check_init_bias(make, train, report.classes, options.init_bias));
  add(check_loss_decreases(make, train, options.skeleton, &trained));
  add(check_dumb_baseline(trained.get(), validation));
  add(check_input_independent(make, train, options.skeleton));
  add(check_overfit_batch(make, train, options.skeleton));
  add(check_batch_independence(graph, train, options.gradients));
  add(check_gradients(graph, train, options.gradients));
  if (options.full) {
    for (CheckResult& result : run_training_checks(make, train, validation, options.training)) add(std::move(result));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string report_json(const Report& report) {
  using nlohmann::json;
  json checks = json::array();
  const auto number = [](double value) { return std::isfinite(value) ? json(value) : json(nullptr); };
  for (const CheckResult& check : report.checks) {
    checks.push_back({{"id", check.id},
                      {"verdict", verdict_name(check.verdict)},
                      {"measured", number(check.measured)},
                      {"threshold", number(check.threshold)},
                      {"explanation", check.explanation},
                      {"evidence", check.evidence}});
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
