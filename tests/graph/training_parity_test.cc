// PyTorch parity: mlp and cnn8 trained 100 steps with SGD-momentum and with AdamW from the same
// initial weights on the same batches (tests/fixtures/make_training_parity.py) match PyTorch's
// loss at every step and its final weights.
#include <map>

#include "bench/models/models.h"
#include "graph/training.h"
#include "test_util.h"

namespace preflight {
namespace {

constexpr int kSteps = 100;
constexpr int64_t kBatch = 32;

std::string fixture(const std::string& name) { return "tests/fixtures/training/" + name + ".npy"; }

void run_parity(const std::string& model_name, const std::string& optimizer_name) {
  graph::TrainingOptions options;
  const bool adam_family = optimizer_name == "adamw" || optimizer_name == "adam";
  options.optimizer = optimizer_name == "adamw" ? graph::OptimizerKind::kAdamW
                      : optimizer_name == "adam" ? graph::OptimizerKind::kAdam
                                                 : graph::OptimizerKind::kSgd;
  options.clip_grad_norm = optimizer_name == "sgd_clip";
  options.nesterov = optimizer_name == "sgd_nesterov";
  Result<graph::Graph> g = models::build_model(model_name, kBatch, 99);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, options).is_ok());
  // PyTorch's initial weights, by preflight's tensor names.
  std::vector<int> parameters;
  for (size_t t = 0; t < g->tensors.size(); ++t) {
    graph::Tensor& tensor = g->tensors[t];
    if (tensor.role != fb::TensorRole::Parameter) continue;
    const NpyArray initial = test::load_fixture(fixture(model_name + "_initial_" + tensor.name));
    REQUIRE_MESSAGE(initial.desc == tensor.desc, tensor.name);
    tensor.data = initial.data;
    parameters.push_back(static_cast<int>(t));
  }
  REQUIRE(parameters.size() == 6);
  test::LoadedModel loaded = test::load_graph(*g);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE(session.is_ok());

  const NpyArray x_all = test::load_fixture(fixture("x"));
  const NpyArray y_all = test::load_fixture(fixture("y"));
  const NpyArray batches = test::load_fixture(fixture("batches"));
  const NpyArray expected = test::load_fixture(fixture(model_name + "_" + optimizer_name + "_losses"));
  const float* x_rows = reinterpret_cast<const float*>(x_all.data.data());
  const int64_t* y_rows = reinterpret_cast<const int64_t*>(y_all.data.data());
  const int64_t* order = reinterpret_cast<const int64_t*>(batches.data.data());
  const float* torch_losses = reinterpret_cast<const float*>(expected.data.data());
  const TensorDesc x_desc = model_name == "mlp" ? make_desc(DType::F32, {kBatch, 64})
                                                : make_desc(DType::F32, {kBatch, 8, 8, 1});
  std::map<std::string, float> hyper;
  if (!adam_family) {
    hyper = {{"lr", 0.05f}, {"momentum", 0.9f}, {"weight_decay", 1e-4f}};
  } else {
    hyper = {{"lr", 1e-3f}, {"beta1", 0.9f}, {"beta2", 0.999f}, {"eps", 1e-8f}, {"weight_decay", 1e-2f}};
  }
  std::vector<float> x(static_cast<size_t>(kBatch * 64));
  std::vector<int64_t> y(static_cast<size_t>(kBatch));
  double worst_early = 0.0, worst_late = 0.0;
  for (int step = 0; step < kSteps; ++step) {
    for (int64_t b = 0; b < kBatch; ++b) {
      const int64_t row = order[step * kBatch + b];
      std::memcpy(&x[static_cast<size_t>(b * 64)], x_rows + row * 64, 64 * sizeof(float));
      y[static_cast<size_t>(b)] = y_rows[row];
    }
    hyper["step"] = static_cast<float>(step + 1);
    std::vector<float> values;
    for (const std::string& name : graph::hyperparameter_names(options.optimizer)) values.push_back(hyper.at(name));
    if (options.clip_grad_norm) values.push_back(0.5f);  // max_grad_norm
    std::vector<TensorView> inputs = {{x_desc, x.data()}, {make_desc(DType::I64, {kBatch}), y.data()}};
    for (float& v : values) inputs.push_back(TensorView{make_desc(DType::F32, {}), &v});
    const float loss = test::run_method(*session, "train_step", inputs)[0][0];
    const double relative = std::fabs(loss - torch_losses[step]) / std::fabs(torch_losses[step]);
    (step < 20 ? worst_early : worst_late) = std::max(step < 20 ? worst_early : worst_late, relative);
  }
  MESSAGE(model_name << " " << optimizer_name << ": loss " << torch_losses[0] << " -> " << torch_losses[kSteps - 1]
                     << "; max relative difference " << worst_early << " (steps 1-20), " << worst_late
                     << " (steps 21-100)");
  CHECK(worst_early <= 1e-4);
  CHECK(worst_late <= 1e-3);
  for (int t : parameters) {
    const std::string& name = g->tensors[static_cast<size_t>(t)].name;
    const NpyArray final_weights = test::load_fixture(fixture(model_name + "_" + optimizer_name + "_final_" + name));
    const float* ours = static_cast<const float*>(session->persistent_data(t));
    const float* theirs = reinterpret_cast<const float*>(final_weights.data.data());
    double worst = 0.0;
    for (int64_t i = 0; i < final_weights.desc.num_elements(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(ours[i]) - theirs[i]));
    CHECK_MESSAGE(worst <= 1e-3, name << ": max |difference| " << worst);
  }
}

TEST_CASE("PyTorch parity: 100 training steps") {
  for (const char* model : {"mlp", "cnn8"}) {
    for (const char* optimizer : {"sgd", "adamw", "sgd_clip", "sgd_nesterov", "adam"}) {
      const std::string label = std::string(model) + " " + optimizer;
      SUBCASE(label.c_str()) { run_parity(model, optimizer); }
    }
  }
}

}  // namespace
}  // namespace preflight
