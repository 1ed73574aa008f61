// Optimizer updates: SgdUpdate and AdamUpdate write the parameter and its state in place.
// Hyper-parameters are scalar inputs (shape []), so a schedule or a check changes them per step
// without re-export. The arithmetic follows PyTorch's torch.optim step by step, in float32, so
// training matches PyTorch's to rounding.
//
//   SgdUpdate:  param, velocity (updated) | grad, lr, momentum, weight_decay, [grad_scale]
//     g = grad * grad_scale + weight_decay * param;  velocity = momentum * velocity + g
//     param -= lr * (nesterov ? g + momentum * velocity : velocity)
//   AdamUpdate: param, m, v (updated) | grad, lr, beta1, beta2, eps, weight_decay, step, [grad_scale]
//     Adam:  g += weight_decay * param          AdamW: param *= 1 - lr * weight_decay
//     m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//     param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

Status check_updated(const TensorDesc* in, int count) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  for (int i = 1; i < count; ++i) {
    char a[96], b[96];
    PF_CHECK(in[i] == in[0], Error::kInvalidModel, "input %d: %s must match the parameter %s", i,
             describe(in[i], a, sizeof a), describe(in[0], b, sizeof b));
  }
  return Status::ok();
}

Status check_scalars(const TensorDesc* in, int first, int end) {
  for (int i = first; i < end; ++i) {
    PF_CHECK(in[i].dtype == DType::F32 && in[i].rank == 0, Error::kInvalidModel,
             "input %d: hyper-parameters are f32 scalars (shape []), got %s rank %d", i, dtype_name(in[i].dtype),
             in[i].rank);
  }
  return Status::ok();
}

enum { kParam = 0, kVelocity = 1, kSgdGrad = 2, kSgdLr, kMomentum, kSgdWeightDecay, kSgdScale };

Status infer_sgd(const OpAttrs&, const TensorDesc* in, int num_inputs, TensorDesc*) {
  PF_RETURN_IF_ERROR(check_updated(in, 3));
  return check_scalars(in, kSgdLr, num_inputs);
}

Status sgd_forward(const OpAttrs& attrs, const TensorView* in, int num_inputs, TensorView*) {
  float* param = in[kParam].f32();
  float* velocity = in[kVelocity].f32();
  const float* grad = in[kSgdGrad].f32();
  const float lr = *in[kSgdLr].f32(), momentum = *in[kMomentum].f32(), decay = *in[kSgdWeightDecay].f32();
  const float scale = num_inputs > kSgdScale ? *in[kSgdScale].f32() : 1.0f;
  const int64_t count = in[kParam].desc.num_elements();
  for (int64_t i = 0; i < count; ++i) {
    const float g = grad[i] * scale + decay * param[i];
    velocity[i] = velocity[i] * momentum + g;
    const float step = attrs.sgd.nesterov ? g + momentum * velocity[i] : velocity[i];
    param[i] = param[i] + -lr * step;
  }
  return Status::ok();
}

enum { kM = 1, kV = 2, kAdamGrad = 3, kAdamLr, kBeta1, kBeta2, kEps, kAdamWeightDecay, kStep, kAdamScale };

Status infer_adam(const OpAttrs&, const TensorDesc* in, int num_inputs, TensorDesc*) {
  PF_RETURN_IF_ERROR(check_updated(in, 4));
  return check_scalars(in, kAdamLr, num_inputs);
}

// On x86-64 also compiled for AVX2 and picked at load time by the CPU (GCC's target_clones): 8
// lanes instead of SSE2's 4 (AVX-512 measured no faster: the update is memory-bound). No FMA
// contraction in either clone, so both round exactly as the portable one.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void adam_elements(float* __restrict param, float* __restrict m, float* __restrict v, const float* __restrict grad,
                   int64_t count, float scale, float keep, float decay, float beta1, float beta2, float correction2_sqrt,
                   float eps, float step_size, bool decoupled) {
  if (decoupled) {
    for (int64_t i = 0; i < count; ++i) param[i] *= keep;
  }
  for (int64_t i = 0; i < count; ++i) {
    float g = grad[i] * scale;
    if (!decoupled) g = g + decay * param[i];
    m[i] = m[i] * beta1 + (1.0f - beta1) * g;
    v[i] = v[i] * beta2 + (1.0f - beta2) * g * g;
    const float denominator = std::sqrt(v[i]) / correction2_sqrt + eps;
    param[i] = param[i] + -step_size * (m[i] / denominator);
  }
}

Status adam_forward(const OpAttrs& attrs, const TensorView* in, int num_inputs, TensorView*) {
  float* param = in[kParam].f32();
  float* m = in[kM].f32();
  float* v = in[kV].f32();
  const float* grad = in[kAdamGrad].f32();
  const float lr = *in[kAdamLr].f32(), beta1 = *in[kBeta1].f32(), beta2 = *in[kBeta2].f32();
  const float eps = *in[kEps].f32(), decay = *in[kAdamWeightDecay].f32(), step = *in[kStep].f32();
  const float scale = num_inputs > kAdamScale ? *in[kAdamScale].f32() : 1.0f;
  PF_CHECK(step >= 1.0f, Error::kInvalidArgument, "step must be >= 1 (Adam's bias correction), got %g",
           static_cast<double>(step));
  // Scalars in double, as PyTorch computes them in Python; the per-element work in float32.
  const double correction1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(lr / correction1);
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float keep = static_cast<float>(1.0 - static_cast<double>(lr) * decay);
  const int64_t count = in[kParam].desc.num_elements();
  // Two loops without a branch inside and with unaliased pointers, so the compiler vectorizes them
  // (the update is memory-bound: W5's 2.1M parameters, docs/benchmarks.md). Same float32
  // operations in the same order per element as before.
  const bool decoupled = attrs.adam.decoupled_weight_decay;
  adam_elements(param, m, v, grad, count, scale, decoupled ? keep : 1.0f, decoupled ? 0.0f : decay, beta1, beta2,
                correction2_sqrt, eps, step_size, decoupled);
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::SgdUpdate>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::SgdUpdate);
    d.min_inputs = 6;
    d.max_inputs = 7;
    d.num_outputs = 0;
    d.attrs_kind = fb::Attrs::SgdAttrs;
    d.infer = infer_sgd;
    d.forward = sgd_forward;
    d.num_updated_inputs = 2;
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::AdamUpdate>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::AdamUpdate);
    d.min_inputs = 10;
    d.max_inputs = 11;
    d.num_outputs = 0;
    d.attrs_kind = fb::Attrs::AdamAttrs;
    d.infer = infer_adam;
    d.forward = adam_forward;
    d.num_updated_inputs = 3;
    return d;
  }();
  return def;
}

}  // namespace preflight
