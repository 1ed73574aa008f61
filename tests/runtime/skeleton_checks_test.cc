// Section 2 of the recipe: each skeleton check passes on the healthy digits MLP and fails on the
// planted bug of RECIPE.md that it exists to catch, with a message that names the cause.
#include <algorithm>
#include <random>

#include "models/models.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "test_util.h"
#include "trainer/checks/skeleton_checks.h"

namespace preflight {
namespace {

struct Digits {
  Dataset train, validation;
};

const Digits& digits() {
  static Digits d;
  static bool loaded = false;
  if (!loaded) {
    Result<Dataset> data = load_dataset(test::source_path("data/digits.csv.gz"));
    REQUIRE(data.is_ok());
    for (float& v : data->features) v /= 16.0f;
    REQUIRE(split_dataset(*data, 0.2, 5, &d.train, &d.validation).is_ok());
    loaded = true;
  }
  return d;
}

graph::Graph exported(graph::Graph g) {
  graph::TrainingOptions options;
  REQUIRE(graph::add_training_methods(&g, options).is_ok());
  return g;
}

graph::Graph healthy_mlp() {
  Result<graph::Graph> g = models::build_model("mlp", 32, 1);
  REQUIRE(g.is_ok());
  return exported(std::move(g).value());
}

SkeletonConfig config() {
  SkeletonConfig c;
  c.train.lr = 3e-3f;
  c.train.batch = 32;
  c.steps = 60;
  c.overfit_steps = 150;
  return c;
}

void scale(graph::Graph& g, const std::string& name, float factor) {
  REQUIRE(g.find_tensor(name) >= 0);
  auto& data = g.tensors[static_cast<size_t>(g.find_tensor(name))].data;
  float* values = reinterpret_cast<float*>(data.data());
  for (size_t i = 0; i < data.size() / sizeof(float); ++i) values[i] *= factor;
}

TEST_CASE("skeleton checks: the healthy digits MLP passes every check") {
  const Digits& d = digits();
  const TrainerFactory make = trainer_factory(healthy_mlp());
  const SkeletonConfig c = config();
  std::unique_ptr<Trainer> trained;
  const std::vector<CheckResult> results = {
      check_init_loss(make, d.train, 10, c),
      check_loss_decreases(make, d.train, c, &trained),
      check_overfit_batch(make, d.train, c),
      check_input_independent(make, d.train, c),
      check_dumb_baseline(trained.get(), d.train, d.validation),
      check_determinism([&] { return short_run(make, d.train, c); }),
  };
  for (const CheckResult& r : results) {
    CHECK_MESSAGE(r.verdict == Verdict::kPass, r.id << ": " << r.explanation);
  }
}

TEST_CASE("planted: final layer weights scaled by 100 fail skeleton.init_loss") {
  graph::Graph g = healthy_mlp();
  scale(g, "linear_4.weight", 100.0f);
  const CheckResult r = check_init_loss(trainer_factory(g), digits().train, 10, config());
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "far from uniform"));
  CHECK(r.measured > 1.5 * r.threshold);
}

TEST_CASE("planted: a model that multiplies its input by zero fails skeleton.input_independent") {
  graph::GraphBuilder b(1);
  graph::Value x = b.input("x", DType::F32, {32, 64});
  graph::Value ignored = b.mul(x, b.constant("zero", make_desc(DType::F32, {1}), {0.0f}));
  b.output(b.linear(b.relu(b.linear(ignored, 64)), 10), "logits");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  const CheckResult r = check_input_independent(trainer_factory(exported(std::move(g).value())), digits().train, config());
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "learns nothing from its inputs"));
}

TEST_CASE("planted: shuffled labels fail skeleton.input_independent") {
  Dataset shuffled = digits().train;
  std::mt19937 rng(3);
  std::shuffle(shuffled.labels.begin(), shuffled.labels.end(), rng);
  const CheckResult r = check_input_independent(trainer_factory(healthy_mlp()), shuffled, config());
  CHECK(r.verdict == Verdict::kFail);
}

TEST_CASE("planted: learning rate 10 fails skeleton.loss_decreases") {
  SkeletonConfig c = config();
  c.train.lr = 10.0f;
  const CheckResult r = check_loss_decreases(trainer_factory(healthy_mlp()), digits().train, c);
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "training diverges; lower the learning rate"));
}

TEST_CASE("planted: a run that turns non-finite fails skeleton.loss_decreases naming the first non-finite op") {
  Result<graph::Graph> g = models::build_model("mlp", 32, 1);
  REQUIRE(g.is_ok());
  graph::TrainingOptions sgd;
  sgd.optimizer = graph::OptimizerKind::kSgd;
  REQUIRE(graph::add_training_methods(&*g, sgd).is_ok());
  SkeletonConfig c = config();
  c.train.lr = 1e6f;
  c.train.momentum = 0.0f;
  const CheckResult r = check_loss_decreases(trainer_factory(*g), digits().train, c);
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "training diverged: epoch 1, step"));
  CHECK(test::contains(r.explanation.c_str(), "method 'train_step' node 4 (Linear 'linear_4')"));
  CHECK(test::contains(r.explanation.c_str(), "non-finite values"));
}

TEST_CASE("planted: learning rate 0 fails skeleton.overfit_batch and skeleton.loss_decreases") {
  SkeletonConfig c = config();
  c.train.lr = 0.0f;
  c.overfit_lr = 0.0f;
  const TrainerFactory make = trainer_factory(healthy_mlp());
  const CheckResult overfit = check_overfit_batch(make, digits().train, c);
  CHECK(overfit.verdict == Verdict::kFail);
  CHECK(test::contains(overfit.explanation.c_str(), "cannot memorise 8 samples"));
  CHECK(check_loss_decreases(make, digits().train, c).verdict == Verdict::kFail);
}

TEST_CASE("planted: frozen weights (only a bias trains) fail skeleton.overfit_batch") {
  Result<graph::Graph> g = models::build_model("mlp", 32, 1);
  REQUIRE(g.is_ok());
  graph::TrainingOptions options;
  options.trainable = "linear_4.bias$";  // everything else frozen: it cannot memorise 8 digits
  REQUIRE(graph::add_training_methods(&*g, options).is_ok());
  const CheckResult r = check_overfit_batch(trainer_factory(*g), digits().train, config());
  CHECK(r.verdict == Verdict::kFail);
}

TEST_CASE("planted: unseeded shuffling fails skeleton.determinism") {
  const TrainerFactory make = trainer_factory(healthy_mlp());
  const SkeletonConfig c = config();
  const auto unseeded = [&]() {
    Dataset data = digits().train;  // the pipeline shuffles with a random device: not reproducible
    std::vector<int64_t> order(static_cast<size_t>(data.rows));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::random_device device;
    std::mt19937 rng(device());
    std::shuffle(order.begin(), order.end(), rng);
    Dataset shuffled = data;
    gather_batch(data, order.data(), data.rows, shuffled.features.data(), shuffled.labels.data());
    return short_run(make, shuffled, c);
  };
  const CheckResult r = check_determinism(unseeded);
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "something is not seeded"));
}

TEST_CASE("planted: a constant model fails skeleton.dumb_baseline") {
  graph::Graph g = healthy_mlp();
  scale(g, "linear_4.weight", 0.0f);
  scale(g, "linear_4.bias", 0.0f);
  Result<std::unique_ptr<Trainer>> trainer = Trainer::create(g);
  REQUIRE(trainer.is_ok());
  const CheckResult r = check_dumb_baseline(trainer->get(), digits().train, digits().validation);
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "no better than a constant"));
}

}  // namespace
}  // namespace preflight

namespace preflight {
namespace {

// breast_cancer (212 : 357), features standardised, an MLP 30 -> 16 -> 2.
struct Cancer {
  Dataset train, validation;
  graph::Graph model;
};

Cancer cancer_setup(bool init_bias) {
  Cancer c;
  Result<Dataset> data = load_dataset(test::source_path("data/breast_cancer.csv"));
  REQUIRE(data.is_ok());
  const int64_t width = data->sample_elements();
  for (int64_t f = 0; f < width; ++f) {
    double sum = 0, squares = 0;
    for (int64_t r = 0; r < data->rows; ++r) sum += data->features[static_cast<size_t>(r * width + f)];
    const double mean = sum / static_cast<double>(data->rows);
    for (int64_t r = 0; r < data->rows; ++r) {
      const double d = data->features[static_cast<size_t>(r * width + f)] - mean;
      squares += d * d;
    }
    const double std = std::sqrt(squares / static_cast<double>(data->rows));
    for (int64_t r = 0; r < data->rows; ++r) {
      float& v = data->features[static_cast<size_t>(r * width + f)];
      v = static_cast<float>((v - mean) / (std > 0 ? std : 1.0));
    }
  }
  REQUIRE(split_dataset(*data, 0.2, 1, &c.train, &c.validation).is_ok());
  graph::GraphBuilder b(2);
  graph::Value x = b.input("x", DType::F32, {32, 30});
  b.output(b.linear(b.relu(b.linear(x, 16)), 2), "logits");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  if (init_bias) REQUIRE(graph::set_final_bias(&*g, prior_bias(c.train, 2)).is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  c.model = std::move(g).value();
  return c;
}

TEST_CASE("skeleton.init_bias: the prior-initialised bias starts breast_cancer at its class prior") {
  const Cancer c = cancer_setup(true);
  const std::vector<float> bias = prior_bias(c.train, 2);
  CHECK(std::exp(bias[0]) + std::exp(bias[1]) == doctest::Approx(1.0));
  const CheckResult r = check_init_bias(trainer_factory(c.model), c.train, 2, true);
  CHECK_MESSAGE(r.verdict == Verdict::kPass, r.explanation);
  CHECK(check_init_bias(trainer_factory(c.model), c.train, 2, false).verdict == Verdict::kSkipped);
  CHECK(check_init_loss(trainer_factory(cancer_setup(false).model), c.train, 2, config()).verdict == Verdict::kPass);
}

TEST_CASE("planted: init_bias requested but final weights scaled by 100 fails skeleton.init_bias") {
  Cancer c = cancer_setup(true);
  scale(c.model, "linear_2.weight", 100.0f);
  const CheckResult r = check_init_bias(trainer_factory(c.model), c.train, 2, true);
  CHECK(r.verdict == Verdict::kFail);
  CHECK(test::contains(r.explanation.c_str(), "ignore the prior"));
}

TEST_CASE("set_final_bias: refuses predictions that do not come from a Linear with a bias of the right size") {
  graph::GraphBuilder b(2);
  b.output(b.softmax(b.linear(b.input("x", DType::F32, {4, 3}), 2), -1), "probabilities");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  CHECK(test::contains(graph::set_final_bias(&*g, {0.0f, 0.0f}).message(), "only a Linear with a bias can start from the prior"));
  Cancer c = cancer_setup(false);
  CHECK(test::contains(graph::set_final_bias(&c.model, {0.0f, 0.0f, 0.0f}).message(), "has 2 values, the prior has 3"));
}

}  // namespace
}  // namespace preflight
