// Backends against the reference: every node a backend takes must compute what the reference
// backend computes, on the reference models and on a table of odd shapes; nodes it declines fall
// back; weights that training updates are never packed (so never stale).
#include <cstring>
#include <random>
#include <sstream>

#include "models/models.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/registry.h"
#include "graph/training.h"
#include "test_util.h"

namespace preflight {
namespace {

std::vector<float> random_values(int64_t count, uint32_t seed) { return test::random_floats(count, seed); }

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

// The backends this build has besides the reference, "auto" included.
std::vector<const Backend*> other_backends() {
  std::vector<const Backend*> backends;
  for (const char* name : {"xnnpack", "onednn", "auto"}) {
    if (const Backend* b = find_backend(name)) backends.push_back(b);
  }
  return backends;
}

int steps_not_on_reference(const std::vector<const char*>& steps) {
  int taken = 0;
  for (const char* name : steps) taken += std::string(name) != "reference";
  return taken;
}

// Runs `infer` on the reference and on `backend`: equal within float32 reordering. When
// expect_steps >= 0, that many nodes must run off the reference backend.
void check_same(const graph::Graph& graph, const Backend* backend, const std::string& what, int expect_steps) {
  std::vector<const char*> steps;
  const std::vector<std::vector<float>> reference = run_on(graph, &reference_backend());
  const std::vector<std::vector<float>> other = run_on(graph, backend, &steps);
  REQUIRE(reference.size() == other.size());
  for (size_t o = 0; o < reference.size(); ++o) {
    test::check_close(other[o].data(), reference[o].data(), static_cast<int64_t>(reference[o].size()), 1e-4, 1e-5,
                      what + " on " + backend->name);
  }
  if (expect_steps >= 0) {
    CHECK_MESSAGE(steps_not_on_reference(steps) == expect_steps,
                  what << ": " << backend->name << " ran " << steps_not_on_reference(steps) << " steps");
  }
}

// The gradients of loss = sum((y - target)^2) for the one-node graph `g` (infer: inputs -> y),
// with respect to every f32 input and parameter of the node, on `backend`; `taken` counts the
// steps off the reference backend.
std::vector<std::vector<float>> gradients_on(const graph::Graph& forward, const Backend* backend, int* taken) {
  const graph::Graph g = test::with_gradients(forward, /*keep_output=*/false);
  std::vector<const char*> steps;
  std::vector<std::vector<float>> grads = run_on(g, backend, &steps);
  *taken = steps_not_on_reference(steps);
  return grads;
}

// One row of the op table: a graph whose infer runs one node, and the backends expected to run
// its forward and its backward (names in a string; "auto" runs a node when any other does).
struct OpCase {
  std::string name;
  graph::Graph graph;
  std::string forward, backward;
};

bool expected_on(const std::string& list, const Backend* backend) {
  if (std::string(backend->name) != "auto") return (" " + list + " ").find(" " + std::string(backend->name) + " ") != std::string::npos;
  // auto: when a backend of the list is in this build (an aarch64 build has no oneDNN).
  std::istringstream names(list);
  for (std::string name; names >> name;) {
    if (find_backend(name.c_str()) != nullptr) return true;
  }
  return false;
}

std::vector<OpCase> op_table() {
  using graph::GraphBuilder;
  using graph::Value;
  std::vector<OpCase> table;
  const auto conv = [&](const char* what, std::initializer_list<int64_t> dims, int64_t out_channels, Conv2dAttrs c,
                        int kernel_h, int kernel_w, const char* forward, const char* backward) {
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
    table.push_back({what, std::move(*g), forward, backward});
  };
  Conv2dAttrs plain;
  conv("conv 3x3", {2, 7, 5, 3}, 4, plain, 3, 3, "xnnpack onednn", "onednn");
  Conv2dAttrs strided;
  strided.stride_h = 2, strided.stride_w = 3, strided.pad_top = 1, strided.pad_left = 0, strided.pad_bottom = 2, strided.pad_right = 1;
  conv("conv strided, asymmetric padding", {1, 9, 11, 2}, 5, strided, 3, 2, "xnnpack onednn", "onednn");
  Conv2dAttrs dilated;
  dilated.dilation_h = 2, dilated.dilation_w = 2, dilated.pad_top = dilated.pad_bottom = dilated.pad_left = dilated.pad_right = 2;
  conv("conv dilated", {1, 8, 8, 3}, 3, dilated, 3, 3, "xnnpack onednn", "onednn");
  Conv2dAttrs grouped;
  grouped.groups = 2;
  conv("conv 2 groups", {2, 6, 6, 4}, 6, grouped, 3, 3, "xnnpack onednn", "onednn");
  Conv2dAttrs depthwise;
  depthwise.groups = 8, depthwise.pad_top = depthwise.pad_left = depthwise.pad_bottom = depthwise.pad_right = 1;
  conv("conv depthwise", {2, 5, 5, 8}, 8, depthwise, 3, 3, "xnnpack onednn", "onednn");
  conv("conv depthwise multiplier 2", {1, 5, 5, 4}, 8, [] { Conv2dAttrs c; c.groups = 4; return c; }(), 3, 3,
       "xnnpack onednn", "onednn");

  const auto one_node = [&](const char* what, OpType op, OpAttrs attrs, std::vector<std::initializer_list<int64_t>> shapes,
                            const char* forward, const char* backward) {
    GraphBuilder b(5);
    std::vector<Value> inputs;
    int i = 0;
    for (const auto& dims : shapes) inputs.push_back(b.input("x" + std::to_string(i++), DType::F32, dims));
    b.output(b.node(op, attrs, inputs), "y");
    Result<graph::Graph> g = b.finish();
    REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
    table.push_back({what, std::move(*g), forward, backward});
  };
  OpAttrs pool;
  pool.kind = fb::Attrs::Pool2dAttrs;
  pool.pool.kernel_h = 3, pool.pool.kernel_w = 2, pool.pool.stride_h = 2, pool.pool.stride_w = 1, pool.pool.pad_top = 1,
  pool.pool.pad_bottom = 1;
  one_node("max pool padded", OpType::MaxPool2D, pool, {{2, 7, 6, 3}}, "xnnpack onednn", "onednn");
  one_node("average pool padded, padding excluded", OpType::AvgPool2D, pool, {{2, 7, 6, 3}}, "onednn", "onednn");
  pool.pool.count_include_pad = true;
  one_node("average pool padded, padding counted", OpType::AvgPool2D, pool, {{1, 5, 4, 2}}, "onednn", "onednn");
  OpAttrs global;
  global.kind = fb::Attrs::GlobalPoolAttrs;
  one_node("global average pool", OpType::GlobalAvgPool, global, {{3, 5, 4, 6}}, "xnnpack onednn", "onednn");
  global.global_pool.keep_dims = true;
  one_node("global average pool, dims kept", OpType::GlobalAvgPool, global, {{1, 2, 2, 5}}, "xnnpack onednn", "onednn");
  one_node("relu", OpType::Relu, OpAttrs(), {{3, 17}}, "xnnpack onednn", "onednn");
  OpAttrs clamp;
  clamp.kind = fb::Attrs::ClampAttrs;
  clamp.clamp.min = -0.25f, clamp.clamp.max = 0.5f;
  one_node("clamp", OpType::Clamp, clamp, {{2, 3, 5}}, "xnnpack onednn", "");
  one_node("add, same shape", OpType::Add, OpAttrs(), {{2, 3, 4}, {2, 3, 4}}, "xnnpack onednn", "");
  one_node("add, broadcast both ways", OpType::Add, OpAttrs(), {{2, 1, 4, 1}, {1, 3, 1, 5}}, "xnnpack", "");
  one_node("add, trailing vector", OpType::Add, OpAttrs(), {{2, 3, 5}, {5}}, "xnnpack onednn", "");
  OpAttrs softmax;
  softmax.kind = fb::Attrs::AxisAttrs;
  softmax.axis.axis = -1;
  one_node("softmax, last axis", OpType::Softmax, softmax, {{4, 10}}, "xnnpack onednn", "onednn");
  softmax.axis.axis = 0;
  one_node("softmax, axis 0: declined, the reference runs it", OpType::Softmax, softmax, {{4, 10}}, "", "");
  OpAttrs transpose;
  transpose.kind = fb::Attrs::TransposeAttrs;
  transpose.transpose.rank = 4;
  const int nchw_to_nhwc[] = {0, 2, 3, 1};
  std::copy(nchw_to_nhwc, nchw_to_nhwc + 4, transpose.transpose.perm);
  one_node("transpose NCHW to NHWC", OpType::Transpose, transpose, {{2, 3, 5, 4}}, "onednn", "");
  transpose.transpose.rank = 3;
  const int odd[] = {2, 0, 1};
  std::copy(odd, odd + 3, transpose.transpose.perm);
  one_node("transpose rank 3", OpType::Transpose, transpose, {{3, 4, 5}}, "onednn", "");
  one_node("sub: declined", OpType::Sub, OpAttrs(), {{2, 3}, {2, 3}}, "", "");

  GraphBuilder b(9);
  graph::Value x = b.input("x", DType::F32, {2, 3, 7});  // Linear on a rank-3 input: 6 rows
  b.output(b.linear(x, 5), "y");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  table.push_back({"linear, rank 3", std::move(*g), "xnnpack onednn", "onednn"});
  GraphBuilder nb(10);
  graph::Value nx = nb.input("x", DType::F32, {4, 9});
  nb.output(nb.linear(nx, 3, false), "y");
  Result<graph::Graph> ng = nb.finish();
  REQUIRE(ng.is_ok());
  table.push_back({"linear, no bias", std::move(*ng), "xnnpack onednn", "onednn"});
  return table;
}

TEST_CASE("backends: find_backend names the backends this build has") {
  CHECK(find_backend("reference") == &reference_backend());
  CHECK(find_backend("nonsense") == nullptr);
  REQUIRE(find_backend("auto") != nullptr);
  CHECK(std::string(backend_names()).find("reference") != std::string::npos);
  if (onednn_backend()) CHECK(find_backend("onednn") == onednn_backend());
  if (xnnpack_backend()) CHECK(find_backend("xnnpack") == xnnpack_backend());
}

TEST_CASE("backends: the reference models compute what the reference backend computes") {
  // Steps off the reference: mlp 3 Linear + 2 Relu; cnn8 2 Conv + 2 Relu + MaxPool + Linear
  // (Flatten stays on the reference); cnn32 3 Conv + 3 Relu + 2 MaxPool + GlobalAvgPool +
  // Linear; mbv2 every step. The same on XNNPACK, oneDNN and auto.
  const struct { const char* name; int steps; } models[] = {{"mlp", 5}, {"cnn8", 6}, {"cnn32", 10}, {"mbv2", -1}};
  for (const Backend* backend : other_backends()) {
    for (const auto& m : models) {
      Result<graph::Graph> g = models::build_model(m.name, 2, 3);
      REQUIRE(g.is_ok());
      int expected = m.steps;
      if (expected < 0) expected = static_cast<int>(g->methods[0].nodes.size());
      check_same(*g, backend, m.name, expected);
    }
  }
}

TEST_CASE("backends: the op table, forward and backward, matches the reference on every backend") {
  const std::vector<const Backend*> backends = other_backends();
  if (backends.empty()) MESSAGE("this build has no backend besides the reference");
  for (const OpCase& c : op_table()) {
    int reference_taken = 0;
    const std::vector<std::vector<float>> expected = gradients_on(c.graph, &reference_backend(), &reference_taken);
    for (const Backend* backend : backends) {
      check_same(c.graph, backend, c.name, expected_on(c.forward, backend) ? 1 : 0);
      const graph::Node& op = c.graph.nodes[static_cast<size_t>(c.graph.methods[0].nodes.back())];
      if (find_op(op.op) == nullptr || find_op(op.op)->backward == nullptr) continue;
      int taken = 0;
      const std::vector<std::vector<float>> grads = gradients_on(c.graph, backend, &taken);
      REQUIRE(grads.size() == expected.size());
      for (size_t i = 0; i < grads.size(); ++i) {
        test::check_close(grads[i].data(), expected[i].data(), static_cast<int64_t>(grads[i].size()), 1e-4, 1e-5,
                          c.name + ": gradient " + std::to_string(i) + " on " + backend->name);
      }
      // The forward node (when the backend runs it) plus the backward node.
      const int expected_taken = (expected_on(c.forward, backend) ? 1 : 0) + (expected_on(c.backward, backend) ? 1 : 0);
      CHECK_MESSAGE(taken == expected_taken, c.name << ": " << backend->name << " ran " << taken << " of the gradient steps");
    }
  }
}

TEST_CASE("auto: times its candidates per node once; every session of a model then runs the same kernels") {
  const Backend* automatic = find_backend("auto");
  if (!onednn_backend() || !xnnpack_backend()) {
    MESSAGE("auto has one candidate per node in this build: nothing to time");
    return;
  }
  Result<graph::Graph> g = models::build_model("mbv2", 1, 3);
  REQUIRE(g.is_ok());
  std::vector<const char*> first, second;
  const std::vector<std::vector<float>> a = run_on(*g, automatic, &first);
  const std::vector<std::vector<float>> b = run_on(*g, automatic, &second);
  REQUIRE(first.size() == second.size());
  for (size_t s = 0; s < first.size(); ++s) CHECK(std::string(first[s]) == second[s]);
  CHECK(a == b);  // bit for bit
  // Each step went to a backend that runs the node (never "auto" itself).
  for (const char* name : first) CHECK(std::string(name) != "auto");
}

TEST_CASE("backends: a Relu or Clamp after a convolution or fully connected layer runs inside it") {
  for (const Backend* backend : other_backends()) {
    for (const bool relu6 : {false, true}) {
      graph::GraphBuilder b(3);
      graph::Value x = b.input("x", DType::F32, {2, 6, 6, 3});
      graph::ConvOptions same;
      same.padding = 1;
      graph::Value h = b.conv2d(x, 8, 3, same);
      h = relu6 ? b.relu6(h) : b.relu(h);
      b.output(b.relu(b.linear(b.flatten(h), 4)), "y");
      Result<graph::Graph> g = b.finish();
      REQUIRE(g.is_ok());
      check_same(*g, backend, relu6 ? "conv + relu6, flatten, linear + relu" : "conv + relu, flatten, linear + relu", 4);
    }
  }
  // The activation does not fuse when its input is read elsewhere too: both are computed.
  graph::GraphBuilder b(4);
  graph::Value x = b.input("x", DType::F32, {3, 5});
  graph::Value h = b.linear(x, 5);
  b.output(b.add(b.relu(h), h), "y");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  for (const Backend* backend : other_backends()) check_same(*g, backend, "linear read by relu and add", 3);
}

// The losses of `steps` Adam steps of `name` (batch 8) on `backend`, from the same start.
std::vector<float> train_losses(const char* name, const Backend* backend, int steps, std::vector<const char*>* step_backends) {
  Result<graph::Graph> g = models::build_model(name, 8, 2);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  test::LoadedModel loaded = test::load_graph(*g);
  SessionOptions options;
  options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  const Model& model = session->model();
  const int m = model.find_method("train_step");
  *step_backends = session->program(m).step_backends();
  const MethodInfo& method = model.methods()[static_cast<size_t>(m)];
  const TensorDesc& x_desc = model.tensors()[static_cast<size_t>(method.inputs[0])].desc;
  std::vector<float> x = random_values(x_desc.num_elements(), 1);
  std::vector<int64_t> y = {0, 1, 2, 3, 4, 5, 6, 7};
  float lr = 1e-2f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, decay = 0.0f, step = 0.0f;
  std::vector<float> losses;
  for (int k = 0; k < steps; ++k) {
    step = static_cast<float>(k + 1);
    std::vector<TensorView> inputs;
    for (int t : method.inputs) {
      const TensorInfo& info = model.tensors()[static_cast<size_t>(t)];
      const std::string input = info.name;
      void* data = input == "x" ? static_cast<void*>(x.data()) : input == "y" ? static_cast<void*>(y.data())
                 : input == "lr" ? &lr : input == "beta1" ? &beta1 : input == "beta2" ? &beta2 : input == "eps" ? &eps
                 : input == "weight_decay" ? &decay : &step;
      inputs.push_back(TensorView{info.desc, data});
    }
    losses.push_back(test::run_method(*session, "train_step", inputs)[0][0]);
  }
  return losses;
}

TEST_CASE("xnnpack: weights that training updates are never packed; 10 training steps equal the reference") {
  const Backend* xnnpack = xnnpack_backend();
  if (!xnnpack) return;
  std::vector<const char*> steps;
  const std::vector<float> reference = train_losses("mlp", &reference_backend(), 10, &steps);
  const std::vector<float> losses = train_losses("mlp", xnnpack, 10, &steps);
  CHECK(losses == reference);
  CHECK(reference.back() < reference.front());
  // Linear layers whose weights the step updates stay on the reference backend; ReLUs go to XNNPACK.
  Result<graph::Graph> g = models::build_model("mlp", 8, 2);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  const graph::Method& method = g->methods[static_cast<size_t>(g->find_method("train_step"))];
  for (size_t s = 0; s < method.nodes.size(); ++s) {
    const graph::Node& node = g->nodes[static_cast<size_t>(method.nodes[s])];
    if (!node.backward && node.op == OpType::Linear) CHECK(std::string(steps[s]) == "reference");
    if (!node.backward && node.op == OpType::Relu) CHECK(std::string(steps[s]) == "xnnpack");
  }
}

TEST_CASE("onednn: 10 training steps of mlp, cnn8 and cnn32 follow the reference; the weights are re-packed every step") {
  const Backend* onednn = onednn_backend();
  if (!onednn) {
    MESSAGE("this build has no oneDNN backend");
    return;
  }
  for (const char* name : {"mlp", "cnn8", "cnn32"}) {
    std::vector<const char*> reference_steps, steps;
    const std::vector<float> reference = train_losses(name, &reference_backend(), 10, &reference_steps);
    const std::vector<float> losses = train_losses(name, onednn, 10, &steps);
    // float32 sums in another order: the losses agree to 1e-4 relative over the ten steps (stale
    // weights would leave the loss of step 2 on where step 1 left it).
    test::check_close(losses.data(), reference.data(), static_cast<int64_t>(reference.size()), 1e-4, 1e-6,
                      std::string(name) + " losses on onednn");
    CHECK(reference.back() < reference.front());
    // Every convolution and fully connected layer, forward and backward, runs on oneDNN.
    Result<graph::Graph> g = models::build_model(name, 8, 2);
    REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
    const graph::Method& method = g->methods[static_cast<size_t>(g->find_method("train_step"))];
    int heavy = 0;
    for (size_t s = 0; s < method.nodes.size(); ++s) {
      const graph::Node& node = g->nodes[static_cast<size_t>(method.nodes[s])];
      if (node.op == OpType::Linear || node.op == OpType::Conv2D) {
        ++heavy;
        CHECK_MESSAGE(std::string(steps[s]) == "onednn", name << " node " << node.name);
      }
    }
    CHECK(heavy > 0);
  }
}

}  // namespace
}  // namespace preflight
