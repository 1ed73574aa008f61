// PyTorch parity: mlp and cnn8 trained 100 steps with SGD-momentum and with AdamW from the same
// initial weights on the same batches (tests/fixtures/make_training_parity.py) match PyTorch's
// loss at every step and its final weights.
#include <map>

#include "models/models.h"
#include "graph/training.h"
#include "test_util.h"

#if PREFLIGHT_HAVE_ONNX
#include "graph/import/onnx_import.h"
#endif

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
  // Under qemu-user the first 10 steps only (the losses; the final weights need all 100): the
  // 100 steps of the 10 cases were 540 s of the emulated suite's 1300.
  const int steps = test::kEmulated ? 10 : kSteps;
  for (int step = 0; step < steps; ++step) {
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
  MESSAGE(model_name << " " << optimizer_name << ": loss " << torch_losses[0] << " -> " << torch_losses[steps - 1]
                     << "; max relative difference " << worst_early << " (steps 1-" << std::min(steps, 20) << "), "
                     << worst_late << " (steps 21-" << steps << ")");
  CHECK(worst_early <= 1e-4);
  CHECK(worst_late <= 1e-3);
  if (steps < kSteps) return;
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

#if PREFLIGHT_HAVE_ONNX
// Issue 16, item 25: Conv(3->8) -> BatchNorm -> ReLU -> depthwise Conv(8, groups 8) -> BatchNorm ->
// ReLU6 -> global average pool -> Linear(8->10), exported to ONNX with batch norm as nodes, one SGD
// step in training mode (tests/fixtures/make_batchnorm_parity.py). The first BatchNorm's weight
// update was reported 6.5% and 10% away from PyTorch float64's. It is float32 rounding, not a bug:
// a depthwise conv keeps the channels apart and the second BatchNorm divides each channel by its
// own deviation, so the loss does not depend on the first BatchNorm's scale, and its exact gradient
// is 0 up to the second BatchNorm's eps. Its update is 1e-6 (the others 1e-2): about 10 float32
// ulps of the weight (1.0), so the weight cannot hold it better than 5-15%. Float32 PyTorch lands
// exactly as far from float64 as preflight does (2.5% at 2x2, 15% at 8x8), and preflight's new
// weights equal float32 PyTorch's within an ulp. Every update is compared with float64 against the
// scale of the step's updates, which is where float32 rounding lives.
TEST_CASE("PyTorch parity: one SGD step through Conv, BatchNorm, a depthwise Conv and BatchNorm (2x2 and 8x8 inputs)") {
  for (const std::string backend : {"reference", "onednn"}) {
    if (find_backend(backend.c_str()) == nullptr) continue;  // a build without oneDNN
    for (int size : {2, 8}) {
      INFO(backend);
      const std::string prefix = "tests/fixtures/training/bn_" + std::to_string(size);
      Result<graph::Graph> g = graph::import_onnx(test::source_path(prefix + ".onnx"));
      REQUIRE_MESSAGE(g.is_ok(), g.status().message());
      graph::TrainingOptions options;
      options.optimizer = graph::OptimizerKind::kSgd;
      REQUIRE(graph::add_training_methods(&*g, options).is_ok());
      std::map<std::string, int> parameters;
      for (size_t t = 0; t < g->tensors.size(); ++t) {
        if (g->tensors[t].role == fb::TensorRole::Parameter) parameters[g->tensors[t].name] = static_cast<int>(t);
      }
      REQUIRE(parameters.size() == 10);
      test::LoadedModel loaded = test::load_graph(*g);
      SessionOptions session_options;
      session_options.backend = find_backend(backend.c_str());
      Result<Session> session = Session::open(std::move(*loaded.model), session_options);
      REQUIRE(session.is_ok());
      std::map<std::string, std::vector<float>> before;
      for (const auto& p : parameters) {
        const float* data = static_cast<const float*>(session->persistent_data(p.second));
        before[p.first].assign(data, data + g->tensors[static_cast<size_t>(p.second)].desc.num_elements());
      }
      NpyArray x = test::load_fixture(prefix + "_x.npy");
      NpyArray y = test::load_fixture(prefix + "_y.npy");
      float lr = 0.1f, momentum = 0.0f, weight_decay = 0.0f;
      test::run_method(*session, "train_step",
                       {{x.desc, x.data.data()}, {y.desc, y.data.data()}, {make_desc(DType::F32, {}), &lr},
                        {make_desc(DType::F32, {}), &momentum}, {make_desc(DType::F32, {}), &weight_decay}});
      // The updates, PyTorch's in preflight's layout (conv weights OIHW -> OHWI).
      const auto reference = [&](const std::string& kind, const std::string& name) {
        NpyArray a = test::load_fixture(prefix + "_" + kind + "_" + name + ".npy");
        std::vector<float> values(reinterpret_cast<const float*>(a.data.data()),
                                  reinterpret_cast<const float*>(a.data.data()) + a.desc.num_elements());
        if (a.desc.rank != 4) return values;
        const int64_t o = a.desc.dims[0], i = a.desc.dims[1], h = a.desc.dims[2], w = a.desc.dims[3];
        std::vector<float> ohwi(values.size());
        for (int64_t a0 = 0; a0 < o; ++a0)
          for (int64_t a1 = 0; a1 < i; ++a1)
            for (int64_t a2 = 0; a2 < h; ++a2)
              for (int64_t a3 = 0; a3 < w; ++a3) ohwi[((a0 * h + a2) * w + a3) * i + a1] = values[((a0 * i + a1) * h + a2) * w + a3];
        return ohwi;
      };
      double scale = 0.0;  // the largest update of the step, in float64
      for (const auto& p : parameters) {
        for (float v : reference("f64", p.first)) scale = std::max(scale, std::fabs(static_cast<double>(v)));
      }
      for (const auto& p : parameters) {
        const float* after = static_cast<const float*>(session->persistent_data(p.second));
        const std::vector<float> f64 = reference("f64", p.first), f32 = reference("f32", p.first);
        REQUIRE(f64.size() == before[p.first].size());
        double ours = 0.0, torch32 = 0.0, largest = 0.0, to_float32 = 0.0;
        for (size_t k = 0; k < f64.size(); ++k) {
          const double update = static_cast<double>(after[k]) - before[p.first][k];
          ours = std::max(ours, std::fabs(update - f64[k]));
          torch32 = std::max(torch32, std::fabs(static_cast<double>(f32[k]) - f64[k]));
          to_float32 = std::max(to_float32, std::fabs(update - f32[k]));
          largest = std::max(largest, std::fabs(static_cast<double>(f64[k])));
        }
        if (p.first == "bn1.weight") {
          MESSAGE(backend << ", " << size << "x" << size << ": bn1.weight update at most " << largest << " (the step's largest: " << scale
                       << "); relative to float64: preflight " << ours / largest << ", PyTorch float32 " << torch32 / largest);
          CHECK(largest < 1e-3 * scale);  // the scale invariance: its exact gradient is ~0
          CHECK(to_float32 <= 1.2e-7);     // float32 PyTorch's new weights, within one ulp of 1.0
        }
        CHECK_MESSAGE(ours <= 1e-5 * scale, size << "x" << size << " " << p.first << ": max |preflight - float64| " << ours
                                                  << " against updates up to " << scale);
      }
    }
  }
}
#endif

}  // namespace
}  // namespace preflight
