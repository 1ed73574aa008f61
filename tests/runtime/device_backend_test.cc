// The device backends (OpenCL, CUDA) beyond single ops (those are op_table_test.cc's table):
// training (Adam with gradient clipping, SGD with Nesterov momentum, batch norm, dropout and layer
// norm in training) followed step by step; host and device copies kept coherent (a weight written
// by the host between runs, a checkpoint read after them); labels out of range and a missing
// device reported. Without a device they skip (backend_util.h says when that is a failure).
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "models/models.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "ops/registry.h"
#include "backend_util.h"
#include "test_util.h"
#include "trainer/checks/gradient_checks.h"
#ifdef PREFLIGHT_HAVE_OPENCL
#include "runtime/backends/opencl/opencl_backend.h"
#endif
#ifdef PREFLIGHT_HAVE_CUDA
#include "runtime/backends/cuda/cuda_backend.h"
#endif

namespace preflight {
namespace {

std::vector<float> random_values(int64_t count, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return test::random_floats(count, seed, lo, hi);
}

// Bytes moved between host and device so far by `backend`.
uint64_t transfers_of(const Backend* backend) {
#ifdef PREFLIGHT_HAVE_OPENCL
  if (backend == opencl_backend()) return opencl::transfers();
#endif
#ifdef PREFLIGHT_HAVE_CUDA
  if (backend == cuda_backend()) return cuda::transfers();
#endif
  FAIL("not a device backend");
  return 0;
}

#ifdef PREFLIGHT_HAVE_CUDA
// Whether a library whose path contains `name` is mapped into this process.
bool mapped(const char* name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

// The first test case of the file (doctest runs them in file order), before any CUDA session.
TEST_CASE("cuda: cuBLAS is loaded on first use, not at start; every entry point the backend calls is found") {
  CHECK_MESSAGE(!mapped("libcublas"), "libcublas is mapped before any CUDA session: it is linked again");
  const Status loaded = cuda::load_cublas_entry_points();
  REQUIRE_MESSAGE(loaded.is_ok(), std::string(loaded.message()));
  CHECK(mapped("libcublas"));
}
#endif

// Trains `graph` (with eval and train_step added by `options`) for `steps` steps on a fixed batch;
// returns the losses, and the trained weights when `weights` is set (read through the session, so
// from the device).
std::vector<float> train(graph::Graph graph, const graph::TrainingOptions& options, const Backend* backend, int steps,
                         std::vector<std::vector<uint8_t>>* weights = nullptr) {
  REQUIRE(graph::add_training_methods(&graph, options).is_ok());
  test::LoadedModel loaded = test::load_graph(graph);
  SessionOptions session_options;
  session_options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), session_options);
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  const Model& model = session->model();
  const int m = model.find_method("train_step");
  if (backend != &reference_backend()) test::record_coverage(*session, m);
  const MethodInfo& method = model.methods()[static_cast<size_t>(m)];
  const TensorDesc& x_desc = model.tensors()[static_cast<size_t>(method.inputs[0])].desc;
  const std::vector<float> x = random_values(x_desc.num_elements(), 1);
  std::vector<int64_t> y(static_cast<size_t>(x_desc.dims[0]));
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int64_t>(i % 10);
  std::map<std::string, float> scalars = {{"lr", 1e-2f},   {"beta1", 0.9f},        {"beta2", 0.999f},
                                          {"eps", 1e-8f},  {"weight_decay", 1e-3f}, {"momentum", 0.9f},
                                          {"max_grad_norm", 0.5f}};
  std::vector<float> losses;
  int64_t seed = 0;
  for (int k = 0; k < steps; ++k) {
    scalars["step"] = static_cast<float>(k + 1);
    seed = 1000 + k;
    std::vector<TensorView> inputs;
    for (int t : method.inputs) {
      const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
      const std::string name = info.name;
      void* data = nullptr;
      if (name == "x") data = const_cast<float*>(x.data());
      else if (name == "y") data = y.data();
      else if (info.desc.dtype == DType::I64) data = &seed;  // a dropout seed
      else {
        REQUIRE_MESSAGE(scalars.count(name) == 1, "train_step input " << name);
        data = &scalars[name];
      }
      inputs.push_back(TensorView{info.desc, data});
    }
    losses.push_back(test::run_method(*session, "train_step", inputs)[0][0]);
  }
  if (weights) {
    REQUIRE(session->sync_to_host().is_ok());
    for (size_t t = 0; t < model.tensors().size(); ++t) {
      if (model.tensors()[t].role != fb::TensorRole::Parameter) continue;
      const auto* bytes = static_cast<const uint8_t*>(session->persistent_data(static_cast<int>(t)));
      weights->emplace_back(bytes, bytes + model.tensors()[t].desc.num_bytes());
    }
  }
  return losses;
}

// A model with every training-only op: BatchNormTrain and RunningStatsUpdate, Dropout with a seed.
graph::Graph normalized_mlp() {
  graph::GraphBuilder b(21);
  graph::Value x = b.input("x", DType::F32, {16, 12});
  graph::Value h = b.dropout(b.relu(b.batch_norm(b.linear(x, 24))), 0.2f);
  h = b.gelu(b.layer_norm(b.linear(h, 16)));
  b.output(b.linear(h, 10), "logits");
  Result<graph::Graph> g = b.finish();
  REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
  return std::move(*g);
}

TEST_CASE("device backends: 50 training steps follow the reference's losses within 1e-4 relative") {
  const std::vector<const Backend*> backends = test::device_backends();
  if (backends.empty()) return;
  struct Run {
    const char* what;
    graph::Graph graph;
    graph::TrainingOptions options;
  };
  std::vector<Run> runs;
  Result<graph::Graph> cnn8 = models::build_model("cnn8", 8, 2);
  REQUIRE(cnn8.is_ok());
  runs.push_back({"cnn8, Adam", *cnn8, graph::TrainingOptions()});
  graph::TrainingOptions clipped;
  clipped.optimizer = graph::OptimizerKind::kAdamW;
  clipped.clip_grad_norm = true;
  runs.push_back({"cnn8, AdamW, gradients clipped", *cnn8, clipped});
  graph::TrainingOptions sgd;
  sgd.optimizer = graph::OptimizerKind::kSgd;
  sgd.nesterov = true;
  Result<graph::Graph> mlp = models::build_model("mlp", 8, 2);
  REQUIRE(mlp.is_ok());
  runs.push_back({"mlp, SGD with Nesterov momentum", *mlp, sgd});
  runs.push_back({"batch norm, dropout, layer norm, Adam", normalized_mlp(), graph::TrainingOptions()});
  for (const Run& run : runs) {
    std::vector<std::vector<uint8_t>> expected_weights;
    const std::vector<float> expected = train(run.graph, run.options, &reference_backend(), 50, &expected_weights);
    CHECK_MESSAGE(expected.back() < expected.front(), run.what << ": the reference does not learn");
    for (const Backend* backend : backends) {
      std::vector<std::vector<uint8_t>> weights;
      const std::vector<float> losses = train(run.graph, run.options, backend, 50, &weights);
      test::check_close(losses.data(), expected.data(), static_cast<int64_t>(expected.size()), 1e-4, 1e-6,
                        std::string(run.what) + ": losses on " + backend->name);
      // The trained weights, read back from the device, follow the reference's too.
      REQUIRE(weights.size() == expected_weights.size());
      for (size_t w = 0; w < weights.size(); ++w) {
        const auto* a = reinterpret_cast<const float*>(weights[w].data());
        const auto* e = reinterpret_cast<const float*>(expected_weights[w].data());
        test::check_close(a, e, static_cast<int64_t>(weights[w].size() / 4), 1e-3, 1e-4,
                          std::string(run.what) + ": weight " + std::to_string(w) + " on " + backend->name);
      }
    }
  }
}

TEST_CASE("device backends: weights the host writes between runs reach the device; a trained model saved in between") {
  const std::vector<const Backend*> backends = test::device_backends();
  if (backends.empty()) return;
  for (const Backend* backend : backends) {
    graph::GraphBuilder b(3);
    graph::Value x = b.input("x", DType::F32, {2, 3});
    b.output(b.linear(x, 2), "y");
    Result<graph::Graph> g = b.finish();
    REQUIRE(g.is_ok());
    test::LoadedModel loaded = test::load_graph(*g);
    SessionOptions options;
    options.backend = backend;
    options.writable_parameters = true;
    Result<Session> session = Session::open(std::move(*loaded.model), options);
    REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
    const std::vector<float> input = {1, 2, 3, 4, 5, 6};
    const std::vector<TensorView> views = {TensorView{make_desc(DType::F32, {2, 3}), const_cast<float*>(input.data())}};
    const std::vector<float> before = test::run_method(*session, "infer", views)[0];
    // Zero the weight and set the bias to 1 through the host copies: the next run sees them.
    for (size_t t = 0; t < session->model().tensors().size(); ++t) {
      const TensorInfo& info = session->model().tensors()[t];
      if (info.role != fb::TensorRole::Parameter) continue;
      auto* values = static_cast<float*>(session->writable_data(static_cast<int>(t)));
      REQUIRE(values != nullptr);
      for (int64_t i = 0; i < info.desc.num_elements(); ++i) values[i] = info.desc.rank == 1 ? 1.0f : 0.0f;
    }
    const std::vector<float> after = test::run_method(*session, "infer", views)[0];
    CHECK(before != after);
    CHECK(after == std::vector<float>{1, 1, 1, 1});
  }
}

TEST_CASE("device backends: the recipe's gradient checks pass (weights perturbed by the host between runs)") {
  const std::vector<const Backend*> backends = test::device_backends();
  if (backends.empty()) return;
  Result<Dataset> data = load_dataset(test::source_path("data/digits.csv.gz"));
  REQUIRE(data.is_ok());
  for (float& v : data->features) v /= 16.0f;
  Result<graph::Graph> g = models::build_model("cnn8", 8, 2);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  for (const Backend* backend : backends) {
    GradientCheckConfig config;
    config.session.backend = backend;
    // Finite differences write a weight, run, write it again: every write must reach the device.
    const CheckResult gradients = check_gradients(*g, *data, config);
    CHECK_MESSAGE(gradients.verdict == Verdict::kPass, std::string(backend->name) << ": " << gradients.explanation);
    const CheckResult independence = check_batch_independence(*g, *data, config);
    CHECK_MESSAGE(independence.verdict == Verdict::kPass, std::string(backend->name) << ": " << independence.explanation);
  }
}

TEST_CASE("device backends: a label out of range fails the run naming the node and the row") {
  const std::vector<const Backend*> backends = test::device_backends();
  if (backends.empty()) return;
  for (const Backend* backend : backends) {
    graph::GraphBuilder b(3);
    graph::Value logits = b.input("logits", DType::F32, {3, 4});
    graph::Value labels = b.input("labels", DType::I64, {3});
    b.output(b.softmax_cross_entropy(logits, labels), "loss");
    Result<graph::Graph> g = b.finish();
    REQUIRE(g.is_ok());
    test::LoadedModel loaded = test::load_graph(*g);
    SessionOptions options;
    options.backend = backend;
    Result<Session> session = Session::open(std::move(*loaded.model), options);
    REQUIRE(session.is_ok());
    std::vector<float> l(12, 0.5f), loss(1);
    std::vector<int64_t> bad = {1, 7, 2};
    TensorView in[2] = {TensorView{make_desc(DType::F32, {3, 4}), l.data()}, TensorView{make_desc(DType::I64, {3}), bad.data()}};
    TensorView out = TensorView{make_desc(DType::F32, {}), loss.data()};
    const Status status = session->run("infer", in, 2, &out, 1);
    REQUIRE_FALSE(status.is_ok());
    CHECK_MESSAGE(test::contains(status.message(), "label 7 in row 1 is outside [0, 4)"), status.message());
    CHECK_MESSAGE(test::contains(status.message(), "SoftmaxCrossEntropy"), status.message());
    // The flag is cleared: a good batch then runs.
    bad[1] = 3;
    CHECK(session->run("infer", in, 2, &out, 1).is_ok());
  }
}

TEST_CASE("device backends: Adam's step below 1 fails the train_step naming the update") {
  const std::vector<const Backend*> backends = test::device_backends();
  if (backends.empty()) return;
  Result<graph::Graph> g = models::build_model("mlp", 4, 2);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  for (const Backend* backend : backends) {
    test::LoadedModel loaded = test::load_graph(*g);
    SessionOptions options;
    options.backend = backend;
    Result<Session> session = Session::open(std::move(*loaded.model), options);
    REQUIRE(session.is_ok());
    const Model& model = session->model();
    const MethodInfo& method = model.methods()[static_cast<size_t>(model.find_method("train_step"))];
    std::vector<std::vector<uint8_t>> storage;
    std::vector<TensorView> inputs, outputs;
    for (int t : method.inputs) {
      const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
      storage.emplace_back(info.desc.num_bytes(), 0);  // step 0 among the zeros
      inputs.push_back(TensorView{info.desc, storage.back().data()});
    }
    for (int t : method.outputs) {
      const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
      storage.emplace_back(info.desc.num_bytes(), 0);
      outputs.push_back(TensorView{info.desc, storage.back().data()});
    }
    int weight = -1;
    for (size_t t = 0; t < model.tensors().size() && weight < 0; ++t) {
      if (model.tensors()[t].role == fb::TensorRole::Parameter) weight = static_cast<int>(t);
    }
    const size_t bytes = model.tensors()[static_cast<size_t>(weight)].desc.num_bytes();
    const auto* before = static_cast<const uint8_t*>(session->persistent_data(weight));
    const std::vector<uint8_t> saved(before, before + bytes);
    const Status status = session->run("train_step", inputs.data(), static_cast<int>(inputs.size()), outputs.data(),
                                       static_cast<int>(outputs.size()));
    REQUIRE_FALSE(status.is_ok());
    // Nothing lost: the refused step left the weights as they were.
    const auto* after = static_cast<const uint8_t*>(session->persistent_data(weight));
    CHECK(std::vector<uint8_t>(after, after + bytes) == saved);
    CHECK_MESSAGE(test::contains(status.message(), "step must be >= 1 (Adam's bias correction), got 0"), status.message());
    CHECK_MESSAGE(test::contains(status.message(), "AdamUpdate"), status.message());
  }
}

TEST_CASE("device backends: a train_step moves only its inputs and outputs; the weights stay on the device") {
  for (const Backend* backend : test::device_backends()) {
  Result<graph::Graph> g = models::build_model("cnn8", 8, 2);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  test::LoadedModel loaded = test::load_graph(*g);
  SessionOptions options;
  options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE(session.is_ok());
  const Model& model = session->model();
  const MethodInfo& method = model.methods()[static_cast<size_t>(model.find_method("train_step"))];
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorView> inputs;
  for (int t : method.inputs) {
    const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
    storage.emplace_back(info.desc.num_bytes(), 0);
    if (info.desc.dtype == DType::F32 && info.desc.rank == 0) {
      const float one = 1.0f;  // lr 1, beta 1, step 1: a valid step
      std::memcpy(storage.back().data(), &one, sizeof one);
    }
    inputs.push_back(TensorView{info.desc, storage.back().data()});
  }
  std::vector<std::vector<uint8_t>> results;
  std::vector<TensorView> outputs;
  for (int t : method.outputs) {
    const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
    results.emplace_back(info.desc.num_bytes());
    outputs.push_back(TensorView{info.desc, results.back().data()});
  }
  const auto step = [&] {
    return session->run("train_step", inputs.data(), static_cast<int>(inputs.size()), outputs.data(), static_cast<int>(outputs.size()));
  };
  const Status first = step();
  REQUIRE_MESSAGE(first.is_ok(), std::string(first.message()));
  const uint64_t before = transfers_of(backend);
  REQUIRE(step().is_ok());
  // One upload per input, one download per output, one read of the status word.
  CHECK(transfers_of(backend) - before == method.inputs.size() + method.outputs.size() + 1);
  // Reading a weight fetches it once; the next step sends it back (the host may have written it).
  const uint64_t reading = transfers_of(backend);
  int weight = -1;
  for (size_t t = 0; t < model.tensors().size() && weight < 0; ++t) {
    if (model.tensors()[t].role == fb::TensorRole::Parameter) weight = static_cast<int>(t);
  }
  session->persistent_data(weight);
  session->persistent_data(weight);
  CHECK(transfers_of(backend) - reading == 1);
  }
}

#ifdef PREFLIGHT_HAVE_OPENCL
TEST_CASE("opencl: the kernels are built once per device and source, then loaded from the binary cache") {
  if (!opencl::device_info().available) {
    MESSAGE("skipped: " << opencl::device_info().description);
    return;
  }
  const std::string dir = std::string(PREFLIGHT_TEST_OUTPUT) + "/opencl-cache";
  std::remove((dir + "/placeholder").c_str());
  bool from_cache = true;
  std::string file;
  // A fresh folder: built from source and stored.
  const std::string fresh = dir + "/" + std::to_string(std::random_device()());
  REQUIRE(opencl::build_program_for_test(fresh, &from_cache, &file).is_ok());
  CHECK_FALSE(from_cache);
  CHECK(std::ifstream(file).good());
  // Again: loaded from the cache.
  REQUIRE(opencl::build_program_for_test(fresh, &from_cache, &file).is_ok());
  CHECK(from_cache);
  // A damaged binary is not trusted: built from source again, and the cache rewritten.
  { std::ofstream(file, std::ios::binary | std::ios::trunc) << "not a program binary"; }
  REQUIRE(opencl::build_program_for_test(fresh, &from_cache, &file).is_ok());
  CHECK_FALSE(from_cache);
  REQUIRE(opencl::build_program_for_test(fresh, &from_cache, &file).is_ok());
  CHECK(from_cache);
  // A cache folder that cannot be made (under a file): built from source, nothing stored, no error.
  const std::string blocked = fresh + "/" + file.substr(file.rfind('/') + 1) + "/below";
  REQUIRE(opencl::build_program_for_test(blocked, &from_cache, &file).is_ok());
  CHECK_FALSE(from_cache);
  CHECK_FALSE(std::ifstream(file).good());
  MESSAGE("OpenCL device: " << opencl::device_info().description);
}

#endif

}  // namespace
}  // namespace preflight
