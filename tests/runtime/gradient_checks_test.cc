// skeleton.batch_independence and skeleton.gradients: pass on healthy models, fail on the planted
// bugs of RECIPE.md (a reshape used as a transpose; a backward with its sign flipped).
#include "models/models.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "ops/registry.h"
#include "test_util.h"
#include "trainer/checks/gradient_checks.h"

namespace preflight {
namespace {

const Dataset& digit_rows() {
  static Dataset data = [] {
    Result<Dataset> d = load_dataset(test::source_path("data/digits.csv.gz"));
    REQUIRE(d.is_ok());
    for (float& v : d->features) v /= 16.0f;
    return std::move(d).value();
  }();
  return data;
}

graph::Graph model(const std::string& name, int64_t batch) {
  Result<graph::Graph> g = models::build_model(name, batch, 2);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  return std::move(g).value();
}

TEST_CASE("batch independence and gradients pass on mlp and cnn8") {
  for (const char* name : {"mlp", "cnn8"}) {
    const graph::Graph g = model(name, 8);
    const CheckResult independence = check_batch_independence(g, digit_rows(), GradientCheckConfig());
    CHECK_MESSAGE(independence.verdict == Verdict::kPass, std::string(name) << ": " << independence.explanation);
    const CheckResult gradients = check_gradients(g, digit_rows(), GradientCheckConfig());
    CHECK_MESSAGE(gradients.verdict == Verdict::kPass, std::string(name) << ": " << gradients.explanation);
  }
}

TEST_CASE("planted: a reshape that swaps batch and feature axes instead of a transpose fails batch independence") {
  for (bool buggy : {false, true}) {
    graph::GraphBuilder b(4);
    graph::Value x = b.input("x", DType::F32, {8, 64});
    graph::Value h = b.relu(b.linear(x, 16));  // [8, 16]
    // Meant: transpose to [16, 8] and back. The bug: a reshape where the first transpose belongs.
    graph::Value swapped = buggy ? b.reshape(h, {16, 8}) : b.transpose(h, {1, 0});
    b.output(b.linear(b.transpose(swapped, {1, 0}), 10), "logits");
    Result<graph::Graph> g = b.finish();
    REQUIRE(g.is_ok());
    const CheckResult r = check_batch_independence(*g, digit_rows(), GradientCheckConfig());
    if (buggy) {
      CHECK(r.verdict == Verdict::kFail);
      CHECK(test::contains(r.explanation.c_str(), "reaches other samples' inputs (sample -> other: 0 -> "));
    } else {
      CHECK_MESSAGE(r.verdict == Verdict::kPass, r.explanation);
    }
  }
}

TEST_CASE("batch independence: batch norm is checked in its inference form") {
  graph::GraphBuilder b(4);
  graph::Value x = b.input("x", DType::F32, {8, 64});
  b.output(b.linear(b.relu(b.batch_norm(b.linear(x, 16))), 10), "logits");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  CHECK(check_batch_independence(*g, digit_rows(), GradientCheckConfig()).verdict == Verdict::kPass);
  CHECK(check_gradients(*g, digit_rows(), GradientCheckConfig()).verdict == Verdict::kPass);
}

// The reference backend, except that ReLU's backward has its sign flipped.
bool all_nodes(const Model&, const NodeInfo&) { return true; }
ForwardFn forward_kernel(const Model&, const NodeInfo& node) { return node.op->forward; }
Status flipped_relu(const OpAttrs& attrs, const TensorView* in, int n, const TensorView* out, const TensorView* out_grad,
                    TensorView* in_grad) {
  const Status status = find_op(OpType::Relu)->backward(attrs, in, n, out, out_grad, in_grad);
  for (int64_t i = 0; i < in[0].desc.num_elements(); ++i) in_grad[0].f32()[i] = -in_grad[0].f32()[i];
  return status;
}
BackwardFn backward_kernel(const Model&, const NodeInfo& node) {
  return node.op->type == OpType::Relu ? flipped_relu : node.op->backward;
}

TEST_CASE("planted: a backward with its sign flipped fails skeleton.gradients and names the tensor") {
  static constexpr Backend wrong = [] {
    Backend b;
    b.name = "wrong-relu-backward";
    b.supports = all_nodes;
    b.kernel = forward_kernel;
    b.backward_kernel = backward_kernel;
    return b;
  }();
  GradientCheckConfig config;
  config.session.backend = &wrong;
  const CheckResult r = check_gradients(model("mlp", 8), digit_rows(), config);
  CHECK(r.verdict == Verdict::kFail);
  // linear_0 sits behind two flipped ReLUs (the signs cancel); linear_2 behind one.
  CHECK_MESSAGE(test::contains(r.explanation.c_str(), "tensor 'linear_2.weight' (relative error"), r.explanation);
}

TEST_CASE("planted: the flipped backward also fails on regression, where rounding of outputs near 150 is allowed for") {
  DataOptions options;
  options.regression = true;
  options.labels_path = test::source_path("data/diabetes_target.csv.gz");
  Result<Dataset> data = load_dataset(test::source_path("data/diabetes_data_raw.csv.gz"), options);
  REQUIRE(data.is_ok());
  Dataset train, validation;
  REQUIRE(split_dataset(*data, 0.2, 0, &train, &validation).is_ok());
  standardize(&train, &validation);
  models::ModelShape shape;
  shape.inputs = 10;
  shape.outputs = 1;
  Result<graph::Graph> g = models::build_model("mlp", 8, 2, shape);
  REQUIRE(g.is_ok());
  graph::TrainingOptions training;
  training.loss = graph::LossKind::kMse;
  REQUIRE(graph::add_training_methods(&*g, training).is_ok());
  REQUIRE(graph::set_final_bias(&*g, prior_bias(train, 0)).is_ok());
  const CheckResult healthy = check_gradients(*g, train, GradientCheckConfig());
  CHECK_MESSAGE(healthy.verdict == Verdict::kPass, healthy.explanation);
  static constexpr Backend wrong = [] {
    Backend b;
    b.name = "wrong-relu-backward";
    b.supports = all_nodes;
    b.kernel = forward_kernel;
    b.backward_kernel = backward_kernel;
    return b;
  }();
  GradientCheckConfig config;
  config.session.backend = &wrong;
  const CheckResult r = check_gradients(*g, train, config);
  CHECK(r.verdict == Verdict::kFail);
  CHECK_MESSAGE(test::contains(r.explanation.c_str(), "tensor 'linear_2.weight' (relative error"), r.explanation);
}

}  // namespace
}  // namespace preflight
