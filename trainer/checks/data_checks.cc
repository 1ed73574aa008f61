#include "trainer/checks/data_checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "runtime/hash.h"

namespace preflight {
namespace {

const float* row(const Dataset& data, int64_t r) { return &data.features[static_cast<size_t>(r * data.sample_elements())]; }

bool same_row(const Dataset& a, int64_t ra, const Dataset& b, int64_t rb) {
  return std::memcmp(row(a, ra), row(b, rb), static_cast<size_t>(a.sample_elements()) * sizeof(float)) == 0;
}

std::string list_indices(const std::vector<int64_t>& indices, int limit) {
  std::string text;
  for (size_t i = 0; i < indices.size() && static_cast<int>(i) < limit; ++i) {
    text += (i ? ", " : "") + std::to_string(indices[i]);
  }
  if (indices.size() > static_cast<size_t>(limit)) text += ", ...";
  return text;
}

}  // namespace

CheckResult check_finite(const Dataset& train, const Dataset& validation, const DataCheckThresholds&) {
  int64_t bad = 0;
  std::string first;
  for (const Dataset* data : {&train, &validation}) {
    const int64_t width = data->sample_elements();
    for (size_t i = 0; i < data->features.size(); ++i) {
      if (std::isfinite(data->features[i])) continue;
      if (bad++ == 0) {
        first = format_text("%s row %lld, feature %lld is %s", data == &train ? "train" : "validation",
                       static_cast<long long>(static_cast<int64_t>(i) / width),
                       static_cast<long long>(static_cast<int64_t>(i) % width),
                       std::isnan(data->features[i]) ? "NaN" : "infinite");
      }
    }
  }
  if (bad == 0) return make_result("data.finite", Verdict::kPass, 0, 0, "every feature value is finite");
  return make_result("data.finite", Verdict::kFail, static_cast<double>(bad), 0,
                format_text("%lld non-finite values; the first: %s. Clean or impute them before training",
                       static_cast<long long>(bad), first.c_str()));
}

CheckResult check_labels(const Dataset& train, const Dataset& validation, int64_t classes, const DataCheckThresholds&) {
  if (!train.classification || classes <= 0) {
    return make_result("data.labels", Verdict::kSkipped, 0, 0, "regression: no class labels to check");
  }
  for (const Dataset* data : {&train, &validation}) {
    for (int64_t r = 0; r < data->rows; ++r) {
      const int64_t label = data->labels[static_cast<size_t>(r)];
      if (label < 0 || label >= classes) {
        return make_result("data.labels", Verdict::kFail, static_cast<double>(label), static_cast<double>(classes),
                      format_text("%s row %lld has label %lld, outside [0, %lld): the model has %lld classes",
                             data == &train ? "train" : "validation", static_cast<long long>(r),
                             static_cast<long long>(label), static_cast<long long>(classes), static_cast<long long>(classes)));
      }
    }
  }
  std::vector<int64_t> counts(static_cast<size_t>(classes), 0);
  for (int64_t label : train.labels) ++counts[static_cast<size_t>(label)];
  std::vector<int64_t> missing;
  for (int64_t c = 0; c < classes; ++c) {
    if (counts[static_cast<size_t>(c)] == 0) missing.push_back(c);
  }
  if (!missing.empty()) {
    return make_result("data.labels", Verdict::kFail, static_cast<double>(missing.size()), 0,
                  format_text("classes %s never appear in the training split: the model cannot learn them",
                         list_indices(missing, 10).c_str()));
  }
  return make_result("data.labels", Verdict::kPass, static_cast<double>(classes), static_cast<double>(classes),
                format_text("labels lie in [0, %lld) and every class appears in train", static_cast<long long>(classes)));
}

CheckResult check_balance(const Dataset& train, int64_t classes, const DataCheckThresholds& thresholds) {
  if (!train.classification || classes <= 0) return make_result("data.balance", Verdict::kSkipped, 0, 0, "regression");
  std::vector<int64_t> counts(static_cast<size_t>(classes), 0);
  for (int64_t label : train.labels) {
    if (label >= 0 && label < classes) ++counts[static_cast<size_t>(label)];
  }
  const auto [smallest, largest] = std::minmax_element(counts.begin(), counts.end());
  const double ratio = *smallest > 0 ? static_cast<double>(*largest) / static_cast<double>(*smallest) : INFINITY;
  std::string listed;
  for (int64_t c = 0; c < classes && c < 20; ++c) listed += (c ? " " : "") + std::to_string(counts[static_cast<size_t>(c)]);
  const bool warn = ratio > thresholds.imbalance_warn;
  return make_result("data.balance", warn ? Verdict::kWarn : Verdict::kPass, ratio, thresholds.imbalance_warn,
                format_text("class counts %s; largest / smallest %.2f%s", listed.c_str(), ratio,
                       warn ? ": initialise the final bias to the class prior, or reweight" : ""));
}

CheckResult check_duplicates(const Dataset& train, const DataCheckThresholds& thresholds) {
  const size_t width = static_cast<size_t>(train.sample_elements()) * sizeof(float);
  std::unordered_multimap<uint64_t, int64_t> seen;
  std::vector<int64_t> duplicates;
  for (int64_t r = 0; r < train.rows; ++r) {
    const uint64_t key = fnv1a(row(train, r), width);
    bool found = false;
    const auto range = seen.equal_range(key);
    for (auto it = range.first; it != range.second && !found; ++it) found = same_row(train, it->second, train, r);
    if (found) duplicates.push_back(r);
    else seen.emplace(key, r);
  }
  const double fraction = train.rows ? static_cast<double>(duplicates.size()) / static_cast<double>(train.rows) : 0.0;
  const bool warn = fraction > thresholds.duplicate_warn_fraction;
  return make_result("data.duplicates", warn ? Verdict::kWarn : Verdict::kPass, fraction, thresholds.duplicate_warn_fraction,
                duplicates.empty() ? std::string("no two training rows are identical")
                                   : format_text("%zu training rows (%.1f%%) repeat an earlier row: rows %s", duplicates.size(),
                                            100.0 * fraction, list_indices(duplicates, thresholds.list_first).c_str()));
}

CheckResult check_leakage(const Dataset& train, const Dataset& validation, const DataCheckThresholds& thresholds) {
  if (validation.rows == 0) return make_result("data.leakage", Verdict::kSkipped, 0, 0, "no validation split");
  const size_t width = static_cast<size_t>(train.sample_elements()) * sizeof(float);
  std::unordered_multimap<uint64_t, int64_t> in_train;
  for (int64_t r = 0; r < train.rows; ++r) in_train.emplace(fnv1a(row(train, r), width), r);
  std::vector<int64_t> leaked;
  for (int64_t r = 0; r < validation.rows; ++r) {
    const auto range = in_train.equal_range(fnv1a(row(validation, r), width));
    for (auto it = range.first; it != range.second; ++it) {
      if (same_row(train, it->second, validation, r)) {
        leaked.push_back(r);
        break;
      }
    }
  }
  if (leaked.empty()) return make_result("data.leakage", Verdict::kPass, 0, 0, "no validation row occurs in train");
  return make_result("data.leakage", Verdict::kFail, static_cast<double>(leaked.size()), 0,
                format_text("%zu validation rows also occur in train (validation rows %s): validation scores are inflated; "
                       "split before augmenting and remove duplicates across the splits",
                       leaked.size(), list_indices(leaked, thresholds.list_first).c_str()));
}

CheckResult check_outliers(const Dataset& train, const DataCheckThresholds& thresholds) {
  const int64_t width = train.sample_elements();
  std::vector<int64_t> constant;
  struct Outlier { double z; int64_t row, feature; float value; };
  std::vector<Outlier> outliers;
  for (int64_t f = 0; f < width; ++f) {
    double sum = 0.0, squares = 0.0;
    for (int64_t r = 0; r < train.rows; ++r) sum += row(train, r)[f];
    const double mean = train.rows ? sum / static_cast<double>(train.rows) : 0.0;
    for (int64_t r = 0; r < train.rows; ++r) squares += (row(train, r)[f] - mean) * (row(train, r)[f] - mean);
    const double std = train.rows ? std::sqrt(squares / static_cast<double>(train.rows)) : 0.0;
    if (std == 0.0) {
      constant.push_back(f);
      continue;
    }
    for (int64_t r = 0; r < train.rows; ++r) {
      const double z = std::fabs(row(train, r)[f] - mean) / std;
      if (z > thresholds.outlier_z) outliers.push_back({z, r, f, row(train, r)[f]});
    }
  }
  std::sort(outliers.begin(), outliers.end(), [](const Outlier& a, const Outlier& b) { return a.z > b.z; });
  std::string top;
  for (size_t i = 0; i < outliers.size() && static_cast<int>(i) < thresholds.list_first; ++i) {
    top += format_text("%srow %lld feature %lld = %g (z %.1f)", i ? "; " : "", static_cast<long long>(outliers[i].row),
                  static_cast<long long>(outliers[i].feature), static_cast<double>(outliers[i].value), outliers[i].z);
  }
  const std::string constants = constant.empty() ? std::string("none")
                                                 : format_text("%zu (features %s)", constant.size(),
                                                          list_indices(constant, thresholds.list_first).c_str());
  if (outliers.empty()) {
    return make_result("data.outliers", Verdict::kPass, 0, thresholds.outlier_z,
                  format_text("no value beyond %.1f standard deviations; constant features: %s", thresholds.outlier_z,
                         constants.c_str()));
  }
  return make_result("data.outliers", Verdict::kWarn, outliers.front().z, thresholds.outlier_z,
                format_text("%zu values beyond %.1f standard deviations, the largest: %s; constant features: %s",
                       outliers.size(), thresholds.outlier_z, top.c_str(), constants.c_str()));
}

CheckResult check_stats(const Dataset& train) {
  const int64_t width = train.sample_elements();
  double lowest = INFINITY, highest = -INFINITY, sum = 0.0;
  for (float v : train.features) {
    lowest = std::min(lowest, static_cast<double>(v));
    highest = std::max(highest, static_cast<double>(v));
    sum += v;
  }
  const double mean = train.features.empty() ? 0.0 : sum / static_cast<double>(train.features.size());
  std::string text = format_text("%lld rows x %lld features; values in [%g, %g], mean %.4g", static_cast<long long>(train.rows),
                            static_cast<long long>(width), lowest, highest, mean);
  if (!train.classification && !train.targets.empty()) {
    double target_sum = 0.0, target_squares = 0.0;
    for (float t : train.targets) target_sum += t;
    const double target_mean = target_sum / static_cast<double>(train.targets.size());
    for (float t : train.targets) target_squares += (t - target_mean) * (t - target_mean);
    text += format_text("; target mean %.4g, std %.4g", target_mean, std::sqrt(target_squares / static_cast<double>(train.targets.size())));
  }
  return make_result("data.stats", Verdict::kPass, mean, 0, text);
}

std::vector<CheckResult> run_data_checks(const Dataset& train, const Dataset& validation, int64_t classes,
                                         const DataCheckThresholds& thresholds) {
  return {check_finite(train, validation, thresholds),     check_labels(train, validation, classes, thresholds),
          check_balance(train, classes, thresholds),        check_duplicates(train, thresholds),
          check_leakage(train, validation, thresholds),     check_outliers(train, thresholds),
          check_stats(train)};
}

}  // namespace preflight
