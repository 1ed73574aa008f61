// The device backends (OpenCL, CUDA) against the reference backend: every op of the registry,
// forward and backward, on one-node graphs with odd shapes; training (Adam with gradient
// clipping, SGD with Nesterov momentum, batch norm, dropout and layer norm in training) followed
// step by step; host and device copies kept coherent (a weight written by the host between runs,
// a checkpoint read after them); labels out of range and a missing device reported.
//
// A build without a device backend, or a machine without a device, skips with a message; CI sets
// PREFLIGHT_REQUIRE_OPENCL=1 (PoCL is installed there) and bench/gpu_check.sh PREFLIGHT_REQUIRE_CUDA=1,
// which turn that skip into a failure.
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

bool required(const char* variable) {
  const char* value = std::getenv(variable);
  return value && std::string(value) == "1";
}

// The device backends this build has and this machine runs.
std::vector<const Backend*> device_backends() {
  std::vector<const Backend*> backends;
#ifdef PREFLIGHT_HAVE_OPENCL
  if (opencl::device_info().available) {
    backends.push_back(opencl_backend());
  } else {
    if (required("PREFLIGHT_REQUIRE_OPENCL")) FAIL("PREFLIGHT_REQUIRE_OPENCL=1 but " << opencl::device_info().description);
    MESSAGE("skipped on OpenCL: " << opencl::device_info().description);
  }
#else
  if (required("PREFLIGHT_REQUIRE_OPENCL")) FAIL("PREFLIGHT_REQUIRE_OPENCL=1 but this build has no OpenCL backend");
  MESSAGE("this build has no OpenCL backend (configured without OpenCL)");
#endif
#ifdef PREFLIGHT_HAVE_CUDA
  if (cuda::device_info().available) {
    backends.push_back(cuda_backend());
  } else {
    if (required("PREFLIGHT_REQUIRE_CUDA")) FAIL("PREFLIGHT_REQUIRE_CUDA=1 but " << cuda::device_info().description);
    MESSAGE("skipped on CUDA: " << cuda::device_info().description);
  }
#else
  if (required("PREFLIGHT_REQUIRE_CUDA")) FAIL("PREFLIGHT_REQUIRE_CUDA=1 but this build has no CUDA backend");
  MESSAGE("this build has no CUDA backend (configured without nvcc, cuBLAS or cuDNN)");
#endif
  return backends;
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

// Which (op, backward) pairs ran on a device backend, over the whole file: the op table test
// checks at the end that every op of the registry is in it.
std::set<std::pair<int, bool>>& covered() {
  static std::set<std::pair<int, bool>> pairs;
  return pairs;
}

void record_coverage(const Session& session, int method) {
  const Model& model = session.model();
  const std::vector<const char*>& steps = session.program(method).step_backends();
  const MethodInfo& info = model.methods()[static_cast<size_t>(method)];
  for (size_t s = 0; s < info.nodes.size(); ++s) {
    const NodeInfo& node = model.nodes()[static_cast<size_t>(info.nodes[s])];
    if (std::string(steps[s]) != "reference") covered().insert({static_cast<int>(node.op->type), node.backward});
  }
}

// Runs `infer` with seeded inputs (floats in [lo, hi), labels in [0, classes)); every step must
// run on `backend`.
std::vector<std::vector<float>> run_on(const graph::Graph& graph, const Backend* backend, float lo = -1.0f, float hi = 1.0f) {
  test::LoadedModel loaded = test::load_graph(graph);
  SessionOptions options;
  options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  const int m = session->model().find_method("infer");
  const MethodInfo& method = session->model().methods()[static_cast<size_t>(m)];
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int64_t>> labels;
  std::vector<TensorView> views;
  for (size_t i = 0; i < method.inputs.size(); ++i) {
    const TensorDesc& desc = session->model().tensors()[static_cast<size_t>(method.inputs[i])].desc;
    if (desc.dtype == DType::I64) {
      labels.emplace_back(static_cast<size_t>(desc.num_elements()));
      for (size_t k = 0; k < labels.back().size(); ++k) labels.back()[k] = static_cast<int64_t>((k * 7 + 3) % 5);
      views.push_back(TensorView{desc, labels.back().data()});
    } else {
      floats.push_back(random_values(desc.num_elements(), 7 + static_cast<uint32_t>(i), lo, hi));
      views.push_back(TensorView{desc, floats.back().data()});
    }
  }
  const std::vector<const char*>& steps = session->program(m).step_backends();
  for (size_t s = 0; s < steps.size(); ++s) {
    CHECK_MESSAGE(std::string(steps[s]) == backend->name, "step " << s << " ran on " << steps[s]);
  }
  if (backend != &reference_backend()) record_coverage(*session, m);
  return test::run_method(*session, "infer", views);
}

struct OpCase {
  std::string name;
  graph::Graph graph;
  float lo = -1.0f, hi = 1.0f;  // input values
  bool differentiate = true;
};

// One graph per op and variant: odd sizes, broadcasting, strides, padding, dilation, groups.
std::vector<OpCase> op_table() {
  using graph::GraphBuilder;
  using graph::Value;
  std::vector<OpCase> table;
  const auto add = [&](const std::string& name, GraphBuilder& b, Value y, float lo = -1.0f, float hi = 1.0f,
                       bool differentiate = true) {
    b.output(y, "y");
    Result<graph::Graph> g = b.finish();
    const std::string why = name + ": " + g.status().message();
    REQUIRE_MESSAGE(g.is_ok(), why);
    table.push_back({name, std::move(*g), lo, hi, differentiate});
  };
  {
    GraphBuilder b(1);
    add("linear rank 3", b, b.linear(b.input("x", DType::F32, {2, 3, 7}), 5));
  }
  {
    GraphBuilder b(2);
    add("linear, no bias, 37 x 19 -> 23 (partial tiles)", b, b.linear(b.input("x", DType::F32, {37, 19}), 23, false));
  }
  for (int t = 0; t < 4; ++t) {
    GraphBuilder b(3);
    const bool ta = t & 1, tb = t & 2;
    Value a = ta ? b.input("a", DType::F32, {3, 1, 5, 4}) : b.input("a", DType::F32, {3, 1, 4, 5});
    Value m = tb ? b.input("b", DType::F32, {2, 6, 5}) : b.input("b", DType::F32, {2, 5, 6});
    add("matmul broadcast, transpose " + std::to_string(ta) + std::to_string(tb), b, b.matmul(a, m, ta, tb));
  }
  const auto conv = [&](const std::string& name, std::initializer_list<int64_t> dims, int64_t out, Conv2dAttrs c, int kh,
                        int kw, bool bias) {
    GraphBuilder b(4);
    Value x = b.input("x", DType::F32, dims);
    const int64_t channels = b.desc(x).dims[3];
    OpAttrs attrs;
    attrs.kind = fb::Attrs::Conv2dAttrs;
    attrs.conv = c;
    const TensorDesc w = make_desc(DType::F32, {out, kh, kw, channels / c.groups});
    std::vector<Value> inputs = {x, b.parameter("w", w, random_values(w.num_elements(), 3))};
    if (bias) inputs.push_back(b.parameter("b", make_desc(DType::F32, {out}), random_values(out, 4)));
    add(name, b, b.node(OpType::Conv2D, attrs, inputs));
  };
  conv("conv 3x3", {2, 7, 5, 3}, 4, Conv2dAttrs(), 3, 3, true);
  Conv2dAttrs strided;
  strided.stride_h = 2, strided.stride_w = 3, strided.pad_top = 1, strided.pad_left = 0, strided.pad_bottom = 2, strided.pad_right = 1;
  conv("conv strided, asymmetric padding", {1, 9, 11, 2}, 5, strided, 3, 2, true);
  Conv2dAttrs dilated;
  dilated.dilation_h = 2, dilated.dilation_w = 2, dilated.pad_top = dilated.pad_bottom = dilated.pad_left = dilated.pad_right = 2;
  conv("conv dilated, no bias", {1, 8, 8, 3}, 3, dilated, 3, 3, false);
  Conv2dAttrs grouped;
  grouped.groups = 2;
  conv("conv 2 groups", {2, 6, 6, 4}, 6, grouped, 3, 3, true);
  Conv2dAttrs depthwise;
  depthwise.groups = 8, depthwise.pad_top = depthwise.pad_left = depthwise.pad_bottom = depthwise.pad_right = 1;
  conv("conv depthwise", {2, 5, 5, 8}, 8, depthwise, 3, 3, true);

  const auto one = [&](const std::string& name, OpType op, OpAttrs attrs, std::vector<std::initializer_list<int64_t>> shapes,
                       float lo = -1.0f, float hi = 1.0f) {
    GraphBuilder b(5);
    std::vector<Value> inputs;
    int i = 0;
    for (const auto& dims : shapes) inputs.push_back(b.input("x" + std::to_string(i++), DType::F32, dims));
    add(name, b, b.node(op, attrs, inputs), lo, hi);
  };
  OpAttrs pool;
  pool.kind = fb::Attrs::Pool2dAttrs;
  pool.pool.kernel_h = 3, pool.pool.kernel_w = 2, pool.pool.stride_h = 2, pool.pool.stride_w = 1, pool.pool.pad_top = 1,
  pool.pool.pad_bottom = 1;
  one("max pool padded", OpType::MaxPool2D, pool, {{2, 7, 6, 3}});
  one("average pool padded, padding excluded", OpType::AvgPool2D, pool, {{2, 7, 6, 3}});
  pool.pool.count_include_pad = true;
  one("average pool padded, padding counted", OpType::AvgPool2D, pool, {{1, 5, 4, 2}});
  OpAttrs global;
  global.kind = fb::Attrs::GlobalPoolAttrs;
  one("global average pool", OpType::GlobalAvgPool, global, {{3, 5, 4, 6}});
  one("relu", OpType::Relu, OpAttrs(), {{3, 17}});
  OpAttrs clamp;
  clamp.kind = fb::Attrs::ClampAttrs;
  clamp.clamp.min = -0.25f, clamp.clamp.max = 0.5f;
  one("clamp", OpType::Clamp, clamp, {{2, 3, 5}});
  one("sigmoid", OpType::Sigmoid, OpAttrs(), {{4, 9}}, -4.0f, 4.0f);
  one("tanh", OpType::Tanh, OpAttrs(), {{4, 9}}, -3.0f, 3.0f);
  OpAttrs gelu;
  gelu.kind = fb::Attrs::GeluAttrs;
  one("gelu", OpType::Gelu, gelu, {{5, 7}}, -3.0f, 3.0f);
  gelu.gelu.tanh_approximation = true;
  one("gelu, tanh approximation", OpType::Gelu, gelu, {{5, 7}}, -3.0f, 3.0f);
  for (OpType op : {OpType::Add, OpType::Sub, OpType::Mul, OpType::Div}) {
    const std::string name = find_op(op)->name;
    // Div's divisor stays away from zero: inputs in [0.5, 2).
    const float lo = op == OpType::Div ? 0.5f : -1.0f, hi = op == OpType::Div ? 2.0f : 1.0f;
    one(name + ", broadcast both ways", op, OpAttrs(), {{2, 1, 4, 1}, {1, 3, 1, 5}}, lo, hi);
    one(name + ", trailing vector", op, OpAttrs(), {{2, 3, 5}, {5}}, lo, hi);
  }
  {
    GraphBuilder b(6);
    add("reshape", b, b.reshape(b.input("x", DType::F32, {2, 3, 4}), {4, 6}));
  }
  {
    GraphBuilder b(6);
    add("flatten", b, b.flatten(b.input("x", DType::F32, {2, 3, 4}), 1));
  }
  {
    GraphBuilder b(6);
    add("transpose NCHW to NHWC", b, b.transpose(b.input("x", DType::F32, {2, 3, 5, 4}), {0, 2, 3, 1}));
  }
  {
    GraphBuilder b(6);
    add("transpose rank 3", b, b.transpose(b.input("x", DType::F32, {3, 4, 5}), {2, 0, 1}));
  }
  {
    GraphBuilder b(6);
    add("concat axis 1", b,
        b.concat({b.input("a", DType::F32, {2, 3, 4}), b.input("b", DType::F32, {2, 1, 4}), b.input("c", DType::F32, {2, 2, 4})}, 1));
  }
  OpAttrs axis;
  axis.kind = fb::Attrs::AxisAttrs;
  axis.axis.axis = 1;
  one("softmax axis 1 of 3", OpType::Softmax, axis, {{2, 6, 3}}, -3.0f, 3.0f);
  one("log softmax axis 1 of 3", OpType::LogSoftmax, axis, {{2, 6, 3}}, -3.0f, 3.0f);
  axis.axis.axis = -1;
  one("softmax last axis", OpType::Softmax, axis, {{4, 10}}, -3.0f, 3.0f);
  OpAttrs norm;
  norm.kind = fb::Attrs::NormAttrs;
  norm.norm.axis = -1;
  one("batch norm (inference), every input differentiated", OpType::BatchNorm, norm, {{2, 3, 4}, {4}, {4}, {4}, {4}}, 0.5f, 2.0f);
  // BatchNormTrain (three outputs) runs in the training test's normalized_mlp.
  norm.norm.axis = 1;
  one("layer norm over the last two axes", OpType::LayerNorm, norm, {{3, 4, 5}, {4, 5}, {4, 5}});
  norm.norm.axis = -1;
  one("layer norm without affine", OpType::LayerNorm, norm, {{3, 7}});
  OpAttrs dropout;
  dropout.kind = fb::Attrs::DropoutAttrs;
  dropout.dropout.ratio = 0.3f;
  one("dropout at inference", OpType::Dropout, dropout, {{3, 8}});
  for (fb::Reduction reduction : {fb::Reduction::Mean, fb::Reduction::Sum, fb::Reduction::None}) {
    GraphBuilder b(7);
    Value logits = b.input("logits", DType::F32, {6, 5});
    Value labels = b.input("labels", DType::I64, {6});
    add(std::string("cross-entropy ") + fb::EnumNameReduction(reduction), b, b.softmax_cross_entropy(logits, labels, reduction),
        -2.0f, 2.0f);
    OpAttrs loss;
    loss.kind = fb::Attrs::LossAttrs;
    loss.loss.reduction = reduction;
    one(std::string("mse ") + fb::EnumNameReduction(reduction), OpType::MseLoss, loss, {{4, 3}, {4, 3}});
  }
  one("squared norm of two tensors", OpType::SquaredNorm, OpAttrs(), {{3, 4}, {5}});
  // max_norm in [0.1, 0.2) against squared norms in [0.5, 2): clipping acts, both gradients are non-zero.
  {
    GraphBuilder b(8);
    Value max_norm = b.input("max_norm", DType::F32, {});
    Value s1 = b.input("s1", DType::F32, {}), s2 = b.input("s2", DType::F32, {});
    add("clip scale", b, b.node(OpType::ClipScale, OpAttrs(), {max_norm, s1, s2}), 0.1f, 0.2f);
  }
  return table;
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

TEST_CASE("device backends: every op, forward and backward, computes what the reference computes") {
  const std::vector<const Backend*> backends = device_backends();
  if (backends.empty()) return;
  for (const OpCase& c : op_table()) {
    const graph::Graph g = c.differentiate ? test::with_gradients(c.graph, /*keep_output=*/true) : c.graph;
    const std::vector<std::vector<float>> expected = run_on(g, &reference_backend(), c.lo, c.hi);
    for (const Backend* backend : backends) {
      const std::vector<std::vector<float>> actual = run_on(g, backend, c.lo, c.hi);
      REQUIRE(actual.size() == expected.size());
      for (size_t o = 0; o < expected.size(); ++o) {
        test::check_close(actual[o].data(), expected[o].data(), static_cast<int64_t>(expected[o].size()), 1e-4, 1e-5,
                          c.name + (o == 0 ? ": output" : ": gradient " + std::to_string(o - 1)) + " on " + backend->name);
      }
    }
  }
}

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
  if (backend != &reference_backend()) record_coverage(*session, m);
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
  const std::vector<const Backend*> backends = device_backends();
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

TEST_CASE("device backends: the op table covers every op of the registry, forward and backward") {
  const std::vector<const Backend*> backends = device_backends();
  if (backends.empty()) return;
  // After the two cases above (doctest runs a file's cases in order).
  for (int type = 0; type <= static_cast<int>(OpType::MAX); ++type) {
    const OpDef* op = find_op(static_cast<OpType>(type));
    if (op == nullptr) continue;
    CHECK_MESSAGE(covered().count({type, false}) == 1, std::string(op->name) << " forward never ran on a device backend");
    if (op->backward) CHECK_MESSAGE(covered().count({type, true}) == 1, std::string(op->name) << " backward never ran on a device backend");
  }
}

TEST_CASE("device backends: weights the host writes between runs reach the device; a trained model saved in between") {
  const std::vector<const Backend*> backends = device_backends();
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
  const std::vector<const Backend*> backends = device_backends();
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
  const std::vector<const Backend*> backends = device_backends();
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
  const std::vector<const Backend*> backends = device_backends();
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
  for (const Backend* backend : device_backends()) {
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
