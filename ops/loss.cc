// Losses: SoftmaxCrossEntropy (integer class labels) and MseLoss.
//
//   SoftmaxCrossEntropy: logits [N, C] f32, labels [N] i64 or i32 in [0, C)
//                        -> loss: [] (mean or sum over N) or [N] (reduction None)
//                        loss_n = logsumexp(logits_n) - logits_n[label_n]
//   MseLoss:             prediction, target: same shape f32
//                        -> loss: [] (mean or sum of squared differences) or the same shape (None)
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

Status check_reduction(fb::Reduction reduction) {
  PF_CHECK(reduction == fb::Reduction::Mean || reduction == fb::Reduction::Sum ||
               reduction == fb::Reduction::None,
           Error::kInvalidModel, "unknown reduction %d", static_cast<int>(reduction));
  return Status::ok();
}

Status infer_cross_entropy(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_RETURN_IF_ERROR(check_reduction(attrs.loss.reduction));
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  PF_CHECK_RANK(in[0], 2, 0);
  PF_CHECK(in[1].dtype == DType::I64 || in[1].dtype == DType::I32, Error::kInvalidModel,
           "input 1: labels must be i64 or i32, got %s", dtype_name(in[1].dtype));
  PF_CHECK(in[1].rank == 1 && in[1].dims[0] == in[0].dims[0], Error::kInvalidModel,
           "input 1: labels must be [%lld], one per row of the logits", static_cast<long long>(in[0].dims[0]));
  PF_CHECK(in[0].dims[1] >= 1, Error::kInvalidModel, "input 0: logits need at least one class");
  out[0] = attrs.loss.reduction == fb::Reduction::None ? make_desc(DType::F32, {in[0].dims[0]})
                                                       : make_desc(DType::F32, {});
  return Status::ok();
}

Status cross_entropy_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const int64_t rows = in[0].desc.dims[0], classes = in[0].desc.dims[1];
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = in[1].desc.dtype == DType::I64 ? in[1].as<int64_t>()[r] : in[1].as<int32_t>()[r];
    PF_CHECK(label >= 0 && label < classes, Error::kInvalidArgument,
             "label %lld in row %lld is outside [0, %lld)", static_cast<long long>(label),
             static_cast<long long>(r), static_cast<long long>(classes));
    const float* logits = in[0].f32() + r * classes;
    const double max_value = max_along(logits, classes, 1);
    double sum = 0.0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(logits[c] - max_value);
    const double loss = std::log(sum) + max_value - logits[label];
    if (attrs.loss.reduction == fb::Reduction::None) out[0].f32()[r] = static_cast<float>(loss);
    total += loss;
  }
  if (attrs.loss.reduction == fb::Reduction::Mean) out[0].f32()[0] = static_cast<float>(rows ? total / rows : 0.0);
  if (attrs.loss.reduction == fb::Reduction::Sum) out[0].f32()[0] = static_cast<float>(total);
  return Status::ok();
}

// loss_n = logsumexp(logits_n) - logits_n[label_n]: dlogits[n, c] += g_n (softmax(logits_n)[c] - [c == label_n]),
// with g_n = dloss / N (Mean), dloss (Sum) or dloss[n] (None). Labels get no gradient.
Status cross_entropy_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView*,
                              const TensorView* out_grad, TensorView* in_grad) {
  float* dlogits = in_grad[0].f32();
  if (!dlogits) return Status::ok();
  const int64_t rows = in[0].desc.dims[0], classes = in[0].desc.dims[1];
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = in[1].desc.dtype == DType::I64 ? in[1].as<int64_t>()[r] : in[1].as<int32_t>()[r];
    PF_CHECK(label >= 0 && label < classes, Error::kInvalidArgument, "label %lld in row %lld is outside [0, %lld)",
             static_cast<long long>(label), static_cast<long long>(r), static_cast<long long>(classes));
    const double g = attrs.loss.reduction == fb::Reduction::None ? out_grad[0].f32()[r]
                     : attrs.loss.reduction == fb::Reduction::Sum ? out_grad[0].f32()[0]
                                                                  : out_grad[0].f32()[0] / static_cast<double>(rows);
    const float* logits = in[0].f32() + r * classes;
    const double max_value = max_along(logits, classes, 1);
    // Up to kKept classes, each exponential is computed once and kept for the second pass (the
    // same values, so the same result as computing it twice).
    constexpr int64_t kKept = 64;
    double kept[kKept];
    double sum = 0.0;
    for (int64_t c = 0; c < classes; ++c) {
      const double e = std::exp(logits[c] - max_value);
      if (c < kKept) kept[c] = e;
      sum += e;
    }
    for (int64_t c = 0; c < classes; ++c) {
      const double probability = (c < kKept ? kept[c] : std::exp(logits[c] - max_value)) / sum;
      dlogits[r * classes + c] += static_cast<float>(g * (probability - (c == label ? 1.0 : 0.0)));
    }
  }
  return Status::ok();
}

Status infer_mse(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_RETURN_IF_ERROR(check_reduction(attrs.loss.reduction));
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  PF_CHECK_DTYPE(in[1], DType::F32, 1);
  char sp[96], st[96];
  PF_CHECK(in[0].same_shape(in[1]), Error::kInvalidModel, "prediction %s and target %s differ in shape",
           describe(in[0], sp, sizeof sp), describe(in[1], st, sizeof st));
  out[0] = attrs.loss.reduction == fb::Reduction::None ? in[0] : make_desc(DType::F32, {});
  return Status::ok();
}

Status mse_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const int64_t count = in[0].desc.num_elements();
  double total = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double diff = static_cast<double>(in[0].f32()[i]) - in[1].f32()[i];
    if (attrs.loss.reduction == fb::Reduction::None) out[0].f32()[i] = static_cast<float>(diff * diff);
    total += diff * diff;
  }
  if (attrs.loss.reduction == fb::Reduction::Mean) out[0].f32()[0] = static_cast<float>(count ? total / count : 0.0);
  if (attrs.loss.reduction == fb::Reduction::Sum) out[0].f32()[0] = static_cast<float>(total);
  return Status::ok();
}

// loss = reduce((p - t)^2): dp += g 2 (p - t), dt -= g 2 (p - t), g = dloss / count (Mean),
// dloss (Sum) or dloss[i] (None).
Status mse_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView*, const TensorView* out_grad,
                    TensorView* in_grad) {
  const int64_t count = in[0].desc.num_elements();
  float* dp = in_grad[0].f32();
  float* dt = in_grad[1].f32();
  for (int64_t i = 0; i < count; ++i) {
    const double g = attrs.loss.reduction == fb::Reduction::None ? out_grad[0].f32()[i]
                     : attrs.loss.reduction == fb::Reduction::Sum ? out_grad[0].f32()[0]
                                                                  : out_grad[0].f32()[0] / static_cast<double>(count);
    const double d = 2.0 * g * (static_cast<double>(in[0].f32()[i]) - in[1].f32()[i]);
    if (dp) dp[i] += static_cast<float>(d);
    if (dt) dt[i] -= static_cast<float>(d);
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::SoftmaxCrossEntropy>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::SoftmaxCrossEntropy);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.attrs_kind = fb::Attrs::LossAttrs;
    d.infer = infer_cross_entropy;
    d.forward = cross_entropy_forward;
    d.backward = PF_BACKWARD(cross_entropy_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::MseLoss>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::MseLoss);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.attrs_kind = fb::Attrs::LossAttrs;
    d.infer = infer_mse;
    d.forward = mse_forward;
    d.backward = PF_BACKWARD(mse_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
