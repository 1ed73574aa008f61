// The host backends against the reference on whole models: the reference models compute the same;
// auto's choice is stable; activations fuse into the layer before; weights that training updates
// are never packed (so never stale). The op by op table of every backend is op_table_test.cc.
#include <cstring>
#include <random>
#include <sstream>

#include "models/models.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/registry.h"
#include "graph/training.h"
#include "backend_util.h"
#include "test_util.h"

namespace preflight {
namespace {

std::vector<float> random_values(int64_t count, uint32_t seed) { return test::random_floats(count, seed); }

// Runs `infer` on `backend` with seeded inputs in [-1, 1); also returns which backend ran each step.
std::vector<std::vector<float>> run_on(const graph::Graph& graph, const Backend* backend, std::vector<const char*>* steps = nullptr) {
  std::vector<const char*> ran;
  std::vector<std::vector<float>> outputs = test::run_on(graph, backend, -1.0f, 1.0f, &ran);
  if (steps) *steps = ran;
  return outputs;
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

// The arena of a session of `graph` on `backend`: smaller than the reference's when an activation
// fuses into the node before it (that node's own output is never stored).
size_t arena_bytes(const graph::Graph& graph, const Backend* backend) {
  test::LoadedModel loaded = test::load_graph(graph);
  SessionOptions options;
  options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE(session.is_ok());
  return session->memory_bytes();
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

TEST_CASE("backends: a Silu or HardSwish after a convolution or fully connected layer runs inside it on oneDNN") {
  for (const Backend* backend : other_backends()) {
    for (const OpType act : {OpType::Silu, OpType::HardSwish}) {
      graph::GraphBuilder b(5);
      graph::Value x = b.input("x", DType::F32, {2, 6, 6, 3});
      graph::ConvOptions same;
      same.padding = 1;
      graph::Value h = b.node(act, OpAttrs(), {b.conv2d(x, 8, 3, same)}, "conv_act");
      OpAttrs global;
      global.kind = fb::Attrs::GlobalPoolAttrs;
      h = b.node(OpType::GlobalAvgPool, global, {h}, "pool");
      b.output(b.node(act, OpAttrs(), {b.linear(h, 4)}, "linear_act"), "y");
      Result<graph::Graph> g = b.finish();
      REQUIRE(g.is_ok());
      // oneDNN runs all five nodes (the two activations inside the layers); XNNPACK fuses only
      // clamps and runs HardSwish on its own, not Silu.
      const std::string name = backend->name;
      check_same(*g, backend, std::string(find_op(act)->name) + " after conv and linear",
                 name == "onednn" ? 5 : name == "xnnpack" ? (act == OpType::HardSwish ? 5 : 3) : -1);
      if (name != "onednn") continue;
      // Fused, the convolution's own output is never stored: the arena is smaller than the
      // reference's, which holds both it and the activation's.
      CHECK(arena_bytes(*g, backend) < arena_bytes(*g, &reference_backend()));
    }
  }
}

TEST_CASE("backends: a Relu after an inference batch norm runs inside it on oneDNN") {
  const Backend* onednn = find_backend("onednn");
  if (!onednn) return;
  graph::GraphBuilder b(6);
  graph::Value x = b.input("x", DType::F32, {1, 5, 4, 6});
  OpAttrs norm;
  norm.kind = fb::Attrs::NormAttrs;
  std::vector<graph::Value> inputs = {x};
  for (const char* name : {"scale", "bias", "mean", "var"}) {
    inputs.push_back(b.parameter(name, make_desc(DType::F32, {6}), std::vector<float>{0.5f, 1.5f, 1.0f, 2.0f, 0.7f, 1.2f}));
  }
  graph::Value h = b.relu(b.node(OpType::BatchNorm, norm, inputs, "bn"));
  OpAttrs global;
  global.kind = fb::Attrs::GlobalPoolAttrs;
  b.output(b.node(OpType::GlobalAvgPool, global, {h}, "pool"), "y");
  b.output(b.node(OpType::GlobalAvgPool, global, {x}, "pool_x"), "z");  // x lives on past the pair
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  check_same(*g, onednn, "batch norm + relu", 4);
  // Fused, the batch norm's own output is never stored: x, it and the Relu's are not all alive.
  CHECK(arena_bytes(*g, onednn) < arena_bytes(*g, &reference_backend()));
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
