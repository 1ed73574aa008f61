// Every op's backward against central finite differences of its forward, on seeded random shapes
// (odd sizes, broadcasting, strides, padding, dilation, groups). The loss is L = sum(w * y) with a
// random w, so dL/dy = w; L is summed in float64. A planted sign flip proves the check can fail.
#include <functional>

#include "graph/random.h"
#include "ops/registry.h"
#include "test_util.h"

namespace preflight {
namespace {

constexpr double kStep = 1e-2;               // central difference step
constexpr double kAbsoluteTolerance = 2e-3;  // float32 forward: L carries ~1e-6 of rounding
constexpr double kRelativeTolerance = 2e-2;
constexpr int kMaxCheckedPerInput = 48;      // elements sampled per input

enum class Values { kUniform, kAwayFromZero, kDistinct, kPositive, kAwayFromClamp, kSmall, kAwayFromThree };

struct GradCase {
  std::string name;
  OpType op;
  OpAttrs attrs;
  std::vector<TensorDesc> inputs;
  std::vector<Values> values;      // per input
  std::vector<bool> differentiate; // per input
  int64_t label_classes = 0;       // > 0: input 1 holds labels in [0, label_classes)
};

struct GradResult {
  bool ok = true;
  std::string worst;  // "input 1 element 7: analytic 0.1, numeric 0.3"
  double worst_excess = 0.0;
};

std::vector<float> make_values(const TensorDesc& desc, Values kind, SplitMix64& rng) {
  std::vector<float> v(static_cast<size_t>(desc.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (kind) {
      case Values::kUniform: v[i] = rng.uniform(-1.0f, 1.0f); break;
      case Values::kAwayFromZero: v[i] = rng.uniform(0.1f, 1.0f) * (rng.next() & 1 ? 1.0f : -1.0f); break;
      case Values::kPositive: v[i] = rng.uniform(0.5f, 2.0f); break;
      case Values::kSmall: v[i] = rng.uniform(0.05f, 0.3f); break;
      case Values::kAwayFromThree: {
        // In [-5, 5], 0.1 away from -3 and 3 (the kinks of HardSwish): all three pieces sampled.
        const float pick = rng.uniform(0.0f, 3.0f);
        const float magnitude = pick < 1.0f ? rng.uniform(0.0f, 2.9f) : rng.uniform(3.1f, 5.0f);
        v[i] = rng.next() & 1 ? magnitude : -magnitude;
        break;
      }
      case Values::kAwayFromClamp: {
        // Clamp bounds in the cases are -0.5 and 0.5: stay 0.1 away from both.
        const float pick = rng.uniform(0.0f, 3.0f);
        v[i] = pick < 1.0f ? rng.uniform(-1.0f, -0.6f) : pick < 2.0f ? rng.uniform(-0.4f, 0.4f) : rng.uniform(0.6f, 1.0f);
        break;
      }
      case Values::kDistinct: v[i] = 0.05f * static_cast<float>(i); break;
    }
  }
  if (kind == Values::kDistinct) {  // a shuffled ramp: no two values within 0.05, so no max ties
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.next() % i]);
  }
  return v;
}

// L = sum over every output k of sum(w_k * y_k), in float64.
double weighted_sum(const OpDef& op, const GradCase& c, std::vector<TensorView>& in, const TensorDesc* out_desc,
                    const std::vector<std::vector<float>>& weights) {
  std::vector<std::vector<float>> y(weights.size());
  std::vector<TensorView> out(weights.size());
  for (size_t k = 0; k < weights.size(); ++k) {
    y[k].resize(weights[k].size());
    out[k] = TensorView{out_desc[k], y[k].data()};
  }
  REQUIRE(op.forward(c.attrs, in.data(), static_cast<int>(in.size()), out.data()).is_ok());
  double total = 0.0;
  for (size_t k = 0; k < weights.size(); ++k) {
    for (size_t i = 0; i < y[k].size(); ++i) total += static_cast<double>(weights[k][i]) * y[k][i];
  }
  return total;
}

// Compares `backward` (the op's own unless given) with finite differences.
GradResult check_gradients(const GradCase& c, uint64_t seed, BackwardFn backward = nullptr) {
  const OpDef& op = *find_op(c.op);
  if (!backward) backward = op.backward;
  SplitMix64 rng(seed);
  std::vector<std::vector<float>> data;
  std::vector<std::vector<int64_t>> labels(c.inputs.size());
  std::vector<TensorView> in;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    data.push_back(make_values(c.inputs[i], c.values[i], rng));
    if (c.label_classes > 0 && i == 1) {
      labels[i].resize(static_cast<size_t>(c.inputs[i].num_elements()));
      for (int64_t& label : labels[i]) label = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(c.label_classes));
      in.push_back(TensorView{c.inputs[i], labels[i].data()});
    } else {
      in.push_back(TensorView{c.inputs[i], data.back().data()});
    }
  }
  TensorDesc out_desc[kMaxNodeOutputs];
  const Status inferred = op.infer(c.attrs, c.inputs.data(), static_cast<int>(c.inputs.size()), out_desc);
  REQUIRE_MESSAGE(inferred.is_ok(), c.name << ": " << inferred.message());
  std::vector<std::vector<float>> weights, y;
  std::vector<TensorView> out, out_grad;
  for (int k = 0; k < op.num_outputs; ++k) {
    weights.push_back(make_values(out_desc[k], Values::kUniform, rng));
    y.emplace_back(weights.back().size());
  }
  for (int k = 0; k < op.num_outputs; ++k) {
    out.push_back(TensorView{out_desc[k], y[static_cast<size_t>(k)].data()});
    out_grad.push_back(TensorView{out_desc[k], weights[static_cast<size_t>(k)].data()});
  }
  REQUIRE(op.forward(c.attrs, in.data(), static_cast<int>(in.size()), out.data()).is_ok());

  std::vector<std::vector<float>> grads(c.inputs.size());
  std::vector<TensorView> in_grad(c.inputs.size());
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    in_grad[i].desc = c.inputs[i];
    if (c.differentiate[i]) {
      grads[i].assign(static_cast<size_t>(c.inputs[i].num_elements()), 0.0f);
      in_grad[i].data = grads[i].data();
    }
  }
  REQUIRE(backward(c.attrs, in.data(), static_cast<int>(in.size()), out.data(), out_grad.data(), in_grad.data()).is_ok());

  GradResult result;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.differentiate[i]) continue;
    const int64_t count = c.inputs[i].num_elements();
    for (int k = 0; k < kMaxCheckedPerInput && k < count; ++k) {
      const int64_t j = count <= kMaxCheckedPerInput ? k : static_cast<int64_t>(rng.next() % static_cast<uint64_t>(count));
      float& x = data[i][static_cast<size_t>(j)];
      const float saved = x;
      x = static_cast<float>(saved + kStep);
      const double plus = weighted_sum(op, c, in, out_desc, weights);
      x = static_cast<float>(saved - kStep);
      const double minus = weighted_sum(op, c, in, out_desc, weights);
      x = saved;
      const double numeric = (plus - minus) / (2.0 * kStep);
      const double analytic = grads[i][static_cast<size_t>(j)];
      const double allowed = kAbsoluteTolerance + kRelativeTolerance * std::max(std::fabs(numeric), std::fabs(analytic));
      const double excess = std::fabs(numeric - analytic) - allowed;
      if (excess > 0 && (result.ok || excess > result.worst_excess)) {
        result.ok = false;
        result.worst_excess = excess;
        result.worst = "input " + std::to_string(i) + " element " + std::to_string(j) + ": analytic " +
                       std::to_string(analytic) + ", numeric " + std::to_string(numeric);
      }
    }
  }
  return result;
}

int64_t dim(SplitMix64& rng, int64_t low, int64_t high) {
  return low + static_cast<int64_t>(rng.next() % static_cast<uint64_t>(high - low + 1));
}

TensorDesc f32(std::initializer_list<int64_t> dims) { return make_desc(DType::F32, dims); }

// One random case of each op family per trial.
std::vector<GradCase> random_cases(SplitMix64& rng) {
  std::vector<GradCase> cases;
  const auto add = [&](std::string name, OpType op, OpAttrs attrs, std::vector<TensorDesc> inputs,
                       std::vector<Values> values, std::vector<bool> differentiate) {
    cases.push_back({std::move(name), op, attrs, std::move(inputs), std::move(values), std::move(differentiate), 0});
  };
  const auto U = Values::kUniform;
  {  // Linear, with and without bias, rank 2 and 3
    const int64_t n = dim(rng, 1, 3), k = dim(rng, 1, 7), o = dim(rng, 1, 5);
    add("linear", OpType::Linear, OpAttrs(), {f32({n, k}), f32({o, k}), f32({o})}, {U, U, U}, {true, true, true});
    add("linear_rank3_nobias", OpType::Linear, OpAttrs(), {f32({2, n, k}), f32({o, k})}, {U, U}, {true, true});
  }
  {  // MatMul with transposes and batch broadcasting
    OpAttrs attrs;
    attrs.kind = fb::Attrs::MatMulAttrs;
    attrs.matmul.transpose_a = rng.next() & 1;
    attrs.matmul.transpose_b = rng.next() & 1;
    const int64_t m = dim(rng, 1, 4), k = dim(rng, 1, 5), n = dim(rng, 1, 4);
    const TensorDesc a = attrs.matmul.transpose_a ? f32({3, 1, k, m}) : f32({3, 1, m, k});
    const TensorDesc b = attrs.matmul.transpose_b ? f32({2, n, k}) : f32({2, k, n});
    add("matmul_broadcast", OpType::MatMul, attrs, {a, b}, {U, U}, {true, true});
  }
  {  // Conv2D: strides, asymmetric padding, dilation, groups, depthwise
    OpAttrs attrs;
    attrs.kind = fb::Attrs::Conv2dAttrs;
    Conv2dAttrs& c = attrs.conv;
    c.stride_h = static_cast<int>(dim(rng, 1, 2));
    c.stride_w = static_cast<int>(dim(rng, 1, 2));
    c.pad_top = static_cast<int>(dim(rng, 0, 2));
    c.pad_left = static_cast<int>(dim(rng, 0, 1));
    c.pad_bottom = static_cast<int>(dim(rng, 0, 1));
    c.pad_right = static_cast<int>(dim(rng, 0, 2));
    c.dilation_h = static_cast<int>(dim(rng, 1, 2));
    c.groups = static_cast<int>(dim(rng, 1, 2));
    const int64_t group_in = dim(rng, 1, 3), group_out = dim(rng, 1, 2);
    const int64_t channels = group_in * c.groups, out_channels = group_out * c.groups;
    add("conv2d", OpType::Conv2D, attrs,
        {f32({dim(rng, 1, 2), dim(rng, 5, 7), dim(rng, 4, 6), channels}), f32({out_channels, 3, 2, group_in}),
         f32({out_channels})},
        {U, U, U}, {true, true, true});
    OpAttrs depthwise;
    depthwise.kind = fb::Attrs::Conv2dAttrs;
    depthwise.conv.groups = 3;
    depthwise.conv.pad_top = depthwise.conv.pad_left = depthwise.conv.pad_bottom = depthwise.conv.pad_right = 1;
    add("conv2d_depthwise_nobias", OpType::Conv2D, depthwise, {f32({1, 5, 4, 3}), f32({3, 3, 3, 1})}, {U, U},
        {true, true});
  }
  {  // Pooling
    OpAttrs pool;
    pool.kind = fb::Attrs::Pool2dAttrs;
    pool.pool.kernel_h = pool.pool.kernel_w = static_cast<int>(dim(rng, 2, 3));
    pool.pool.stride_h = pool.pool.stride_w = static_cast<int>(dim(rng, 1, 2));
    pool.pool.pad_top = pool.pool.pad_left = static_cast<int>(dim(rng, 0, 1));
    const TensorDesc x = f32({dim(rng, 1, 2), dim(rng, 4, 6), dim(rng, 4, 6), dim(rng, 1, 3)});
    add("max_pool2d", OpType::MaxPool2D, pool, {x}, {Values::kDistinct}, {true});
    add("avg_pool2d", OpType::AvgPool2D, pool, {x}, {U}, {true});
    pool.pool.count_include_pad = true;
    add("avg_pool2d_include_pad", OpType::AvgPool2D, pool, {x}, {U}, {true});
    OpAttrs global;
    global.kind = fb::Attrs::GlobalPoolAttrs;
    add("global_avg_pool", OpType::GlobalAvgPool, global, {x}, {U}, {true});
  }
  {  // Reductions: over inner, outer and all dims, kept and dropped (distinct values: no max ties)
    const TensorDesc x = f32({dim(rng, 2, 3), dim(rng, 1, 4), dim(rng, 2, 5)});
    const struct {
      const char* name;
      OpType op;
    } reductions[] = {{"reduce_mean", OpType::ReduceMean}, {"reduce_sum", OpType::ReduceSum},
                      {"reduce_max", OpType::ReduceMax},   {"reduce_min", OpType::ReduceMin},
                      {"reduce_l2", OpType::ReduceL2}};
    for (const auto& r : reductions) {
      for (uint32_t axes : {0x4u, 0x5u, 0x7u}) {
        OpAttrs reduce;
        reduce.kind = fb::Attrs::ReduceAttrs;
        reduce.reduce.axes = axes;
        reduce.reduce.keep_dims = axes == 0x5u;
        add(std::string(r.name) + "_" + std::to_string(axes), r.op, reduce, {x},
            {r.op == OpType::ReduceL2 ? Values::kAwayFromZero : Values::kDistinct}, {true});
      }
    }
  }
  {  // Slice: a strided window and a reversed one
    const TensorDesc x = f32({3, dim(rng, 4, 6), 5});
    OpAttrs slice;
    slice.kind = fb::Attrs::SliceAttrs;
    slice.slice.rank = 3;
    const int64_t starts[] = {1, 0, 4}, steps[] = {1, 2, -2}, sizes[] = {2, 2, 3};
    for (int d = 0; d < 3; ++d) slice.slice.start[d] = starts[d], slice.slice.step[d] = steps[d], slice.slice.size[d] = sizes[d];
    add("slice", OpType::Slice, slice, {x}, {U}, {true});
  }
  {  // Activations
    const TensorDesc x = f32({dim(rng, 1, 3), dim(rng, 1, 7)});
    add("relu", OpType::Relu, OpAttrs(), {x}, {Values::kAwayFromZero}, {true});
    OpAttrs clamp;
    clamp.kind = fb::Attrs::ClampAttrs;
    clamp.clamp.min = -0.5f;
    clamp.clamp.max = 0.5f;
    add("clamp", OpType::Clamp, clamp, {x}, {Values::kAwayFromClamp}, {true});
    add("sigmoid", OpType::Sigmoid, OpAttrs(), {x}, {U}, {true});
    add("tanh", OpType::Tanh, OpAttrs(), {x}, {U}, {true});
    add("hard_swish", OpType::HardSwish, OpAttrs(), {x}, {Values::kAwayFromThree}, {true});
    OpAttrs hard_sigmoid;  // torch.nn.Hardsigmoid's alpha: the kinks at -3 and 3
    hard_sigmoid.kind = fb::Attrs::HardSigmoidAttrs;
    hard_sigmoid.hard_sigmoid.alpha = 1.0f / 6.0f;
    add("hard_sigmoid", OpType::HardSigmoid, hard_sigmoid, {x}, {Values::kAwayFromThree}, {true});
    add("gelu", OpType::Gelu, OpAttrs(), {x}, {U}, {true});
    OpAttrs alpha;
    alpha.kind = fb::Attrs::AlphaAttrs;
    alpha.alpha.alpha = 0.2f;
    add("leaky_relu", OpType::LeakyRelu, alpha, {x}, {Values::kAwayFromZero}, {true});
    alpha.alpha.alpha = 0.7f;
    add("elu", OpType::Elu, alpha, {x}, {Values::kAwayFromZero}, {true});
    add("sqrt", OpType::Sqrt, OpAttrs(), {x}, {Values::kPositive}, {true});
    add("exp", OpType::Exp, OpAttrs(), {x}, {U}, {true});
    add("log", OpType::Log, OpAttrs(), {x}, {Values::kPositive}, {true});
    add("neg", OpType::Neg, OpAttrs(), {x}, {U}, {true});
    add("abs", OpType::Abs, OpAttrs(), {x}, {Values::kAwayFromZero}, {true});
    add("reciprocal", OpType::Reciprocal, OpAttrs(), {x}, {Values::kAwayFromZero}, {true});
    add("erf", OpType::Erf, OpAttrs(), {x}, {U}, {true});
    add("silu", OpType::Silu, OpAttrs(), {x}, {Values::kAwayFromThree}, {true});
    OpAttrs gelu_tanh;
    gelu_tanh.gelu.tanh_approximation = true;
    add("gelu_tanh", OpType::Gelu, gelu_tanh, {x}, {U}, {true});
    OpAttrs dropout;
    add("dropout", OpType::Dropout, dropout, {x}, {U}, {true});
    dropout.dropout.training = true;
    dropout.dropout.ratio = 0.3f;
    dropout.dropout.stream = 7;
    // Input 1 is the seed: an i64 scalar drawn like a label.
    cases.push_back({"dropout_training", OpType::Dropout, dropout, {f32({3, dim(rng, 2, 9)}), make_desc(DType::I64, {})},
                     {U, U}, {true, false}, 1000003});
  }
  {  // Binary ops with broadcasting on both sides
    const int64_t a = dim(rng, 1, 3), b = dim(rng, 2, 4);
    for (OpType op : {OpType::Add, OpType::Sub, OpType::Mul, OpType::Div}) {
      const Values divisor = op == OpType::Div ? Values::kPositive : U;
      add(std::string(find_op(op)->name) + "_broadcast", op, OpAttrs(), {f32({2, 1, b}), f32({a, 1})}, {U, divisor},
          {true, true});
      add(std::string(find_op(op)->name) + "_same", op, OpAttrs(), {f32({a, b}), f32({a, b})}, {U, divisor}, {true, true});
    }
  }
  {  // Data movement
    OpAttrs reshape;
    reshape.kind = fb::Attrs::ReshapeAttrs;
    reshape.reshape.rank = 2;
    reshape.reshape.shape[0] = -1;
    reshape.reshape.shape[1] = 2;
    add("reshape", OpType::Reshape, reshape, {f32({3, dim(rng, 1, 3) * 2})}, {U}, {true});
    OpAttrs flatten;
    flatten.kind = fb::Attrs::AxisAttrs;
    flatten.axis.axis = 1;
    add("flatten", OpType::Flatten, flatten, {f32({2, 3, dim(rng, 1, 4)})}, {U}, {true});
    OpAttrs transpose;
    transpose.kind = fb::Attrs::TransposeAttrs;
    transpose.transpose.rank = 3;
    transpose.transpose.perm[0] = 2;
    transpose.transpose.perm[1] = 0;
    transpose.transpose.perm[2] = 1;
    add("transpose", OpType::Transpose, transpose, {f32({2, dim(rng, 1, 3), dim(rng, 2, 4)})}, {U}, {true});
    OpAttrs concat;
    concat.kind = fb::Attrs::AxisAttrs;
    concat.axis.axis = -1;
    add("concat", OpType::Concat, concat, {f32({2, dim(rng, 1, 3)}), f32({2, dim(rng, 1, 3)}), f32({2, 1})}, {U, U, U},
        {true, true, true});
  }
  {  // Softmax family and norms
    OpAttrs axis1;
    axis1.kind = fb::Attrs::AxisAttrs;
    axis1.axis.axis = 1;
    const TensorDesc x = f32({2, dim(rng, 2, 5), dim(rng, 1, 3)});
    add("softmax_axis1", OpType::Softmax, axis1, {x}, {U}, {true});
    add("log_softmax_axis1", OpType::LogSoftmax, axis1, {x}, {U}, {true});
    OpAttrs norm;
    norm.kind = fb::Attrs::NormAttrs;
    norm.norm.epsilon = 1e-3f;
    const int64_t c = dim(rng, 1, 4);
    add("batch_norm", OpType::BatchNorm, norm, {f32({2, 3, c}), f32({c}), f32({c}), f32({c}), f32({c})},
        {U, U, U, U, Values::kPositive}, {true, true, true, true, true});
    add("batch_norm_train", OpType::BatchNormTrain, norm, {f32({3, 2, c}), f32({c}), f32({c})}, {U, U, U},
        {true, true, true});
    norm.norm.axis = 1;
    add("layer_norm", OpType::LayerNorm, norm, {f32({2, 3, c}), f32({3, c}), f32({3, c})}, {U, U, U}, {true, true, true});
    add("layer_norm_no_affine", OpType::LayerNorm, norm, {f32({3, 2, c + 1})}, {U}, {true});
  }
  {  // Gradient clipping (ClipScale where it clips: the scale is constant elsewhere)
    add("squared_norm", OpType::SquaredNorm, OpAttrs(), {f32({dim(rng, 1, 4), 3}), f32({dim(rng, 1, 5)})}, {U, U},
        {true, true});
    add("clip_scale", OpType::ClipScale, OpAttrs(), {f32({}), f32({}), f32({})},
        {Values::kSmall, Values::kPositive, Values::kPositive}, {true, true, true});
  }
  {  // Losses, every reduction
    for (fb::Reduction reduction : {fb::Reduction::Mean, fb::Reduction::Sum, fb::Reduction::None}) {
      OpAttrs loss;
      loss.kind = fb::Attrs::LossAttrs;
      loss.loss.reduction = reduction;
      const int64_t n = dim(rng, 1, 4), classes = dim(rng, 2, 5);
      GradCase ce{std::string("cross_entropy_") + fb::EnumNameReduction(reduction), OpType::SoftmaxCrossEntropy, loss,
                  {f32({n, classes}), make_desc(DType::I64, {n})}, {U, U}, {true, false}, classes};
      cases.push_back(ce);
      // More classes than the backward kernel keeps exponentials for (64): the recomputing path.
      GradCase wide{std::string("cross_entropy_wide_") + fb::EnumNameReduction(reduction), OpType::SoftmaxCrossEntropy,
                    loss, {f32({2, 70}), make_desc(DType::I64, {2})}, {U, U}, {true, false}, 70};
      cases.push_back(wide);
      add(std::string("mse_") + fb::EnumNameReduction(reduction), OpType::MseLoss, loss, {f32({n, 3}), f32({n, 3})},
          {U, U}, {true, true});
    }
  }
  return cases;
}

TEST_CASE("gradients: every op's backward matches finite differences on random shapes") {
  SplitMix64 rng(2026);
  std::vector<bool> covered(static_cast<size_t>(fb::OpType::MAX) + 1, false);
  for (int trial = 0; trial < 4; ++trial) {
    for (const GradCase& c : random_cases(rng)) {
      const std::string label = c.name + " (trial " + std::to_string(trial) + ")";
      SUBCASE(label.c_str()) {
        const GradResult result = check_gradients(c, rng.next());
        CHECK_MESSAGE(result.ok, label << ": " << result.worst);
      }
      covered[static_cast<size_t>(c.op)] = true;
    }
  }
  for (size_t op = 0; op < covered.size(); ++op) {
    if (find_op(static_cast<OpType>(op))->backward == nullptr) continue;  // optimizer updates
    CHECK_MESSAGE(covered[op], std::string(fb::EnumNameOpType(static_cast<OpType>(op))) << " has no gradient case");
  }
}

// A planted bug: ReLU's backward with the sign flipped must fail the check and name the input.
Status flipped_relu_backward(const OpAttrs& attrs, const TensorView* in, int n, const TensorView* out,
                             const TensorView* out_grad, TensorView* in_grad) {
  const Status status = find_op(OpType::Relu)->backward(attrs, in, n, out, out_grad, in_grad);
  const int64_t count = in[0].desc.num_elements();
  for (int64_t i = 0; i < count; ++i) in_grad[0].f32()[i] = -in_grad[0].f32()[i];
  return status;
}

TEST_CASE("gradients: the check fails on a backward with a flipped sign") {
  GradCase relu{"relu", OpType::Relu, OpAttrs(), {f32({3, 5})}, {Values::kAwayFromZero}, {true}, 0};
  CHECK(check_gradients(relu, 1).ok);
  const GradResult planted = check_gradients(relu, 1, flipped_relu_backward);
  CHECK_FALSE(planted.ok);
  CHECK(test::contains(planted.worst.c_str(), "input 0 element"));
}

TEST_CASE("gradients: backward accumulates into what is there (+=), it does not overwrite") {
  float x[4] = {1, -2, 3, -4}, y[4], dy[4] = {1, 1, 1, 1}, dx[4] = {10, 10, 10, 10};
  TensorView in{f32({4}), x}, out{f32({4}), y}, out_grad{f32({4}), dy}, in_grad{f32({4}), dx};
  REQUIRE(find_op(OpType::Relu)->forward(OpAttrs(), &in, 1, &out).is_ok());
  REQUIRE(find_op(OpType::Relu)->backward(OpAttrs(), &in, 1, &out, &out_grad, &in_grad).is_ok());
  CHECK(dx[0] == 11.0f);
  CHECK(dx[1] == 10.0f);
  CHECK(dx[2] == 11.0f);
  CHECK(dx[3] == 10.0f);
}

}  // namespace
}  // namespace preflight
