// Elementwise Add, Sub, Mul, Div with NumPy broadcasting.
//
//   a: [...]   b: [...] (broadcastable)   ->   y: broadcast(a, b)
#include "ops/broadcast.h"
#include "ops/op.h"

namespace preflight {
namespace {

Status infer_binary(const OpAttrs&, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  PF_CHECK_DTYPE(in[1], DType::F32, 1);
  return broadcast_shapes(in[0], in[1], &out[0]);
}

template <typename Function>
Status binary_forward(const TensorView* in, TensorView* out, Function function) {
  const float* a = in[0].f32();
  const float* b = in[1].f32();
  float* y = out[0].f32();
  const int64_t count = out[0].desc.num_elements();
  if (in[0].desc.same_shape(in[1].desc)) {
    for (int64_t i = 0; i < count; ++i) y[i] = function(a[i], b[i]);
    return Status::ok();
  }
  BroadcastIndexer index(out[0].desc, in[0].desc, in[1].desc);
  for (int64_t i = 0; i < count; ++i, index.next()) y[i] = function(a[index.offset_a()], b[index.offset_b()]);
  return Status::ok();
}

Status add_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return binary_forward(in, out, [](float a, float b) { return a + b; });
}
Status sub_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return binary_forward(in, out, [](float a, float b) { return a - b; });
}
Status mul_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return binary_forward(in, out, [](float a, float b) { return a * b; });
}
Status div_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  // IEEE division: x / 0 is +-inf or NaN, as in NumPy and PyTorch; never a trap.
  return binary_forward(in, out, [](float a, float b) { return a / b; });
}

// For y = f(a, b) with broadcasting: da[offset_a] += dy * df/da and db[offset_b] += dy * df/db for
// every output element, so dims that broadcast sum their contributions.
template <typename Partials>
Status binary_backward(const TensorView* in, const TensorView* out, const TensorView* out_grad, TensorView* in_grad,
                       Partials partials) {
  const float* a = in[0].f32();
  const float* b = in[1].f32();
  const float* dy = out_grad[0].f32();
  float* da = in_grad[0].f32();
  float* db = in_grad[1].f32();
  const int64_t count = out[0].desc.num_elements();
  BroadcastIndexer index(out[0].desc, in[0].desc, in[1].desc);
  for (int64_t i = 0; i < count; ++i, index.next()) {
    float d_a = 0.0f, d_b = 0.0f;
    partials(a[index.offset_a()], b[index.offset_b()], &d_a, &d_b);
    if (da) da[index.offset_a()] += dy[i] * d_a;
    if (db) db[index.offset_b()] += dy[i] * d_b;
  }
  return Status::ok();
}

Status add_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return binary_backward(in, out, dy, dx, [](float, float, float* d_a, float* d_b) { *d_a = 1.0f, *d_b = 1.0f; });
}
Status sub_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return binary_backward(in, out, dy, dx, [](float, float, float* d_a, float* d_b) { *d_a = 1.0f, *d_b = -1.0f; });
}
Status mul_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return binary_backward(in, out, dy, dx, [](float a, float b, float* d_a, float* d_b) { *d_a = b, *d_b = a; });
}
Status div_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  // y = a / b: dy/da = 1 / b, dy/db = -a / b^2
  return binary_backward(in, out, dy, dx, [](float a, float b, float* d_a, float* d_b) {
    *d_a = 1.0f / b;
    *d_b = -a / (b * b);
  });
}

}  // namespace

template <>
const OpDef& op_def<OpType::Add>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Add);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.infer = infer_binary;
    d.forward = add_forward;
    d.backward = PF_BACKWARD(add_backward);
    return d;
  }();
  return def;
}
template <>
const OpDef& op_def<OpType::Sub>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Sub);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.infer = infer_binary;
    d.forward = sub_forward;
    d.backward = PF_BACKWARD(sub_backward);
    return d;
  }();
  return def;
}
template <>
const OpDef& op_def<OpType::Mul>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Mul);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.infer = infer_binary;
    d.forward = mul_forward;
    d.backward = PF_BACKWARD(mul_backward);
    return d;
  }();
  return def;
}
template <>
const OpDef& op_def<OpType::Div>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Div);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.infer = infer_binary;
    d.forward = div_forward;
    d.backward = PF_BACKWARD(div_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
