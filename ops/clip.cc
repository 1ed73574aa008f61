// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_:
//
//   SquaredNorm: g_1, ..., g_k (any shapes, f32) -> s = sum_i sum g_i^2            []
//   ClipScale:   max_norm [], s_1, ..., s_m [] -> min(1, max_norm / (sqrt(sum s_j) + 1e-6))   []
// A model with more gradients than one node takes uses several SquaredNorm nodes. The updates
// multiply each gradient by the scale (their optional grad_scale input).
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

constexpr double kClipEpsilon = 1e-6;  // PyTorch's

Status infer_squared_norm(const OpAttrs&, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  for (int i = 0; i < num_inputs; ++i) PF_CHECK_DTYPE(in[i], DType::F32, i);
  out[0] = make_desc(DType::F32, {});
  return Status::ok();
}

Status squared_norm_forward(const OpAttrs&, const TensorView* in, int num_inputs, TensorView* out) {
  double sum = 0.0;
  for (int i = 0; i < num_inputs; ++i) {
    const int64_t count = in[i].desc.num_elements();
    for (int64_t j = 0; j < count; ++j) sum += static_cast<double>(in[i].f32()[j]) * in[i].f32()[j];
  }
  out[0].f32()[0] = static_cast<float>(sum);
  return Status::ok();
}

// ds/dg = 2 g
Status squared_norm_backward(const OpAttrs&, const TensorView* in, int num_inputs, const TensorView*,
                             const TensorView* out_grad, TensorView* in_grad) {
  const float g = out_grad[0].f32()[0];
  for (int i = 0; i < num_inputs; ++i) {
    if (!in_grad[i].data) continue;
    const int64_t count = in[i].desc.num_elements();
    for (int64_t j = 0; j < count; ++j) in_grad[i].f32()[j] += 2.0f * g * in[i].f32()[j];
  }
  return Status::ok();
}

Status infer_clip_scale(const OpAttrs&, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  for (int i = 0; i < num_inputs; ++i) {
    PF_CHECK(in[i].dtype == DType::F32 && in[i].rank == 0, Error::kInvalidModel, "input %d: must be an f32 scalar", i);
  }
  out[0] = make_desc(DType::F32, {});
  return Status::ok();
}

double total_norm(const TensorView* in, int num_inputs) {
  double sum = 0.0;
  for (int i = 1; i < num_inputs; ++i) sum += in[i].f32()[0];
  return std::sqrt(sum);
}

Status clip_scale_forward(const OpAttrs&, const TensorView* in, int num_inputs, TensorView* out) {
  const double coefficient = in[0].f32()[0] / (total_norm(in, num_inputs) + kClipEpsilon);
  out[0].f32()[0] = static_cast<float>(coefficient < 1.0 ? coefficient : 1.0);
  return Status::ok();
}

// Where clipping acts (coefficient < 1): d/dmax_norm = 1 / (n + e), d/ds_j = -max_norm / (n + e)^2 / (2 n).
Status clip_scale_backward(const OpAttrs&, const TensorView* in, int num_inputs, const TensorView*,
                           const TensorView* out_grad, TensorView* in_grad) {
  const double norm = total_norm(in, num_inputs), denominator = norm + kClipEpsilon;
  if (in[0].f32()[0] / denominator >= 1.0) return Status::ok();  // not clipping: the scale is the constant 1
  const double g = out_grad[0].f32()[0];
  if (in_grad[0].data) in_grad[0].f32()[0] += static_cast<float>(g / denominator);
  const double d_sum = norm > 0 ? -in[0].f32()[0] / (denominator * denominator) / (2.0 * norm) : 0.0;
  for (int i = 1; i < num_inputs; ++i) {
    if (in_grad[i].data) in_grad[i].f32()[0] += static_cast<float>(g * d_sum);
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::SquaredNorm>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::SquaredNorm);
    d.min_inputs = 1;
    d.max_inputs = kMaxNodeInputs;
    d.infer = infer_squared_norm;
    d.forward = squared_norm_forward;
    d.backward = PF_BACKWARD(squared_norm_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::ClipScale>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::ClipScale);
    d.min_inputs = 2;
    d.max_inputs = kMaxNodeInputs;
    d.infer = infer_clip_scale;
    d.forward = clip_scale_forward;
    d.backward = PF_BACKWARD(clip_scale_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
