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
  const AxisSplit split = split_at_axis(x, attrs.norm.axis);
  const int64_t outer = split.outer, inner = split.inner, channels = split.extent;
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
  const AxisSplit split = split_at_axis(x, attrs.norm.axis);
  const int64_t outer = split.outer, inner = split.inner, channels = split.extent;
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

template <>
const OpDef& op_def<OpType::BatchNorm>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::BatchNorm);
    d.min_inputs = 5;
    d.max_inputs = 5;
    d.attrs_kind = fb::Attrs::NormAttrs;
    d.infer = infer_batch_norm;
    d.forward = batch_norm_forward;
    d.backward = PF_BACKWARD(batch_norm_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight

// ---- training mode ----
//
// BatchNormTrain: x [..., C, ...], scale [C], bias [C] -> y, batch mean [C], unbiased batch var [C]
//   y = (x - mean) / sqrt(var_biased + epsilon) * scale + bias, statistics over every axis but C.
// RunningStatsUpdate: running mean, running var (updated) | batch mean, batch var
//   running = (1 - momentum) running + momentum batch, as PyTorch (unbiased variance).
namespace preflight {
namespace {

enum { kTrainInput = 0, kTrainScale = 1, kTrainBias = 2 };

// Mean and biased variance of channel c: the values x[(o * channels + c) * inner + i].
void channel_statistics(const AxisSplit& l, const float* x, int64_t c, double* mean, double* var) {
  double sum = 0.0;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t i = 0; i < l.inner; ++i) sum += x[(o * l.extent + c) * l.inner + i];
  }
  *mean = sum / static_cast<double>((l.outer * l.inner));
  double squares = 0.0;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t i = 0; i < l.inner; ++i) {
      const double d = x[(o * l.extent + c) * l.inner + i] - *mean;
      squares += d * d;
    }
  }
  *var = squares / static_cast<double>((l.outer * l.inner));
}

Status infer_batch_norm_train(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[kTrainInput], DType::F32, kTrainInput);
  int axis = 0;
  PF_CHECK(normalize_axis(attrs.norm.axis, in[kTrainInput].rank, &axis), Error::kInvalidModel,
           "axis %d is out of range for rank %d", attrs.norm.axis, in[kTrainInput].rank);
  PF_CHECK(attrs.norm.epsilon >= 0.0f, Error::kInvalidModel, "epsilon must be >= 0, got %g",
           static_cast<double>(attrs.norm.epsilon));
  const int64_t channels = in[kTrainInput].dims[axis];
  for (int i = kTrainScale; i <= kTrainBias; ++i) {
    PF_CHECK_DTYPE(in[i], DType::F32, i);
    PF_CHECK(in[i].rank == 1 && in[i].dims[0] == channels, Error::kInvalidModel,
             "input %d: must be [%lld] (the channels at axis %d)", i, static_cast<long long>(channels), axis);
  }
  const int64_t per_channel = channels ? in[kTrainInput].num_elements() / channels : 0;
  PF_CHECK(per_channel >= 2, Error::kInvalidModel,
           "batch norm in training needs more than one value per channel, got %lld", static_cast<long long>(per_channel));
  out[0] = in[kTrainInput];
  out[1] = make_desc(DType::F32, {channels});
  out[2] = out[1];
  return Status::ok();
}

Status batch_norm_train_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const AxisSplit l = split_at_axis(in[kTrainInput].desc, attrs.norm.axis);
  const float* x = in[kTrainInput].f32();
  for (int64_t c = 0; c < l.extent; ++c) {
    double mean = 0.0, var = 0.0;
    channel_statistics(l, x, c, &mean, &var);
    const double r = 1.0 / std::sqrt(var + attrs.norm.epsilon);
    const double scale = in[kTrainScale].f32()[c], bias = in[kTrainBias].f32()[c];
    for (int64_t o = 0; o < l.outer; ++o) {
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t at = (o * l.extent + c) * l.inner + i;
        out[0].f32()[at] = static_cast<float>((x[at] - mean) * r * scale + bias);
      }
    }
    out[1].f32()[c] = static_cast<float>(mean);
    out[2].f32()[c] = static_cast<float>(var * static_cast<double>((l.outer * l.inner)) / static_cast<double>((l.outer * l.inner) - 1));
  }
  return Status::ok();
}

// With xhat = (x - mean) r, r = (var + eps)^(-1/2), n values per channel, g = dy scale:
//   dx = r (g - mean(g) - xhat mean(g xhat))      (through y)
//      + dmean / n + dvar_unbiased 2 (x - mean) / (n - 1)   (through the statistics outputs)
//   dscale = sum dy xhat    dbias = sum dy
Status batch_norm_train_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView*,
                                 const TensorView* out_grad, TensorView* in_grad) {
  const AxisSplit l = split_at_axis(in[kTrainInput].desc, attrs.norm.axis);
  const float* x = in[kTrainInput].f32();
  const double n = static_cast<double>((l.outer * l.inner));
  for (int64_t c = 0; c < l.extent; ++c) {
    double mean = 0.0, var = 0.0;
    channel_statistics(l, x, c, &mean, &var);
    const double r = 1.0 / std::sqrt(var + attrs.norm.epsilon);
    const double scale = in[kTrainScale].f32()[c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t o = 0; o < l.outer; ++o) {
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t at = (o * l.extent + c) * l.inner + i;
        sum_dy += out_grad[0].f32()[at];
        sum_dy_xhat += out_grad[0].f32()[at] * (x[at] - mean) * r;
      }
    }
    if (in_grad[kTrainScale].data) in_grad[kTrainScale].f32()[c] += static_cast<float>(sum_dy_xhat);
    if (in_grad[kTrainBias].data) in_grad[kTrainBias].f32()[c] += static_cast<float>(sum_dy);
    if (!in_grad[kTrainInput].data) continue;
    const double mean_g = sum_dy * scale / n, mean_g_xhat = sum_dy_xhat * scale / n;
    const double dmean = out_grad[1].f32()[c], dvar = out_grad[2].f32()[c];
    for (int64_t o = 0; o < l.outer; ++o) {
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t at = (o * l.extent + c) * l.inner + i;
        const double xhat = (x[at] - mean) * r;
        const double through_y = r * (out_grad[0].f32()[at] * scale - mean_g - xhat * mean_g_xhat);
        const double through_stats = dmean / n + dvar * 2.0 * (x[at] - mean) / (n - 1.0);
        in_grad[kTrainInput].f32()[at] += static_cast<float>(through_y + through_stats);
      }
    }
  }
  return Status::ok();
}

enum { kRunningMean = 0, kRunningVar = 1, kBatchMean = 2, kBatchVar = 3 };

Status infer_running_stats(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc*) {
  PF_CHECK(attrs.running_stats.momentum >= 0.0f && attrs.running_stats.momentum <= 1.0f, Error::kInvalidModel,
           "momentum must be in [0, 1], got %g", static_cast<double>(attrs.running_stats.momentum));
  for (int i = 0; i < 4; ++i) {
    char a[96], b[96];
    PF_CHECK(in[i].dtype == DType::F32 && in[i].rank == 1 && in[i] == in[0], Error::kInvalidModel,
             "input %d: %s must be f32 and match input 0 %s", i, describe(in[i], a, sizeof a), describe(in[0], b, sizeof b));
  }
  return Status::ok();
}

Status running_stats_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView*) {
  const float m = attrs.running_stats.momentum;
  const int64_t count = in[kRunningMean].desc.num_elements();
  for (int64_t c = 0; c < count; ++c) {
    in[kRunningMean].f32()[c] = (1.0f - m) * in[kRunningMean].f32()[c] + m * in[kBatchMean].f32()[c];
    in[kRunningVar].f32()[c] = (1.0f - m) * in[kRunningVar].f32()[c] + m * in[kBatchVar].f32()[c];
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::BatchNormTrain>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::BatchNormTrain);
    d.min_inputs = 3;
    d.max_inputs = 3;
    d.num_outputs = 3;
    d.attrs_kind = fb::Attrs::NormAttrs;
    d.infer = infer_batch_norm_train;
    d.forward = batch_norm_train_forward;
    d.backward = PF_BACKWARD(batch_norm_train_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::RunningStatsUpdate>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::RunningStatsUpdate);
    d.min_inputs = 4;
    d.max_inputs = 4;
    d.num_outputs = 0;
    d.attrs_kind = fb::Attrs::RunningStatsAttrs;
    d.infer = infer_running_stats;
    d.forward = running_stats_forward;
    d.num_updated_inputs = 2;
    return d;
  }();
  return def;
}

}  // namespace preflight
