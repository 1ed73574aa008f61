// BatchNorm, inference form: normalise with the running statistics.
//
//   x: [..., C, ...] (C at `axis`, -1 by default: NHWC channels)
//   scale, bias, mean, var: [C]   ->   y = (x - mean) / sqrt(var + epsilon) * scale + bias
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

enum { kInput = 0, kScale = 1, kBias = 2, kMean = 3, kVar = 4 };

Status infer_batch_norm(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[kInput], DType::F32, kInput);
  int axis = 0;
  PF_CHECK(normalize_axis(attrs.norm.axis, in[kInput].rank, &axis), Error::kInvalidModel,
           "axis %d is out of range for rank %d", attrs.norm.axis, in[kInput].rank);
  PF_CHECK(attrs.norm.epsilon >= 0.0f, Error::kInvalidModel, "epsilon must be >= 0, got %g",
           static_cast<double>(attrs.norm.epsilon));
  const int64_t channels = in[kInput].dims[axis];
  for (int i = kScale; i <= kVar; ++i) {
    PF_CHECK_DTYPE(in[i], DType::F32, i);
    PF_CHECK(in[i].rank == 1 && in[i].dims[0] == channels, Error::kInvalidModel,
             "input %d: must be [%lld] (the channels at axis %d)", i, static_cast<long long>(channels), axis);
  }
  out[0] = in[kInput];
  return Status::ok();
}

Status batch_norm_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const TensorDesc& x = in[kInput].desc;
  int axis = 0;
  normalize_axis(attrs.norm.axis, x.rank, &axis);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dims[d];
  for (int d = axis + 1; d < x.rank; ++d) inner *= x.dims[d];
  const int64_t channels = x.dims[axis];
  const float *scale = in[kScale].f32(), *bias = in[kBias].f32();
  const float *mean = in[kMean].f32(), *var = in[kVar].f32();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const double inv_std = 1.0 / std::sqrt(static_cast<double>(var[c]) + attrs.norm.epsilon);
      const float* src = in[kInput].f32() + (o * channels + c) * inner;
      float* dst = out[0].f32() + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        dst[i] = static_cast<float>((src[i] - static_cast<double>(mean[c])) * inv_std * scale[c] + bias[c]);
      }
    }
  }
  return Status::ok();
}

// y = (x - mean) * r * scale + bias with r = (var + epsilon)^(-1/2), per channel c:
//   dx += dy * scale * r                    dscale += sum dy * (x - mean) * r     dbias += sum dy
//   dmean += -sum dy * scale * r            dvar += sum dy * scale * (x - mean) * (-1/2) r^3
Status batch_norm_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView*,
                           const TensorView* out_grad, TensorView* in_grad) {
  const TensorDesc& x = in[kInput].desc;
  int axis = 0;
  normalize_axis(attrs.norm.axis, x.rank, &axis);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.dims[d];
  for (int d = axis + 1; d < x.rank; ++d) inner *= x.dims[d];
  const int64_t channels = x.dims[axis];
  const float *scale = in[kScale].f32(), *mean = in[kMean].f32(), *var = in[kVar].f32();
  for (int64_t c = 0; c < channels; ++c) {
    const double r = 1.0 / std::sqrt(static_cast<double>(var[c]) + attrs.norm.epsilon);
    double sum_dy = 0.0, sum_dy_centered = 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const double dy = out_grad[0].f32()[base + i];
        sum_dy += dy;
        sum_dy_centered += dy * (in[kInput].f32()[base + i] - static_cast<double>(mean[c]));
        if (in_grad[kInput].data) in_grad[kInput].f32()[base + i] += static_cast<float>(dy * scale[c] * r);
      }
    }
    if (in_grad[kScale].data) in_grad[kScale].f32()[c] += static_cast<float>(sum_dy_centered * r);
    if (in_grad[kBias].data) in_grad[kBias].f32()[c] += static_cast<float>(sum_dy);
    if (in_grad[kMean].data) in_grad[kMean].f32()[c] += static_cast<float>(-sum_dy * scale[c] * r);
    if (in_grad[kVar].data) in_grad[kVar].f32()[c] += static_cast<float>(sum_dy_centered * scale[c] * -0.5 * r * r * r);
  }
  return Status::ok();
}

}  // namespace

const OpDef& batch_norm_op() {
  static const OpDef def = {OpType::BatchNorm, "BatchNorm", 5, 5, 1, fb::Attrs::NormAttrs, false,
                            infer_batch_norm, batch_norm_forward, batch_norm_backward, 0};
  return def;
}

}  // namespace preflight
