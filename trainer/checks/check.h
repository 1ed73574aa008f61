// The result every recipe check returns (../docs/recipe.md once the gate exists; RECIPE.md in the
// team's shared folder): an id, a verdict, the measured value against its threshold, one line a
// person can act on, and the evidence it wrote.
#pragma once

#include <string>
#include <vector>

namespace preflight {

enum class Verdict { kPass, kWarn, kFail, kSkipped };

const char* verdict_name(Verdict verdict);

// One line of a plot (report.html draws them as SVG): a value per step or epoch.
struct Curve {
  std::string name;          // "training", "validation", "zero-input baseline", "sample 3 (label 7)"
  std::vector<double> x, y;  // steps (or epochs) and values
};

struct CheckResult {
  std::string id;                     // "data.finite", "skeleton.init_loss", ...
  Verdict verdict = Verdict::kPass;
  double measured = 0.0;              // the value the verdict is about
  double threshold = 0.0;             // what it was compared with
  std::string explanation;            // one line a person can act on; names rows, columns, tensors
  std::vector<std::string> evidence;  // files written, relative to the report's folder (PNG, CSV)
  std::vector<Curve> curves;          // what report.html plots for this check
};

CheckResult make_result(const char* id, Verdict verdict, double measured, double threshold, std::string explanation);

// printf into a std::string (check messages).
std::string format_text(const char* pattern, ...) __attribute__((format(printf, 1, 2)));

// Thresholds with defaults that work on the bundled data sets; flags or a config file set them.
struct DataCheckThresholds {
  double imbalance_warn = 3.0;         // data.balance: largest / smallest class count
  double duplicate_warn_fraction = 0.01;  // data.duplicates: of the training rows
  double outlier_z = 6.0;              // data.outliers: |z| of a value within its feature, or of a sample
  double outlier_gap = 4.0;            // data.outliers: ... and this many from every other value (isolated)
  double near_constant_fraction = 0.95;  // data.outliers: skip features with one value in this many rows
  int list_first = 5;                  // how many rows or features a message lists
};

}  // namespace preflight
