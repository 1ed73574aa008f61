// Section 3 of the recipe: capacity, generalisation and the learning-rate default, each passing on
// a healthy run and failing or warning on a planted problem.
#include <algorithm>
#include <random>

#include "models/models.h"
#include "graph/training.h"
#include "test_util.h"
#include "trainer/checks/training_checks.h"

namespace preflight {
namespace {

struct Split {
  Dataset train, validation;
};

const Split& digits() {
  static Split s = [] {
    Split split;
    Result<Dataset> data = load_dataset(test::source_path("data/digits.csv.gz"));
    REQUIRE(data.is_ok());
    for (float& v : data->features) v /= 16.0f;
    REQUIRE(split_dataset(*data, 0.2, 2, &split.train, &split.validation).is_ok());
    return split;
  }();
  return s;
}

TrainerFactory mlp() {
  Result<graph::Graph> g = models::build_model("mlp", 32, 1);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  return trainer_factory(*g);
}

TrainingCheckConfig quick() {
  TrainingCheckConfig config;
  config.train.epochs = 6;
  config.train.lr = 3e-3f;
  return config;
}

const CheckResult& find(const std::vector<CheckResult>& results, const std::string& id) {
  for (const CheckResult& r : results) {
    if (r.id == id) return r;
  }
  FAIL("no " << id);
  return results.front();
}

TEST_CASE("training checks: a healthy run passes capacity and generalisation") {
  const auto results = run_training_checks(mlp(), digits().train, digits().validation, quick());
  REQUIRE(results.size() == 3);
  for (const CheckResult& r : results) CHECK_MESSAGE(r.verdict == Verdict::kPass, r.id << ": " << r.explanation);
  CHECK(find(results, "train.capacity").measured >= 0.95);
}

TEST_CASE("training checks: learning rate 0 fails train.capacity") {
  TrainingCheckConfig config = quick();
  config.train.lr = 0.0f;
  const std::vector<CheckResult> r_results = run_training_checks(mlp(), digits().train, digits().validation, config);
  const CheckResult& r = find(r_results, "train.capacity");
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "cannot fit its training data"));
}

TEST_CASE("training checks: a validation split that shares nothing with train warns train.generalisation") {
  Dataset unrelated = digits().validation;
  std::mt19937 rng(1);
  std::shuffle(unrelated.labels.begin(), unrelated.labels.end(), rng);  // labels carry no signal there
  const std::vector<CheckResult> r_results = run_training_checks(mlp(), digits().train, unrelated, quick());
  const CheckResult& r = find(r_results, "train.generalisation");
  CHECK(r.verdict == Verdict::kWarn);
  CHECK(test::contains(r.explanation.c_str(), "It overfits"));
}

TEST_CASE("training checks: a schedule that reaches ~0 before the last 10% warns train.lr_default") {
  const TrainingCheckConfig defaults;
  CHECK(schedule_factor(defaults.train, 0.9) == 1.0);  // Adam at 3e-4, constant
  TrainingCheckConfig config = quick();
  config.train.schedule = "cosine";
  CHECK(schedule_factor(config.train, 0.9) == doctest::Approx(0.5 * (1 + std::cos(0.9 * M_PI))));  // 2.4%: fine
  config.train.schedule = "step";
  config.train.step_every = 1;
  config.train.step_gamma = 0.1f;
  config.train.epochs = 10;
  config.train.max_steps = 5;  // the verdict depends on the schedule alone: keep the run short
  CHECK(schedule_factor(config.train, 0.9) == doctest::Approx(1e-9));
  const std::vector<CheckResult> results = run_training_checks(mlp(), digits().train, digits().validation, config);
  const CheckResult& warned = find(results, "train.lr_default");
  CHECK(warned.verdict == Verdict::kWarn);
  CHECK(test::contains(warned.explanation.c_str(), "near 0 before the last 10%"));
}

}  // namespace
}  // namespace preflight
