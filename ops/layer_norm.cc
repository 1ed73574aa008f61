// LayerNorm over the trailing dims from `axis` on (PyTorch's normalized_shape = x.shape[axis:]).
//
//   x: [d0, ..., dr-1]   gamma, beta (optional): x.shape[axis:]
//   -> y = (x - mean) / sqrt(var + epsilon) * gamma + beta, mean and biased var over x.shape[axis:]
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

enum { kInput = 0, kGamma = 1, kBeta = 2 };

Status infer_layer_norm(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  const TensorDesc& x = in[kInput];
  PF_CHECK_DTYPE(x, DType::F32, kInput);
  int axis = 0;
  PF_CHECK(normalize_axis(attrs.norm.axis, x.rank, &axis), Error::kInvalidModel,
           "axis %d is out of range for rank %d", attrs.norm.axis, x.rank);
  PF_CHECK(attrs.norm.epsilon >= 0.0f, Error::kInvalidModel, "epsilon must be >= 0, got %g",
           static_cast<double>(attrs.norm.epsilon));
  for (int i = kGamma; i < num_inputs; ++i) {
    PF_CHECK_DTYPE(in[i], DType::F32, i);
    bool matches = in[i].rank == x.rank - axis;
    for (int d = 0; matches && d < in[i].rank; ++d) matches = in[i].dims[d] == x.dims[axis + d];
    PF_CHECK(matches, Error::kInvalidModel, "input %d: must have the normalized shape x.shape[%d:]", i, axis);
  }
  out[0] = x;
  return Status::ok();
}

Status layer_norm_forward(const OpAttrs& attrs, const TensorView* in, int num_inputs, TensorView* out) {
  const TensorDesc& x = in[kInput].desc;
  const AxisSplit split = split_at_axis(x, attrs.norm.axis);
  const int64_t outer = split.outer, inner = split.extent * split.inner;
  const float* gamma = num_inputs > kGamma ? in[kGamma].f32() : nullptr;
  const float* beta = num_inputs > kBeta ? in[kBeta].f32() : nullptr;
  for (int64_t o = 0; o < outer; ++o) {
    const float* src = in[kInput].f32() + o * inner;
    float* dst = out[0].f32() + o * inner;
    double mean = 0.0;
    for (int64_t i = 0; i < inner; ++i) mean += src[i];
    mean /= static_cast<double>(inner > 0 ? inner : 1);
    double var = 0.0;
    for (int64_t i = 0; i < inner; ++i) var += (src[i] - mean) * (src[i] - mean);
    var /= static_cast<double>(inner > 0 ? inner : 1);
    const double inv_std = 1.0 / std::sqrt(var + attrs.norm.epsilon);
    for (int64_t i = 0; i < inner; ++i) {
      double value = (src[i] - mean) * inv_std;
      if (gamma) value *= gamma[i];
      if (beta) value += beta[i];
      dst[i] = static_cast<float>(value);
    }
  }
  return Status::ok();
}

// Per row: xhat = (x - mean) r, y = xhat gamma + beta, g = dy gamma (dy without gamma):
//   dx += r (g - mean(g) - xhat mean(g xhat))    dgamma += sum_rows dy xhat    dbeta += sum_rows dy
Status layer_norm_backward(const OpAttrs& attrs, const TensorView* in, int num_inputs, const TensorView*,
                           const TensorView* out_grad, TensorView* in_grad) {
  const TensorDesc& x = in[kInput].desc;
  const AxisSplit split = split_at_axis(x, attrs.norm.axis);
  const int64_t outer = split.outer, inner = split.extent * split.inner;
  if (inner == 0) return Status::ok();
  const float* gamma = num_inputs > kGamma ? in[kGamma].f32() : nullptr;
  float* dx = in_grad[kInput].f32();
  float* dgamma = num_inputs > kGamma ? in_grad[kGamma].f32() : nullptr;
  float* dbeta = num_inputs > kBeta ? in_grad[kBeta].f32() : nullptr;
  for (int64_t o = 0; o < outer; ++o) {
    const float* src = in[kInput].f32() + o * inner;
    const float* dy = out_grad[0].f32() + o * inner;
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < inner; ++i) mean += src[i];
    mean /= static_cast<double>(inner);
    for (int64_t i = 0; i < inner; ++i) var += (src[i] - mean) * (src[i] - mean);
    var /= static_cast<double>(inner);
    const double r = 1.0 / std::sqrt(var + attrs.norm.epsilon);
    double mean_g = 0.0, mean_g_xhat = 0.0;
    for (int64_t i = 0; i < inner; ++i) {
      const double xhat = (src[i] - mean) * r;
      const double g = gamma ? static_cast<double>(dy[i]) * gamma[i] : dy[i];
      mean_g += g;
      mean_g_xhat += g * xhat;
      if (dgamma) dgamma[i] += static_cast<float>(dy[i] * xhat);
      if (dbeta) dbeta[i] += dy[i];
    }
    mean_g /= static_cast<double>(inner);
    mean_g_xhat /= static_cast<double>(inner);
    for (int64_t i = 0; dx && i < inner; ++i) {
      const double xhat = (src[i] - mean) * r;
      const double g = gamma ? static_cast<double>(dy[i]) * gamma[i] : dy[i];
      dx[o * inner + i] += static_cast<float>(r * (g - mean_g - xhat * mean_g_xhat));
    }
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::LayerNorm>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::LayerNorm);
    d.min_inputs = 1;
    d.max_inputs = 3;
    d.attrs_kind = fb::Attrs::NormAttrs;
    d.infer = infer_layer_norm;
    d.forward = layer_norm_forward;
    d.backward = PF_BACKWARD(layer_norm_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
