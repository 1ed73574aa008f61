// Backends against the reference: every node a backend takes must compute what the reference
// backend computes, on the reference models and on a table of odd shapes; nodes it declines fall
// back; weights that training updates are never packed (so never stale).
#include <random>

#include "bench/models/models.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "test_util.h"

namespace preflight {
namespace {

std::vector<float> random_values(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = uniform(rng);
  return values;
}

// Runs `infer` on `backend` with seeded random inputs; also returns which backend ran each step.
std::vector<std::vector<float>> run_on(const graph::Graph& graph, const Backend* backend, std::vector<const char*>* steps = nullptr) {
  test::LoadedModel loaded = test::load_graph(graph);
  SessionOptions options;
  options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  const int m = session->model().find_method("infer");
  const MethodInfo& method = session->model().methods()[static_cast<size_t>(m)];
  std::vector<std::vector<float>> inputs;
  std::vector<TensorView> views;
  for (size_t i = 0; i < method.inputs.size(); ++i) {
    const TensorDesc& desc = session->model().tensors()[static_cast<size_t>(method.inputs[i])].desc;
    inputs.push_back(random_values(desc.num_elements(), 7 + static_cast<uint32_t>(i)));
  }
  for (size_t i = 0; i < method.inputs.size(); ++i) {
    views.push_back(TensorView{session->model().tensors()[static_cast<size_t>(method.inputs[i])].desc, inputs[i].data()});
  }
  if (steps) *steps = session->program(m).step_backends();
  return test::run_method(*session, "infer", views);
}

void check_same(const graph::Graph& graph, const Backend* backend, const std::string& what, int expect_backend_steps) {
  std::vector<const char*> steps;
  const std::vector<std::vector<float>> reference = run_on(graph, &reference_backend());
  const std::vector<std::vector<float>> other = run_on(graph, backend, &steps);
  REQUIRE(reference.size() == other.size());
  for (size_t o = 0; o < reference.size(); ++o) {
    test::check_close(other[o].data(), reference[o].data(), static_cast<int64_t>(reference[o].size()), 1e-4, 1e-5, what);
  }
  int taken = 0;
  for (const char* name : steps) taken += std::string(name) == backend->name;
  CHECK_MESSAGE(taken == expect_backend_steps, what << ": " << backend->name << " ran " << taken << " steps");
}

TEST_CASE("backends: find_backend names the backends this build has") {
  CHECK(find_backend("reference") == &reference_backend());
  CHECK(find_backend("nonsense") == nullptr);
  REQUIRE(find_backend("auto") != nullptr);
  CHECK(std::string(backend_names()).find("reference") != std::string::npos);
}

TEST_CASE("xnnpack: the reference models compute what the reference backend computes") {
  const Backend* xnnpack = xnnpack_backend();
  if (!xnnpack) {
    MESSAGE("this build has no XNNPACK backend");
    return;
  }
  // Steps XNNPACK takes: mlp 3 Linear + 2 Relu; cnn8 2 Conv + 2 Relu + MaxPool + Linear (Flatten
  // stays on the reference); cnn32 3 Conv + 3 Relu + 2 MaxPool + GlobalAvgPool + Linear.
  const struct { const char* name; int steps; } models[] = {{"mlp", 5}, {"cnn8", 6}, {"cnn32", 10}, {"mbv2", -1}};
  for (const auto& m : models) {
    Result<graph::Graph> g = models::build_model(m.name, 2, 3);
    REQUIRE(g.is_ok());
    int expected = m.steps;
    if (expected < 0) expected = static_cast<int>(g->methods[0].nodes.size());  // mbv2: every step
    check_same(*g, xnnpack, m.name, expected);
  }
}

TEST_CASE("xnnpack: odd shapes, strides, paddings, dilations, groups and broadcasting match the reference") {
  const Backend* xnnpack = xnnpack_backend();
  if (!xnnpack) return;
  using graph::GraphBuilder;
  using graph::Value;
  const auto conv = [&](const char* what, std::initializer_list<int64_t> dims, int64_t out_channels, Conv2dAttrs c,
                        int kernel_h, int kernel_w) {
    GraphBuilder b(11);
    Value x = b.input("x", DType::F32, dims);
    const int64_t channels = b.desc(x).dims[3];
    OpAttrs attrs;
    attrs.kind = fb::Attrs::Conv2dAttrs;
    attrs.conv = c;
    const TensorDesc w = make_desc(DType::F32, {out_channels, kernel_h, kernel_w, channels / c.groups});
    Value y = b.node(OpType::Conv2D, attrs, {x, b.parameter("w", w, random_values(w.num_elements(), 3)),
                                            b.parameter("b", make_desc(DType::F32, {out_channels}), random_values(out_channels, 4))});
    b.output(y, "y");
    Result<graph::Graph> g = b.finish();
    REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
    check_same(*g, xnnpack, what, 1);
  };
  Conv2dAttrs plain;
  conv("conv 3x3", {2, 7, 5, 3}, 4, plain, 3, 3);
  Conv2dAttrs strided;
  strided.stride_h = 2, strided.stride_w = 3, strided.pad_top = 1, strided.pad_left = 0, strided.pad_bottom = 2, strided.pad_right = 1;
  conv("conv strided, asymmetric padding", {1, 9, 11, 2}, 5, strided, 3, 2);
  Conv2dAttrs dilated;
  dilated.dilation_h = 2, dilated.dilation_w = 2, dilated.pad_top = dilated.pad_bottom = dilated.pad_left = dilated.pad_right = 2;
  conv("conv dilated", {1, 8, 8, 3}, 3, dilated, 3, 3);
  Conv2dAttrs grouped;
  grouped.groups = 2;
  conv("conv 2 groups", {2, 6, 6, 4}, 6, grouped, 3, 3);
  Conv2dAttrs depthwise;
  depthwise.groups = 8, depthwise.pad_top = depthwise.pad_left = depthwise.pad_bottom = depthwise.pad_right = 1;
  conv("conv depthwise", {2, 5, 5, 8}, 8, depthwise, 3, 3);
  conv("conv depthwise multiplier 2", {1, 5, 5, 4}, 8, [] { Conv2dAttrs c; c.groups = 4; return c; }(), 3, 3);

  const auto one_node = [&](const char* what, OpType op, OpAttrs attrs, std::vector<std::initializer_list<int64_t>> shapes, int taken) {
    GraphBuilder b(5);
    std::vector<Value> inputs;
    int i = 0;
    for (const auto& dims : shapes) inputs.push_back(b.input("x" + std::to_string(i++), DType::F32, dims));
    b.output(b.node(op, attrs, inputs), "y");
    Result<graph::Graph> g = b.finish();
    REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
    check_same(*g, xnnpack, what, taken);
  };
  OpAttrs pool;
  pool.kind = fb::Attrs::Pool2dAttrs;
  pool.pool.kernel_h = 3, pool.pool.kernel_w = 2, pool.pool.stride_h = 2, pool.pool.stride_w = 1, pool.pool.pad_top = 1,
  pool.pool.pad_bottom = 1;
  one_node("max pool padded", OpType::MaxPool2D, pool, {{2, 7, 6, 3}}, 1);
  OpAttrs global;
  global.kind = fb::Attrs::GlobalPoolAttrs;
  one_node("global average pool", OpType::GlobalAvgPool, global, {{3, 5, 4, 6}}, 1);
  global.global_pool.keep_dims = true;
  one_node("global average pool, dims kept", OpType::GlobalAvgPool, global, {{1, 2, 2, 5}}, 1);
  one_node("relu", OpType::Relu, OpAttrs(), {{3, 17}}, 1);
  OpAttrs clamp;
  clamp.kind = fb::Attrs::ClampAttrs;
  clamp.clamp.min = -0.25f, clamp.clamp.max = 0.5f;
  one_node("clamp", OpType::Clamp, clamp, {{2, 3, 5}}, 1);
  one_node("add, same shape", OpType::Add, OpAttrs(), {{2, 3, 4}, {2, 3, 4}}, 1);
  one_node("add, broadcast", OpType::Add, OpAttrs(), {{2, 1, 4, 1}, {1, 3, 1, 5}}, 1);
  one_node("add, trailing vector", OpType::Add, OpAttrs(), {{2, 3, 5}, {5}}, 1);
  OpAttrs softmax;
  softmax.kind = fb::Attrs::AxisAttrs;
  softmax.axis.axis = -1;
  one_node("softmax, last axis", OpType::Softmax, softmax, {{4, 10}}, 1);
  softmax.axis.axis = 0;
  one_node("softmax, axis 0: declined, the reference runs it", OpType::Softmax, softmax, {{4, 10}}, 0);
  one_node("sub: declined", OpType::Sub, OpAttrs(), {{2, 3}, {2, 3}}, 0);

  GraphBuilder b(9);
  graph::Value x = b.input("x", DType::F32, {2, 3, 7});  // Linear on a rank-3 input: 6 rows
  b.output(b.linear(x, 5), "y");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  check_same(*g, xnnpack, "linear, rank 3", 1);
}

TEST_CASE("xnnpack: weights that training updates are never packed; 10 training steps equal the reference") {
  const Backend* xnnpack = xnnpack_backend();
  if (!xnnpack) return;
  Result<graph::Graph> g = models::build_model("mlp", 8, 2);
  REQUIRE(g.is_ok());
  graph::TrainingOptions training;
  REQUIRE(graph::add_training_methods(&*g, training).is_ok());
  std::vector<float> losses[2];
  for (int side = 0; side < 2; ++side) {
    test::LoadedModel loaded = test::load_graph(*g);
    SessionOptions options;
    options.backend = side ? xnnpack : &reference_backend();
    Result<Session> session = Session::open(std::move(*loaded.model), options);
    REQUIRE(session.is_ok());
    const Model& model = session->model();
    const int m = model.find_method("train_step");
    if (side) {
      // Linear layers whose weights the step updates stay on the reference backend; ReLUs go to XNNPACK.
      const MethodInfo& method = model.methods()[static_cast<size_t>(m)];
      for (size_t s = 0; s < method.nodes.size(); ++s) {
        const NodeInfo& node = model.nodes()[static_cast<size_t>(method.nodes[s])];
        if (!node.backward && node.op->type == OpType::Linear) CHECK(std::string(session->program(m).step_backends()[s]) == "reference");
        if (!node.backward && node.op->type == OpType::Relu) CHECK(std::string(session->program(m).step_backends()[s]) == "xnnpack");
      }
    }
    std::vector<float> x = random_values(8 * 64, 1);
    std::vector<int64_t> y = {0, 1, 2, 3, 4, 5, 6, 7};
    float lr = 1e-2f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, decay = 0.0f, step = 0.0f;
    const MethodInfo& method = model.methods()[static_cast<size_t>(m)];
    for (int k = 0; k < 10; ++k) {
      step = static_cast<float>(k + 1);
      std::vector<TensorView> inputs;
      for (int t : method.inputs) {
        const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
        const std::string name = info.name;
        void* data = name == "x" ? static_cast<void*>(x.data()) : name == "y" ? static_cast<void*>(y.data())
                   : name == "lr" ? &lr : name == "beta1" ? &beta1 : name == "beta2" ? &beta2 : name == "eps" ? &eps
                   : name == "weight_decay" ? &decay : &step;
        inputs.push_back(TensorView{info.desc, data});
      }
      losses[side].push_back(test::run_method(*session, "train_step", inputs)[0][0]);
    }
  }
  CHECK(losses[0] == losses[1]);
  CHECK(losses[0].back() < losses[0].front());
}

}  // namespace
}  // namespace preflight
