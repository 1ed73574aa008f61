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

}  // namespace

const OpDef& add_op() {
  static const OpDef def = {OpType::Add, "Add", 2, 2, 1, fb::Attrs::NONE, false, infer_binary, add_forward};
  return def;
}
const OpDef& sub_op() {
  static const OpDef def = {OpType::Sub, "Sub", 2, 2, 1, fb::Attrs::NONE, false, infer_binary, sub_forward};
  return def;
}
const OpDef& mul_op() {
  static const OpDef def = {OpType::Mul, "Mul", 2, 2, 1, fb::Attrs::NONE, false, infer_binary, mul_forward};
  return def;
}
const OpDef& div_op() {
  static const OpDef def = {OpType::Div, "Div", 2, 2, 1, fb::Attrs::NONE, false, infer_binary, div_forward};
  return def;
}

}  // namespace preflight
