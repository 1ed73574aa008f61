// Elementwise activations: ReLU, Clamp (ReLU6 = Clamp[0, 6]), Sigmoid, Tanh, GELU.
//
//   x: any shape, f32   ->   y: same shape
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

Status infer_same_f32(const OpAttrs&, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  out[0] = in[0];
  return Status::ok();
}

Status infer_clamp(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  // `!(min <= max)` also rejects NaN bounds.
  PF_CHECK(attrs.clamp.min <= attrs.clamp.max, Error::kInvalidModel,
           "clamp bounds must satisfy min <= max, got min %g, max %g",
           static_cast<double>(attrs.clamp.min), static_cast<double>(attrs.clamp.max));
  return infer_same_f32(attrs, in, num_inputs, out);
}

template <typename Function>
Status map_f32(const TensorView& in, TensorView* out, Function function) {
  const float* x = in.f32();
  float* y = out->f32();
  const int64_t count = in.desc.num_elements();
  for (int64_t i = 0; i < count; ++i) y[i] = function(x[i]);
  return Status::ok();
}

Status relu_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  // NaN > 0 is false, so a bare `x > 0 ? x : 0` would turn NaN into 0; PyTorch propagates NaN.
  return map_f32(in[0], out, [](float x) { return std::isnan(x) ? x : (x > 0.0f ? x : 0.0f); });
}

Status clamp_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const float lo = attrs.clamp.min, hi = attrs.clamp.max;
  return map_f32(in[0], out, [lo, hi](float x) { return x < lo ? lo : (x > hi ? hi : x); });
}

Status sigmoid_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) {
    // Stable for large |x|: exp of a non-positive number only.
    const double e = std::exp(-std::fabs(static_cast<double>(x)));
    return static_cast<float>(x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e));
  });
}

Status tanh_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return static_cast<float>(std::tanh(static_cast<double>(x))); });
}

Status gelu_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  if (attrs.gelu.tanh_approximation) {
    // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), PyTorch's approximate="tanh".
    return map_f32(in[0], out, [](float xf) {
      const double x = xf;
      const double inner = 0.7978845608028654 * (x + 0.044715 * x * x * x);
      return static_cast<float>(0.5 * x * (1.0 + std::tanh(inner)));
    });
  }
  // 0.5 x (1 + erf(x / sqrt(2))), the exact form.
  return map_f32(in[0], out, [](float xf) {
    const double x = xf;
    return static_cast<float>(0.5 * x * (1.0 + std::erf(x * 0.7071067811865476)));
  });
}

}  // namespace

const OpDef& relu_op() {
  static const OpDef def = {OpType::Relu, "Relu", 1, 1, 1, fb::Attrs::NONE, false, infer_same_f32, relu_forward};
  return def;
}

const OpDef& clamp_op() {
  static const OpDef def = {OpType::Clamp, "Clamp", 1, 1, 1, fb::Attrs::ClampAttrs, true, infer_clamp, clamp_forward};
  return def;
}

const OpDef& sigmoid_op() {
  static const OpDef def = {OpType::Sigmoid, "Sigmoid", 1, 1, 1, fb::Attrs::NONE, false, infer_same_f32,
                            sigmoid_forward};
  return def;
}

const OpDef& tanh_op() {
  static const OpDef def = {OpType::Tanh, "Tanh", 1, 1, 1, fb::Attrs::NONE, false, infer_same_f32, tanh_forward};
  return def;
}

const OpDef& gelu_op() {
  static const OpDef def = {OpType::Gelu, "Gelu", 1, 1, 1, fb::Attrs::GeluAttrs, false, infer_same_f32, gelu_forward};
  return def;
}

}  // namespace preflight
