// The op table (in the manner of ggml's test-backend-ops): one graph per op and variant, run
// forward and backward on every backend this build has, host (XNNPACK, oneDNN, auto) and device
// (OpenCL, CUDA), against the reference backend. A host backend must run exactly the nodes its
// row names (the others fall back to the reference); a device backend runs every node. At the
// end, every op of the registry must have run on each device backend, forward and backward
// (rows here and the training runs of device_backend_test.cc, which sorts before this file:
// doctest runs files in name order).
//
// Adding an op: add rows to op_table() below. Nothing else in this file changes.
#include <sstream>

#include "backend_util.h"

namespace preflight {
namespace {

struct OpCase {
  std::string name;
  graph::Graph graph;
  float lo = -1.0f, hi = 1.0f;  // input values
  // The host backends that run the op's forward and backward node (names separated by spaces;
  // "auto" runs a node when any backend of the list is in this build).
  std::string forward, backward;
  OpCase& on(const char* forward_backends, const char* backward_backends) {
    forward = forward_backends, backward = backward_backends;
    return *this;
  }
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

// One graph per op and variant: odd sizes, broadcasting, strides, padding, dilation, groups.
// Adding an op adds its rows here (docs/adding-an-op.md); .on() names the host backends that run it.
std::vector<OpCase> op_table() {
  using graph::GraphBuilder;
  using graph::Value;
  std::vector<OpCase> table;
  const auto add = [&](const std::string& name, GraphBuilder& b, Value y, float lo = -1.0f, float hi = 1.0f) -> OpCase& {
    b.output(y, "y");
    Result<graph::Graph> g = b.finish();
    const std::string why = name + ": " + g.status().message();
    REQUIRE_MESSAGE(g.is_ok(), why);
    OpCase c;
    c.name = name;
    c.graph = std::move(*g);
    c.lo = lo, c.hi = hi;
    table.push_back(std::move(c));
    return table.back();
  };
  {
    GraphBuilder b(1);
    add("linear rank 3", b, b.linear(b.input("x", DType::F32, {2, 3, 7}), 5)).on("xnnpack onednn", "onednn");
  }
  {
    GraphBuilder b(2);
    add("linear, no bias, 37 x 19 -> 23 (partial tiles)", b, b.linear(b.input("x", DType::F32, {37, 19}), 23, false))
        .on("xnnpack onednn", "onednn");
  }
  for (int t = 0; t < 4; ++t) {
    GraphBuilder b(3);
    const bool ta = t & 1, tb = t & 2;
    Value a = ta ? b.input("a", DType::F32, {3, 1, 5, 4}) : b.input("a", DType::F32, {3, 1, 4, 5});
    Value m = tb ? b.input("b", DType::F32, {2, 6, 5}) : b.input("b", DType::F32, {2, 5, 6});
    add("matmul broadcast, transpose " + std::to_string(ta) + std::to_string(tb), b, b.matmul(a, m, ta, tb));
  }
  const auto conv = [&](const std::string& name, std::initializer_list<int64_t> dims, int64_t out, Conv2dAttrs c, int kh,
                        int kw, bool bias) -> OpCase& {
    GraphBuilder b(4);
    Value x = b.input("x", DType::F32, dims);
    const int64_t channels = b.desc(x).dims[3];
    OpAttrs attrs;
    attrs.kind = fb::Attrs::Conv2dAttrs;
    attrs.conv = c;
    const TensorDesc w = make_desc(DType::F32, {out, kh, kw, channels / c.groups});
    std::vector<Value> inputs = {x, b.parameter("w", w, test::random_floats(w.num_elements(), 3))};
    if (bias) inputs.push_back(b.parameter("b", make_desc(DType::F32, {out}), test::random_floats(out, 4)));
    return add(name, b, b.node(OpType::Conv2D, attrs, inputs)).on("xnnpack onednn", "onednn");
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
  conv("conv depthwise multiplier 2", {1, 5, 5, 4}, 8, [] { Conv2dAttrs c; c.groups = 4; return c; }(), 3, 3, true);

  const auto one = [&](const std::string& name, OpType op, OpAttrs attrs, std::vector<std::initializer_list<int64_t>> shapes,
                       float lo = -1.0f, float hi = 1.0f) -> OpCase& {
    GraphBuilder b(5);
    std::vector<Value> inputs;
    int i = 0;
    for (const auto& dims : shapes) inputs.push_back(b.input("x" + std::to_string(i++), DType::F32, dims));
    return add(name, b, b.node(op, attrs, inputs), lo, hi);
  };
  OpAttrs pool;
  pool.kind = fb::Attrs::Pool2dAttrs;
  pool.pool.kernel_h = 3, pool.pool.kernel_w = 2, pool.pool.stride_h = 2, pool.pool.stride_w = 1, pool.pool.pad_top = 1,
  pool.pool.pad_bottom = 1;
  one("max pool padded", OpType::MaxPool2D, pool, {{2, 7, 6, 3}}).on("xnnpack onednn", "onednn");
  one("average pool padded, padding excluded", OpType::AvgPool2D, pool, {{2, 7, 6, 3}}).on("onednn", "onednn");
  pool.pool.count_include_pad = true;
  one("average pool padded, padding counted", OpType::AvgPool2D, pool, {{1, 5, 4, 2}}).on("onednn", "onednn");
  OpAttrs global;
  global.kind = fb::Attrs::GlobalPoolAttrs;
  one("global average pool", OpType::GlobalAvgPool, global, {{3, 5, 4, 6}}).on("xnnpack onednn", "onednn");
  global.global_pool.keep_dims = true;
  one("global average pool, dims kept", OpType::GlobalAvgPool, global, {{1, 2, 2, 5}}).on("xnnpack onednn", "onednn");
  one("relu", OpType::Relu, OpAttrs(), {{3, 17}}).on("xnnpack onednn", "onednn");
  OpAttrs clamp;
  clamp.kind = fb::Attrs::ClampAttrs;
  clamp.clamp.min = -0.25f, clamp.clamp.max = 0.5f;
  one("clamp", OpType::Clamp, clamp, {{2, 3, 5}}).on("xnnpack onednn", "");  // oneDNN's gradient at the bounds differs
  one("sigmoid", OpType::Sigmoid, OpAttrs(), {{4, 9}}, -4.0f, 4.0f).on("onednn", "onednn");
  one("tanh", OpType::Tanh, OpAttrs(), {{4, 9}}, -3.0f, 3.0f);
  one("hard swish, all three pieces", OpType::HardSwish, OpAttrs(), {{4, 9}}, -5.0f, 5.0f).on("xnnpack onednn", "onednn");
  OpAttrs hard_sigmoid;
  hard_sigmoid.kind = fb::Attrs::HardSigmoidAttrs;  // ONNX's defaults, alpha 0.2 and beta 0.5
  one("hard sigmoid, ONNX's alpha and beta", OpType::HardSigmoid, hard_sigmoid, {{3, 11}}, -4.0f, 4.0f).on("onednn", "");
  hard_sigmoid.hard_sigmoid.alpha = 1.0f / 6.0f, hard_sigmoid.hard_sigmoid.beta = 0.5f;
  one("hard sigmoid, torch's alpha", OpType::HardSigmoid, hard_sigmoid, {{2, 3, 7}}, -5.0f, 5.0f).on("onednn", "");
  OpAttrs alpha;
  alpha.kind = fb::Attrs::AlphaAttrs;
  alpha.alpha.alpha = 0.1f;
  one("leaky relu", OpType::LeakyRelu, alpha, {{3, 13}}).on("onednn", "");
  alpha.alpha.alpha = 0.8f;
  one("elu", OpType::Elu, alpha, {{2, 3, 5}}, -3.0f, 2.0f).on("onednn", "");
  one("sqrt", OpType::Sqrt, OpAttrs(), {{4, 7}}, 0.1f, 3.0f).on("onednn", "");
  one("exp", OpType::Exp, OpAttrs(), {{4, 7}}, -3.0f, 3.0f).on("onednn", "");
  one("log", OpType::Log, OpAttrs(), {{4, 7}}, 0.1f, 3.0f).on("onednn", "");
  one("neg", OpType::Neg, OpAttrs(), {{3, 5}});
  one("abs", OpType::Abs, OpAttrs(), {{3, 5}}).on("onednn", "");
  one("reciprocal", OpType::Reciprocal, OpAttrs(), {{3, 5}}, 0.5f, 2.0f);
  one("erf", OpType::Erf, OpAttrs(), {{3, 9}}, -2.5f, 2.5f);
  one("silu", OpType::Silu, OpAttrs(), {{4, 9}}, -6.0f, 6.0f).on("onednn", "onednn");
  one("sigmoid, saturating", OpType::Sigmoid, OpAttrs(), {{2, 3, 7}}, -12.0f, 12.0f).on("onednn", "onednn");
  const struct {
    const char* name;
    OpType op;
  } reductions[] = {{"reduce mean", OpType::ReduceMean}, {"reduce sum", OpType::ReduceSum},
                    {"reduce max", OpType::ReduceMax},   {"reduce min", OpType::ReduceMin},
                    {"reduce l2", OpType::ReduceL2}};
  for (const auto& r : reductions) {
    OpAttrs reduce;
    reduce.kind = fb::Attrs::ReduceAttrs;
    reduce.reduce.axes = 0x6u;  // H and W of an NHWC tensor, kept
    reduce.reduce.keep_dims = true;
    one(std::string(r.name) + ", spatial dims kept", r.op, reduce, {{2, 5, 3, 4}}).on("onednn", "");
    reduce.reduce.axes = 0x5u;  // outer and inner dims, dropped
    reduce.reduce.keep_dims = false;
    one(std::string(r.name) + ", outer and inner dims dropped", r.op, reduce, {{3, 4, 7}}).on("onednn", "");
  }
  OpAttrs slice;
  slice.kind = fb::Attrs::SliceAttrs;
  slice.slice.rank = 4;  // the whole batch (-1), rows reversed, every other column, channels 2..5
  const int64_t starts[] = {0, 4, 0, 2}, steps[] = {1, -1, 2, 1}, sizes[] = {-1, 5, 3, 4};
  for (int d = 0; d < 4; ++d) slice.slice.start[d] = starts[d], slice.slice.step[d] = steps[d], slice.slice.size[d] = sizes[d];
  one("slice, strided and reversed: oneDNN declines a backward step", OpType::Slice, slice, {{2, 5, 6, 7}});
  slice.slice.start[1] = 1, slice.slice.step[1] = 2, slice.slice.size[1] = 2;  // rows 1 and 3
  one("slice, strided", OpType::Slice, slice, {{2, 5, 6, 7}}).on("onednn", "");
  OpAttrs gelu;
  gelu.kind = fb::Attrs::GeluAttrs;
  one("gelu", OpType::Gelu, gelu, {{5, 7}}, -3.0f, 3.0f).on("onednn", "");
  gelu.gelu.tanh_approximation = true;
  one("gelu, tanh approximation", OpType::Gelu, gelu, {{5, 7}}, -3.0f, 3.0f).on("onednn", "");
  for (OpType op : {OpType::Add, OpType::Sub, OpType::Mul, OpType::Div}) {
    const std::string name = find_op(op)->name;
    // Div's divisor stays away from zero: inputs in [0.5, 2).
    const float lo = op == OpType::Div ? 0.5f : -1.0f, hi = op == OpType::Div ? 2.0f : 1.0f;
    // The SIMD backends take Add (XNNPACK, oneDNN), Mul, Sub and Div (oneDNN) forward only; oneDNN
    // when one input broadcasts into the other (Add, Mul: either; Sub, Div: the second).
    const bool is_add = op == OpType::Add, is_mul = op == OpType::Mul;
    one(name + ", broadcast both ways", op, OpAttrs(), {{2, 1, 4, 1}, {1, 3, 1, 5}}, lo, hi).on(is_add ? "xnnpack" : "", "");
    one(name + ", trailing vector", op, OpAttrs(), {{2, 3, 5}, {5}}, lo, hi).on(is_add ? "xnnpack onednn" : "onednn", "");
    if (is_add) one(name + ", same shape", op, OpAttrs(), {{2, 3, 4}, {2, 3, 4}}).on("xnnpack onednn", "");
    if (is_mul) one(name + ", same shape", op, OpAttrs(), {{2, 3, 4}, {2, 3, 4}}).on("onednn", "");
    if (is_mul) one(name + ", squeeze-excitation scale", op, OpAttrs(), {{2, 4, 3, 6}, {2, 1, 1, 6}}).on("onednn", "");
    // Along the innermost dim (a per-row value): oneDNN declines it, its slow path; one value it takes.
    one(name + ", per-row value", op, OpAttrs(), {{2, 4, 3, 6}, {2, 4, 3, 1}}, lo, hi).on(is_add ? "xnnpack" : "", "");
    one(name + ", one value", op, OpAttrs(), {{2, 4, 3, 6}, {1}}, lo, hi).on(is_add ? "xnnpack onednn" : "onednn", "");
    if (is_add || is_mul) {  // the first input broadcasting into the second: oneDNN swaps them
      one(name + ", first input broadcast", op, OpAttrs(), {{2, 1, 1, 6}, {2, 4, 3, 6}}).on(is_add ? "xnnpack onednn" : "onednn", "");
    }
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
    add("transpose NCHW to NHWC", b, b.transpose(b.input("x", DType::F32, {2, 3, 5, 4}), {0, 2, 3, 1})).on("onednn", "");
  }
  {
    GraphBuilder b(6);
    add("transpose rank 3", b, b.transpose(b.input("x", DType::F32, {3, 4, 5}), {2, 0, 1})).on("onednn", "");
  }
  {
    GraphBuilder b(6);
    add("concat axis 1", b,
        b.concat({b.input("a", DType::F32, {2, 3, 4}), b.input("b", DType::F32, {2, 1, 4}), b.input("c", DType::F32, {2, 2, 4})}, 1))
        .on("onednn", "");
  }
  {
    GraphBuilder b(6);  // densenet's: NHWC channels
    add("concat channels last", b, b.concat({b.input("a", DType::F32, {1, 3, 2, 5}), b.input("b", DType::F32, {1, 3, 2, 3})}, 3))
        .on("onednn", "");
  }
  {
    GraphBuilder b(6);
    add("concat axis 0", b, b.concat({b.input("a", DType::F32, {1, 4}), b.input("b", DType::F32, {3, 4})}, 0)).on("onednn", "");
  }
  OpAttrs axis;
  axis.kind = fb::Attrs::AxisAttrs;
  axis.axis.axis = 1;
  one("softmax axis 1 of 3: the SIMD backends decline it", OpType::Softmax, axis, {{2, 6, 3}}, -3.0f, 3.0f);
  one("log softmax axis 1 of 3", OpType::LogSoftmax, axis, {{2, 6, 3}}, -3.0f, 3.0f);
  axis.axis.axis = -1;
  one("softmax last axis", OpType::Softmax, axis, {{4, 10}}, -3.0f, 3.0f).on("xnnpack onednn", "onednn");
  axis.axis.axis = 0;
  one("softmax axis 0 of 2: the SIMD backends decline it", OpType::Softmax, axis, {{4, 10}}, -3.0f, 3.0f);
  OpAttrs norm;
  norm.kind = fb::Attrs::NormAttrs;
  norm.norm.axis = -1;
  one("batch norm (inference), every input differentiated", OpType::BatchNorm, norm, {{2, 3, 4}, {4}, {4}, {4}, {4}}, 0.5f, 2.0f)
      .on("onednn", "");
  one("batch norm (inference), NHWC", OpType::BatchNorm, norm, {{1, 3, 5, 6}, {6}, {6}, {6}, {6}}, 0.5f, 2.0f).on("onednn", "");
  norm.norm.axis = 1;
  one("batch norm over axis 1 of 3: the SIMD backends decline it", OpType::BatchNorm, norm, {{2, 4, 3}, {4}, {4}, {4}, {4}}, 0.5f, 2.0f);
  norm.norm.axis = -1;
  // BatchNormTrain (three outputs) runs in the training test's normalized_mlp.
  norm.norm.axis = 1;
  one("layer norm over the last two axes", OpType::LayerNorm, norm, {{3, 4, 5}, {4, 5}, {4, 5}}).on("onednn", "");
  norm.norm.axis = -1;
  one("layer norm without affine", OpType::LayerNorm, norm, {{3, 7}}).on("onednn", "");
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


// The host backends besides the reference ("auto" included), then the device backends.
std::vector<const Backend*> every_backend() {
  std::vector<const Backend*> backends;
  for (const char* name : {"xnnpack", "onednn", "auto"}) {
    if (const Backend* b = find_backend(name)) backends.push_back(b);
  }
  for (const Backend* b : test::device_backends()) backends.push_back(b);
  return backends;
}

TEST_CASE("backends: every op of the table, forward and backward, computes what the reference computes, on every backend") {
  const std::vector<const Backend*> backends = every_backend();
  if (backends.empty()) MESSAGE("this build has no backend besides the reference");
  for (const OpCase& c : op_table()) {
    // The op's output and the gradients of a squared-error loss of it for every f32 input.
    const graph::Graph g = test::with_gradients(c.graph, /*keep_output=*/true);
    const int op_node = c.graph.methods[0].nodes.back();
    const bool has_backward = find_op(c.graph.nodes[static_cast<size_t>(op_node)].op)->backward != nullptr;
    std::vector<const char*> steps;
    const std::vector<std::vector<float>> expected = test::run_on(g, &reference_backend(), c.lo, c.hi, &steps);
    for (const Backend* backend : backends) {
      const std::vector<std::vector<float>> actual = test::run_on(g, backend, c.lo, c.hi, &steps);
      REQUIRE(actual.size() == expected.size());
      for (size_t o = 0; o < expected.size(); ++o) {
        test::check_close(actual[o].data(), expected[o].data(), static_cast<int64_t>(expected[o].size()), 1e-4, 1e-5,
                          c.name + (o == 0 ? ": output" : ": gradient " + std::to_string(o - 1)) + " on " + backend->name);
      }
      const graph::Method& method = g.methods[0];
      for (size_t s = 0; s < steps.size(); ++s) {
        const graph::Node& node = g.nodes[static_cast<size_t>(method.nodes[s])];
        // The op's own forward node, or its backward (the gradient of its forward inputs).
        const bool own = method.nodes[s] == op_node || (node.backward && node.op == c.graph.nodes[static_cast<size_t>(op_node)].op);
        bool want = true;  // a device backend runs every step
        if (!backend->device) want = own && (node.backward ? has_backward && expected_on(c.backward, backend) : expected_on(c.forward, backend));
        const std::string what = c.name + ": step " + std::to_string(s) + " (" + find_op(node.op)->name +
                                 (node.backward ? " backward" : "") + ") ran on " + steps[s] + " with --backend " + backend->name;
        CHECK_MESSAGE((std::string(steps[s]) != "reference") == want, what);
      }
    }
  }
}

TEST_CASE("device backends: the op table covers every op of the registry, forward and backward") {
  const std::vector<const Backend*> backends = test::device_backends();
  if (backends.empty()) return;
  // After the table above and the training runs of device_backend_test.cc.
  for (int type = 0; type <= static_cast<int>(OpType::MAX); ++type) {
    const OpDef* op = find_op(static_cast<OpType>(type));
    if (op == nullptr) continue;
    CHECK_MESSAGE(test::covered().count({type, false}) == 1, std::string(op->name) << " forward never ran on a device backend");
    if (op->backward) {
      CHECK_MESSAGE(test::covered().count({type, true}) == 1, std::string(op->name) << " backward never ran on a device backend");
    }
  }
}

}  // namespace
}  // namespace preflight
