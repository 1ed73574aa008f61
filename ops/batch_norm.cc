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

}  // namespace

const OpDef& batch_norm_op() {
  static const OpDef def = {OpType::BatchNorm, "BatchNorm", 5, 5, 1, fb::Attrs::NormAttrs, false,
                            infer_batch_norm, batch_norm_forward};
  return def;
}

}  // namespace preflight
