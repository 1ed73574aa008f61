#include "trainer/checks/data_checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "runtime/file_io.h"
#include "core/hash.h"

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

// The values of `values` that are isolated extremes: beyond `z` standard deviations of the mean
// and separated from the rest by a gap of more than `gap` standard deviations (sentinel values
// such as -999, a unit mistake), as opposed to the continuous tail of a skewed feature. Returns
// their indices.
std::vector<int64_t> isolated_extremes(const std::vector<double>& values, double z, double gap) {
  std::vector<int64_t> found;
  const size_t n = values.size();
  if (n < 3) return found;
  double mean = 0.0, squares = 0.0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(n);
  for (double v : values) squares += (v - mean) * (v - mean);
  const double std = std::sqrt(squares / static_cast<double>(n));
  if (std == 0.0) return found;
  std::vector<int64_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<int64_t>(i);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return values[static_cast<size_t>(a)] < values[static_cast<size_t>(b)]; });
  const auto at = [&](size_t i) { return values[static_cast<size_t>(order[i])]; };
  // Upper tail: the innermost gap beyond which every value is an outlier.
  size_t upper = n;
  for (size_t i = n - 1; i >= 1 && (at(i) - mean) / std > z; --i) {
    if (at(i) - at(i - 1) > gap * std) upper = i;
  }
  for (size_t i = upper; i < n; ++i) found.push_back(order[i]);
  size_t lower = 0;  // exclusive end of the lower outliers
  for (size_t i = 0; i + 1 < n && (mean - at(i)) / std > z; ++i) {
    if (at(i + 1) - at(i) > gap * std) lower = i + 1;
  }
  for (size_t i = 0; i < lower; ++i) found.push_back(order[i]);
  return found;
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
  std::vector<int64_t> constant, sparse;
  struct Outlier { double z; int64_t row, feature; float value; };
  std::vector<Outlier> outliers;
  std::vector<double> means(static_cast<size_t>(width), 0.0), stds(static_cast<size_t>(width), 0.0);
  std::unordered_map<float, int64_t> counts;
  for (int64_t f = 0; f < width; ++f) {
    double sum = 0.0, squares = 0.0;
    for (int64_t r = 0; r < train.rows; ++r) sum += row(train, r)[f];
    const double mean = train.rows ? sum / static_cast<double>(train.rows) : 0.0;
    for (int64_t r = 0; r < train.rows; ++r) squares += (row(train, r)[f] - mean) * (row(train, r)[f] - mean);
    const double std = train.rows ? std::sqrt(squares / static_cast<double>(train.rows)) : 0.0;
    means[static_cast<size_t>(f)] = mean, stds[static_cast<size_t>(f)] = std;
    if (std == 0.0) {
      constant.push_back(f);
      continue;
    }
    // A feature that is one value in nearly every row (a border pixel that is almost always 0):
    // its rare other values have large z-scores by construction, not because they are wrong.
    counts.clear();
    int64_t mode = 0;
    for (int64_t r = 0; r < train.rows; ++r) mode = std::max(mode, ++counts[row(train, r)[f]]);
    if (static_cast<double>(mode) >= thresholds.near_constant_fraction * static_cast<double>(train.rows)) {
      sparse.push_back(f);
      continue;
    }
    std::vector<double> column(static_cast<size_t>(train.rows));
    for (int64_t r = 0; r < train.rows; ++r) column[static_cast<size_t>(r)] = row(train, r)[f];
    for (int64_t r : isolated_extremes(column, thresholds.outlier_z, thresholds.outlier_gap)) {
      outliers.push_back({std::fabs(column[static_cast<size_t>(r)] - mean) / std, r, f, row(train, r)[f]});
    }
  }
  // Per sample: the distance of each row from the mean row in standard deviations of each
  // feature, then the z-score of that distance among the rows.
  std::vector<double> distances(static_cast<size_t>(train.rows), 0.0);
  for (int64_t r = 0; r < train.rows; ++r) {
    double squares = 0.0;
    for (int64_t f = 0; f < width; ++f) {
      if (stds[static_cast<size_t>(f)] == 0.0) continue;
      const double d = (row(train, r)[f] - means[static_cast<size_t>(f)]) / stds[static_cast<size_t>(f)];
      squares += d * d;
    }
    distances[static_cast<size_t>(r)] = std::sqrt(squares);
  }
  double distance_mean = 0.0, distance_squares = 0.0;
  for (double d : distances) distance_mean += d;
  distance_mean /= static_cast<double>(train.rows ? train.rows : 1);
  for (double d : distances) distance_squares += (d - distance_mean) * (d - distance_mean);
  const double distance_std = std::sqrt(distance_squares / static_cast<double>(train.rows ? train.rows : 1));
  std::vector<Outlier> samples;
  for (int64_t r : isolated_extremes(distances, thresholds.outlier_z, thresholds.outlier_gap)) {
    if (distances[static_cast<size_t>(r)] > distance_mean) {
      samples.push_back({(distances[static_cast<size_t>(r)] - distance_mean) / distance_std, r, -1, 0.0f});
    }
  }
  std::sort(outliers.begin(), outliers.end(), [](const Outlier& a, const Outlier& b) { return a.z > b.z; });
  std::sort(samples.begin(), samples.end(), [](const Outlier& a, const Outlier& b) { return a.z > b.z; });
  std::string top;
  for (size_t i = 0; i < outliers.size() && static_cast<int>(i) < thresholds.list_first; ++i) {
    top += format_text("%srow %lld feature %lld = %g (z %.1f)", i ? "; " : "", static_cast<long long>(outliers[i].row),
                  static_cast<long long>(outliers[i].feature), static_cast<double>(outliers[i].value), outliers[i].z);
  }
  std::string top_samples;
  for (size_t i = 0; i < samples.size() && static_cast<int>(i) < thresholds.list_first; ++i) {
    top_samples += format_text("%srow %lld (z %.1f)", i ? "; " : "", static_cast<long long>(samples[i].row), samples[i].z);
  }
  const auto listed = [&](const std::vector<int64_t>& features) {
    if (features.empty()) return std::string("none");
    return format_text("%zu (features %s)", features.size(), list_indices(features, thresholds.list_first).c_str());
  };
  const std::string tail = format_text("constant features: %s; near-constant (one value in >= %.0f%% of rows, not "
                                       "scored): %s",
                                       listed(constant).c_str(), 100.0 * thresholds.near_constant_fraction,
                                       listed(sparse).c_str());
  if (outliers.empty() && samples.empty()) {
    return make_result("data.outliers", Verdict::kPass, 0, thresholds.outlier_z,
                  format_text("no value and no sample beyond %.1f standard deviations and isolated by %.1f; %s",
                              thresholds.outlier_z, thresholds.outlier_gap, tail.c_str()));
  }
  const double largest = std::max(outliers.empty() ? 0.0 : outliers.front().z, samples.empty() ? 0.0 : samples.front().z);
  std::string found;
  if (!outliers.empty()) {
    found += format_text("%zu values beyond %.1f standard deviations of their feature and %.1f from any other value, the "
                         "largest: %s", outliers.size(), thresholds.outlier_z, thresholds.outlier_gap, top.c_str());
  }
  if (!samples.empty()) {
    found += format_text("%s%zu samples far from the rest: %s", found.empty() ? "" : "; ", samples.size(),
                         top_samples.c_str());
  }
  return make_result("data.outliers", Verdict::kWarn, largest, thresholds.outlier_z,
                     found + ". Look at these rows (units, typos, sensor faults); " + tail);
}

CheckResult check_stats(const Dataset& train, const std::string& folder) {
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
    double target_mean = 0.0, target_variance = 0.0;
    target_moments(train, &target_mean, &target_variance);
    text += format_text("; target mean %.4g, std %.4g", target_mean, std::sqrt(target_variance));
  }
  CheckResult result = make_result("data.stats", Verdict::kPass, mean, 0, text);
  if (!folder.empty()) {
    // Per feature: mean, standard deviation, min, max (data_stats.csv; the report shows it).
    std::string csv = "feature,mean,std,min,max\n";
    for (int64_t f = 0; f < width; ++f) {
      double feature_sum = 0.0, squares = 0.0, low = INFINITY, high = -INFINITY;
      for (int64_t r = 0; r < train.rows; ++r) {
        const double v = row(train, r)[f];
        feature_sum += v, low = std::min(low, v), high = std::max(high, v);
      }
      const double feature_mean = train.rows ? feature_sum / static_cast<double>(train.rows) : 0.0;
      for (int64_t r = 0; r < train.rows; ++r) squares += (row(train, r)[f] - feature_mean) * (row(train, r)[f] - feature_mean);
      csv += format_text("%lld,%.4g,%.4g,%.4g,%.4g\n", static_cast<long long>(f + 1), feature_mean,
                         train.rows ? std::sqrt(squares / static_cast<double>(train.rows)) : 0.0, low, high);
    }
    const Status status =
        write_file_atomic((folder + "/data_stats.csv").c_str(), reinterpret_cast<const uint8_t*>(csv.data()), csv.size());
    if (!status.is_ok()) return make_result("data.stats", Verdict::kFail, NAN, 0, status.message());
    result.evidence.push_back("data_stats.csv");
  }
  return result;
}

std::vector<CheckResult> run_data_checks(const Dataset& train, const Dataset& validation, int64_t classes,
                                         const DataCheckThresholds& thresholds, const std::string& folder) {
  return {check_finite(train, validation, thresholds),     check_labels(train, validation, classes, thresholds),
          check_balance(train, classes, thresholds),        check_duplicates(train, thresholds),
          check_leakage(train, validation, thresholds),     check_outliers(train, thresholds),
          check_stats(train, folder)};
}

}  // namespace preflight
