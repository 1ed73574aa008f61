// Section 1 of the recipe, "become one with the data": checks that need no network.
//
//   data.finite      every feature value is finite                      fail: names row and column
//   data.labels      labels in [0, classes); every class in train       fail
//   data.balance     class counts; largest / smallest                   warn above 3
//   data.duplicates  identical rows inside the training split           warn above 1% of rows
//   data.leakage     validation rows that also occur in train           fail when any
//   data.outliers    values (and samples) beyond 6 standard deviations and isolated from the
//                    rest by a gap of 4: sentinels, unit mistakes; constant features      warn
//   data.stats       per-feature mean, std, min, max (and the target's)  report only
#pragma once

#include "trainer/checks/check.h"
#include "trainer/dataset.h"

namespace preflight {

// `classes`: the model's class count (0 for regression). `validation` may have no rows. With a
// `folder`, data.stats writes data_stats.csv there.
std::vector<CheckResult> run_data_checks(const Dataset& train, const Dataset& validation, int64_t classes,
                                         const DataCheckThresholds& thresholds = DataCheckThresholds(),
                                         const std::string& folder = "");

CheckResult check_finite(const Dataset& train, const Dataset& validation, const DataCheckThresholds& thresholds);
CheckResult check_labels(const Dataset& train, const Dataset& validation, int64_t classes,
                         const DataCheckThresholds& thresholds);
CheckResult check_balance(const Dataset& train, int64_t classes, const DataCheckThresholds& thresholds);
CheckResult check_duplicates(const Dataset& train, const DataCheckThresholds& thresholds);
CheckResult check_leakage(const Dataset& train, const Dataset& validation, const DataCheckThresholds& thresholds);
CheckResult check_outliers(const Dataset& train, const DataCheckThresholds& thresholds);
CheckResult check_stats(const Dataset& train, const std::string& folder = "");

}  // namespace preflight
