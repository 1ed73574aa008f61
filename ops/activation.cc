// Elementwise activations: ReLU, Clamp (ReLU6 = Clamp[0, 6]), Sigmoid, Tanh, GELU, HardSwish,
// HardSigmoid, LeakyRelu, Elu, Silu; and the elementwise math functions Sqrt, Exp, Log, Neg, Abs,
// Reciprocal, Erf.
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

Status infer_hard_sigmoid(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  PF_CHECK(std::isfinite(attrs.hard_sigmoid.alpha) && std::isfinite(attrs.hard_sigmoid.beta), Error::kInvalidModel,
           "HardSigmoid's alpha and beta must be finite, got alpha %g, beta %g",
           static_cast<double>(attrs.hard_sigmoid.alpha), static_cast<double>(attrs.hard_sigmoid.beta));
  return infer_same_f32(attrs, in, num_inputs, out);
}

Status infer_alpha(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  PF_CHECK(std::isfinite(attrs.alpha.alpha), Error::kInvalidModel, "alpha must be finite, got %g",
           static_cast<double>(attrs.alpha.alpha));
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

Status hard_swish_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  // x * relu6(x + 3) / 6, as torch.nn.Hardswish (ONNX writes x * max(0, min(1, x / 6 + 0.5)): the
  // same function). NaN propagates through the comparisons (neither bound applies).
  return map_f32(in[0], out, [](float xf) {
    const double x = xf;
    const double inner = x + 3.0 < 0.0 ? 0.0 : (x + 3.0 > 6.0 ? 6.0 : x + 3.0);
    return static_cast<float>(x * inner / 6.0);
  });
}

Status hard_sigmoid_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const double alpha = attrs.hard_sigmoid.alpha, beta = attrs.hard_sigmoid.beta;
  return map_f32(in[0], out, [alpha, beta](float x) {
    const double z = alpha * x + beta;
    return static_cast<float>(z < 0.0 ? 0.0 : (z > 1.0 ? 1.0 : z));  // NaN passes through
  });
}

Status leaky_relu_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const double alpha = attrs.alpha.alpha;
  return map_f32(in[0], out, [alpha](float x) { return x < 0.0f ? static_cast<float>(alpha * x) : x; });
}

Status elu_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const double alpha = attrs.alpha.alpha;
  return map_f32(in[0], out, [alpha](float x) { return x < 0.0f ? static_cast<float>(alpha * std::expm1(static_cast<double>(x))) : x; });
}

Status silu_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float xf) {
    const double x = xf, e = std::exp(-std::fabs(x));  // the stable sigmoid, as sigmoid_forward
    return static_cast<float>(x * (x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)));
  });
}

// The math functions in double, rounded once (x < 0: sqrt and log are NaN, log(0) is -inf, 1 / 0
// is inf, as IEEE and NumPy give them).
Status sqrt_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return static_cast<float>(std::sqrt(static_cast<double>(x))); });
}
Status exp_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return static_cast<float>(std::exp(static_cast<double>(x))); });
}
Status log_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return static_cast<float>(std::log(static_cast<double>(x))); });
}
Status neg_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return -x; });
}
Status abs_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return std::fabs(x); });
}
Status reciprocal_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return static_cast<float>(1.0 / static_cast<double>(x)); });
}
Status erf_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  return map_f32(in[0], out, [](float x) { return static_cast<float>(std::erf(static_cast<double>(x))); });
}

// dx += dy * f'(x), with f' written from the input x or the output y, whichever is cheaper.
template <typename Derivative>
Status map_backward(const TensorView& x, const TensorView& y, const TensorView& dy, TensorView* dx,
                    Derivative derivative) {
  float* grad = dx->f32();
  if (!grad) return Status::ok();
  const int64_t count = x.desc.num_elements();
  for (int64_t i = 0; i < count; ++i) grad[i] += dy.f32()[i] * derivative(x.f32()[i], y.f32()[i]);
  return Status::ok();
}

Status relu_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                     TensorView* dx) {
  return map_backward(in[0], out[0], dy[0], dx, [](float x, float) { return x > 0.0f ? 1.0f : 0.0f; });
}

Status clamp_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                      TensorView* dx) {
  // PyTorch's rule: the gradient passes where min <= x <= max.
  const float lo = attrs.clamp.min, hi = attrs.clamp.max;
  return map_backward(in[0], out[0], dy[0], dx, [lo, hi](float x, float) { return x >= lo && x <= hi ? 1.0f : 0.0f; });
}

Status sigmoid_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                        TensorView* dx) {
  // y = sigmoid(x): dy/dx = y (1 - y)
  return map_backward(in[0], out[0], dy[0], dx, [](float, float y) { return y * (1.0f - y); });
}

Status tanh_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                     TensorView* dx) {
  // y = tanh(x): dy/dx = 1 - y^2
  return map_backward(in[0], out[0], dy[0], dx, [](float, float y) { return 1.0f - y * y; });
}

Status gelu_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                     TensorView* dx) {
  if (attrs.gelu.tanh_approximation) {
    // y = 0.5 x (1 + t), t = tanh(u), u = c (x + 0.044715 x^3):
    // dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2)
    return map_backward(in[0], out[0], dy[0], dx, [](float xf, float) {
      const double x = xf, c = 0.7978845608028654;
      const double t = std::tanh(c * (x + 0.044715 * x * x * x));
      return static_cast<float>(0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x));
    });
  }
  // y = x Phi(x): dy/dx = Phi(x) + x phi(x)
  return map_backward(in[0], out[0], dy[0], dx, [](float xf, float) {
    const double x = xf;
    const double cdf = 0.5 * (1.0 + std::erf(x * 0.7071067811865476));
    const double pdf = 0.3989422804014327 * std::exp(-0.5 * x * x);
    return static_cast<float>(cdf + x * pdf);
  });
}

Status hard_swish_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                           TensorView* dx) {
  // PyTorch's hardswish_backward: 0 below -3, x / 3 + 1/2 up to 3 (both ends included), 1 above.
  return map_backward(in[0], out[0], dy[0], dx, [](float xf, float) {
    const double x = xf;
    return static_cast<float>(x < -3.0 ? 0.0 : (x <= 3.0 ? x / 3.0 + 0.5 : 1.0));
  });
}

Status hard_sigmoid_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out,
                             const TensorView* dy, TensorView* dx) {
  // alpha where 0 < alpha x + beta < 1 (both ends excluded, as PyTorch's hardsigmoid_backward).
  const double alpha = attrs.hard_sigmoid.alpha, beta = attrs.hard_sigmoid.beta;
  return map_backward(in[0], out[0], dy[0], dx, [alpha, beta](float x, float) {
    const double z = alpha * x + beta;
    return static_cast<float>(z > 0.0 && z < 1.0 ? alpha : 0.0);
  });
}

Status leaky_relu_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                           TensorView* dx) {
  const float alpha = attrs.alpha.alpha;  // torch's rule: x > 0 passes, else alpha (0 included)
  return map_backward(in[0], out[0], dy[0], dx, [alpha](float x, float) { return x > 0.0f ? 1.0f : alpha; });
}

Status elu_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                    TensorView* dx) {
  // x > 0: 1; else y + alpha (= alpha exp(x)), as torch's elu_backward.
  const float alpha = attrs.alpha.alpha;
  return map_backward(in[0], out[0], dy[0], dx, [alpha](float x, float y) { return x > 0.0f ? 1.0f : y + alpha; });
}

Status silu_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  // s (1 + x (1 - s)), s = sigmoid(x)
  return map_backward(in[0], out[0], dy[0], dx, [](float xf, float) {
    const double x = xf, e = std::exp(-std::fabs(x)), s = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    return static_cast<float>(s * (1.0 + x * (1.0 - s)));
  });
}

Status sqrt_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return map_backward(in[0], out[0], dy[0], dx, [](float, float y) { return static_cast<float>(0.5 / static_cast<double>(y)); });
}
Status exp_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return map_backward(in[0], out[0], dy[0], dx, [](float, float y) { return y; });
}
Status log_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return map_backward(in[0], out[0], dy[0], dx, [](float x, float) { return static_cast<float>(1.0 / static_cast<double>(x)); });
}
Status neg_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  return map_backward(in[0], out[0], dy[0], dx, [](float, float) { return -1.0f; });
}
Status abs_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  // sign(x), 0 at 0 (torch's rule)
  return map_backward(in[0], out[0], dy[0], dx, [](float x, float) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); });
}
Status reciprocal_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                           TensorView* dx) {
  return map_backward(in[0], out[0], dy[0], dx, [](float, float y) { return -y * y; });
}
Status erf_backward(const OpAttrs&, const TensorView* in, int, const TensorView* out, const TensorView* dy, TensorView* dx) {
  // 2 / sqrt(pi) exp(-x^2)
  return map_backward(in[0], out[0], dy[0], dx, [](float xf, float) {
    const double x = xf;
    return static_cast<float>(1.1283791670955126 * std::exp(-x * x));
  });
}

// The ops without attributes that infer_same_f32 describes.
template <OpType kOp>
constexpr OpDef plain_def(ForwardFn forward, BackwardFn backward) {
  OpDef d(kOp);
  d.infer = infer_same_f32;
  d.forward = forward;
  d.backward = backward;
  return d;
}

template <OpType kOp>
constexpr OpDef alpha_def(ForwardFn forward, BackwardFn backward) {
  OpDef d(kOp);
  d.attrs_kind = fb::Attrs::AlphaAttrs;
  d.attrs_required = true;
  d.infer = infer_alpha;
  d.forward = forward;
  d.backward = backward;
  return d;
}

}  // namespace

template <>
const OpDef& op_def<OpType::Relu>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Relu);
    d.infer = infer_same_f32;
    d.forward = relu_forward;
    d.backward = PF_BACKWARD(relu_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::Clamp>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Clamp);
    d.attrs_kind = fb::Attrs::ClampAttrs;
    d.attrs_required = true;
    d.infer = infer_clamp;
    d.forward = clamp_forward;
    d.backward = PF_BACKWARD(clamp_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::Sigmoid>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Sigmoid);
    d.infer = infer_same_f32;
    d.forward = sigmoid_forward;
    d.backward = PF_BACKWARD(sigmoid_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::Tanh>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Tanh);
    d.infer = infer_same_f32;
    d.forward = tanh_forward;
    d.backward = PF_BACKWARD(tanh_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::Gelu>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Gelu);
    d.attrs_kind = fb::Attrs::GeluAttrs;
    d.infer = infer_same_f32;
    d.forward = gelu_forward;
    d.backward = PF_BACKWARD(gelu_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::HardSwish>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::HardSwish);
    d.infer = infer_same_f32;
    d.forward = hard_swish_forward;
    d.backward = PF_BACKWARD(hard_swish_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::HardSigmoid>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::HardSigmoid);
    d.attrs_kind = fb::Attrs::HardSigmoidAttrs;
    d.infer = infer_hard_sigmoid;
    d.forward = hard_sigmoid_forward;
    d.backward = PF_BACKWARD(hard_sigmoid_backward);
    return d;
  }();
  return def;
}

#define PF_PLAIN_OP(Name, forward, backward)                                              \
  template <>                                                                             \
  const OpDef& op_def<OpType::Name>() {                                                   \
    static constexpr OpDef def = plain_def<OpType::Name>(forward, PF_BACKWARD(backward)); \
    return def;                                                                           \
  }
PF_PLAIN_OP(Sqrt, sqrt_forward, sqrt_backward)
PF_PLAIN_OP(Exp, exp_forward, exp_backward)
PF_PLAIN_OP(Log, log_forward, log_backward)
PF_PLAIN_OP(Neg, neg_forward, neg_backward)
PF_PLAIN_OP(Abs, abs_forward, abs_backward)
PF_PLAIN_OP(Reciprocal, reciprocal_forward, reciprocal_backward)
PF_PLAIN_OP(Erf, erf_forward, erf_backward)
PF_PLAIN_OP(Silu, silu_forward, silu_backward)
#undef PF_PLAIN_OP

template <>
const OpDef& op_def<OpType::LeakyRelu>() {
  static constexpr OpDef def = alpha_def<OpType::LeakyRelu>(leaky_relu_forward, PF_BACKWARD(leaky_relu_backward));
  return def;
}

template <>
const OpDef& op_def<OpType::Elu>() {
  static constexpr OpDef def = alpha_def<OpType::Elu>(elu_forward, PF_BACKWARD(elu_backward));
  return def;
}

}  // namespace preflight
