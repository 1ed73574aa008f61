// Section 1 of the recipe: each data check passes on healthy bundled data and fails (or warns)
// on a planted problem, naming the rows and features.
#include <fstream>

#include "test_util.h"
#include "trainer/checks/data_checks.h"

namespace preflight {
namespace {

Dataset load(const std::string& file, const DataOptions& options = DataOptions()) {
  Result<Dataset> data = load_dataset(test::source_path(file), options);
  REQUIRE_MESSAGE(data.is_ok(), std::string(data.status().message()));
  return std::move(data).value();
}

void split(const Dataset& data, Dataset* train, Dataset* validation) {
  REQUIRE(split_dataset(data, 0.2, 1, train, validation).is_ok());
}

const CheckResult& find(const std::vector<CheckResult>& results, const std::string& id) {
  for (const CheckResult& r : results) {
    if (r.id == id) return r;
  }
  FAIL("no check " << id);
  return results.front();
}

TEST_CASE("data checks: healthy iris and wine pass every check") {
  for (const char* file : {"data/iris.csv", "data/wine_data.csv"}) {
    Dataset train, validation;
    split(load(file), &train, &validation);
    const auto results = run_data_checks(train, validation, 3);
    REQUIRE(results.size() == 7);
    for (const CheckResult& r : results) {
      CHECK_MESSAGE(r.verdict == Verdict::kPass, std::string(file) << " " << r.id << ": " << r.explanation);
    }
    CHECK(find(results, "data.stats").explanation.find("rows x") != std::string::npos);
  }
}

TEST_CASE("data checks: a NaN in the data fails data.finite naming row and feature") {
  const std::string path = std::string(PREFLIGHT_TEST_OUTPUT) + "_nan.csv";
  std::ofstream(path) << "1,2,0\n3,4,1\n5,nan,0\n7,8,1\n9,10,0\n";
  DataOptions keep;
  keep.allow_non_finite = true;
  Result<Dataset> data = load_dataset(path, keep);
  REQUIRE(data.is_ok());
  const CheckResult r = check_finite(*data, Dataset(), DataCheckThresholds());
  CHECK(r.verdict == Verdict::kFail);
  CHECK(r.measured == 1);
  CHECK(test::contains(r.explanation.c_str(), "train row 2, feature 1 is NaN"));
  REQUIRE_FALSE(load_dataset(path).is_ok());  // without allow_non_finite the loader refuses it
}

TEST_CASE("data checks: validation rows copied from train fail data.leakage with their indices") {
  Dataset train, validation;
  split(load("data/iris.csv"), &train, &validation);
  CHECK(check_leakage(train, validation, DataCheckThresholds()).verdict == Verdict::kPass);
  // Plant: validation rows 3 and 7 become copies of training rows.
  for (int64_t v : {3, 7}) {
    std::memcpy(&validation.features[static_cast<size_t>(v * 4)], &train.features[static_cast<size_t>(v * 10 * 4)], 4 * sizeof(float));
  }
  const CheckResult r = check_leakage(train, validation, DataCheckThresholds());
  CHECK(r.verdict == Verdict::kFail);
  CHECK(r.measured >= 2);
  CHECK(test::contains(r.explanation.c_str(), "3, 7"));
}

TEST_CASE("data checks: labels out of range or a class missing from train fail data.labels") {
  Dataset train, validation;
  split(load("data/iris.csv"), &train, &validation);
  CHECK(check_labels(train, validation, 3, DataCheckThresholds()).verdict == Verdict::kPass);
  Dataset missing = train;
  for (int64_t& label : missing.labels) label = label == 2 ? 1 : label;
  const CheckResult absent = check_labels(missing, validation, 3, DataCheckThresholds());
  CHECK(absent.verdict == Verdict::kFail);
  CHECK(test::contains(absent.explanation.c_str(), "classes 2 never appear in the training split"));
  Dataset wrong = validation;
  wrong.labels[4] = 7;
  const CheckResult out_of_range = check_labels(train, wrong, 3, DataCheckThresholds());
  CHECK(out_of_range.verdict == Verdict::kFail);
  CHECK(test::contains(out_of_range.explanation.c_str(), "validation row 4 has label 7, outside [0, 3)"));
}

TEST_CASE("data checks: imbalance warns above the ratio; breast cancer (212:357) does not") {
  Dataset cancer = load("data/breast_cancer.csv");
  const CheckResult healthy = check_balance(cancer, 2, DataCheckThresholds());
  CHECK(healthy.verdict == Verdict::kPass);
  CHECK(healthy.measured == doctest::Approx(357.0 / 212.0));
  Dataset skewed = cancer;
  int64_t kept_zero = 0;
  for (int64_t& label : skewed.labels) {
    if (label == 0 && ++kept_zero > 50) label = 1;  // 50 : 519
  }
  const CheckResult warn = check_balance(skewed, 2, DataCheckThresholds());
  CHECK(warn.verdict == Verdict::kWarn);
  CHECK(test::contains(warn.explanation.c_str(), "class prior"));
}

TEST_CASE("data checks: duplicates above 1% warn with their rows; outliers warn naming row and feature") {
  Dataset train, validation;
  split(load("data/wine_data.csv"), &train, &validation);
  Dataset duplicated = train;
  for (int64_t r : {5, 9}) {
    std::memcpy(&duplicated.features[static_cast<size_t>(r * 13)], &duplicated.features[0], 13 * sizeof(float));
  }
  const CheckResult dup = check_duplicates(duplicated, DataCheckThresholds());
  CHECK(dup.verdict == Verdict::kWarn);  // 2 of 142 rows
  CHECK(test::contains(dup.explanation.c_str(), "rows 5, 9"));
  CHECK(check_duplicates(train, DataCheckThresholds()).verdict == Verdict::kPass);

  Dataset outlier = train;
  outlier.features[static_cast<size_t>(17 * 13 + 4)] = 1e6f;
  const CheckResult r = check_outliers(outlier, DataCheckThresholds());
  CHECK(r.verdict == Verdict::kWarn);
  CHECK(test::contains(r.explanation.c_str(), "row 17 feature 4 = 1e+06"));
}

TEST_CASE("data.outliers: sentinels and unit mistakes warn; skewed but healthy features and sparse pixels do not") {
  Dataset digits = load("data/digits.csv.gz");
  Dataset train, validation;
  split(digits, &train, &validation);
  // Border pixels that are 0 in nearly every image are not scored; rare strokes are not outliers.
  const CheckResult healthy = check_outliers(train, DataCheckThresholds());
  CHECK_MESSAGE(healthy.verdict == Verdict::kPass, healthy.explanation);
  CHECK(test::contains(healthy.explanation.c_str(), "near-constant"));

  split(load("data/iris.csv"), &train, &validation);
  Dataset sentinel = train;
  sentinel.features[static_cast<size_t>(7 * 4 + 2)] = -999.0f;  // "missing", the old way
  const CheckResult r = check_outliers(sentinel, DataCheckThresholds());
  CHECK(r.verdict == Verdict::kWarn);
  CHECK_MESSAGE(test::contains(r.explanation.c_str(), "row 7 feature 2 = -999"), r.explanation);
  CHECK(test::contains(r.explanation.c_str(), "samples far from the rest: row 7"));
  // Two identical sentinels still stand apart from the rest as a pair.
  sentinel.features[static_cast<size_t>(9 * 4 + 2)] = -999.0f;
  CHECK(test::contains(check_outliers(sentinel, DataCheckThresholds()).explanation.c_str(), "row 9 feature 2 = -999"));
  // A larger gap threshold lets them through.
  DataCheckThresholds lenient;
  lenient.outlier_gap = 50.0;
  lenient.outlier_z = 50.0;
  CHECK(check_outliers(sentinel, lenient).verdict == Verdict::kPass);
}

}  // namespace
}  // namespace preflight
