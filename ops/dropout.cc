// Dropout: the identity at inference; in training, a counter-based random mask.
//
//   inference: x -> y = x
//   training:  x, seed (i64 []) -> y = x * keep / (1 - ratio), keep = hash(seed, stream, i) >= ratio
// The mask is a pure function of (seed, stream, element index), so the backward recomputes it
// instead of storing it, and a run is reproducible from its seed (Philox-style counter RNG).
#include <cstring>

#include "ops/op.h"

namespace preflight {
namespace {

Status infer_dropout(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  // `!(ratio >= 0 && ratio < 1)` also rejects NaN.
  PF_CHECK(attrs.dropout.ratio >= 0.0f && attrs.dropout.ratio < 1.0f, Error::kInvalidModel,
           "ratio must be in [0, 1), got %g", static_cast<double>(attrs.dropout.ratio));
  if (attrs.dropout.training) {
    PF_CHECK(num_inputs == 2 && in[1].dtype == DType::I64 && in[1].rank == 0, Error::kInvalidModel,
             "training dropout takes a seed as input 1 (i64 scalar)");
  } else {
    PF_CHECK(num_inputs == 1, Error::kInvalidModel, "inference dropout takes one input, got %d", num_inputs);
  }
  out[0] = in[0];
  return Status::ok();
}

// A uniform number in [0, 1) for element `index` of stream `stream` under `seed`.
float mask_uniform(uint64_t seed, uint32_t stream, int64_t index) {
  uint64_t z = seed ^ (static_cast<uint64_t>(stream) << 40) ^ static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

// y = x * scale where kept, 0 elsewhere; the backward is the same map applied to dy.
void apply_mask(const OpAttrs& attrs, const TensorView* in, const float* src, float* dst, bool accumulate) {
  const uint64_t seed = static_cast<uint64_t>(*in[1].as<int64_t>());
  const float ratio = attrs.dropout.ratio, scale = 1.0f / (1.0f - ratio);
  const int64_t count = in[0].desc.num_elements();
  for (int64_t i = 0; i < count; ++i) {
    const float value = mask_uniform(seed, attrs.dropout.stream, i) >= ratio ? src[i] * scale : 0.0f;
    dst[i] = accumulate ? dst[i] + value : value;
  }
}

Status dropout_forward(const OpAttrs& attrs, const TensorView* in, int num_inputs, TensorView* out) {
  if (!attrs.dropout.training) return copy_input_forward(attrs, in, num_inputs, out);
  apply_mask(attrs, in, in[0].f32(), out[0].f32(), /*accumulate=*/false);
  return Status::ok();
}

Status dropout_backward(const OpAttrs& attrs, const TensorView* in, int num_inputs, const TensorView* out,
                        const TensorView* out_grad, TensorView* in_grad) {
  if (!attrs.dropout.training) return copy_input_backward(attrs, in, num_inputs, out, out_grad, in_grad);
  if (in_grad[0].data) apply_mask(attrs, in, out_grad[0].f32(), in_grad[0].f32(), /*accumulate=*/true);
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Dropout>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Dropout);
    d.min_inputs = 1;
    d.max_inputs = 2;
    d.attrs_kind = fb::Attrs::DropoutAttrs;
    d.infer = infer_dropout;
    d.forward = dropout_forward;
    d.backward = PF_BACKWARD(dropout_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
