// Softmax and LogSoftmax along one axis.
//
//   x: [..., C, ...] f32   ->   y: same shape; each slice along `axis` sums to 1 (Softmax)
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

Status infer_softmax(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  PF_CHECK_DTYPE(in[0], DType::F32, 0);
  int axis = 0;
  PF_CHECK(normalize_axis(attrs.axis.axis, in[0].rank, &axis), Error::kInvalidModel,
           "axis %d is out of range for rank %d", attrs.axis.axis, in[0].rank);
  out[0] = in[0];
  return Status::ok();
}

template <bool kLog>
Status softmax_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const TensorDesc& x = in[0].desc;
  const AxisSplit split = split_at_axis(x, attrs.axis.axis);
  const int64_t outer = split.outer, inner = split.inner;
  const int64_t classes = split.extent;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* src = in[0].f32() + o * classes * inner + i;
      float* dst = out[0].f32() + o * classes * inner + i;
      // Subtract the max so exp never overflows.
      const double max_value = max_along(src, classes, inner);
      double sum = 0.0;
      for (int64_t c = 0; c < classes; ++c) sum += std::exp(src[c * inner] - max_value);
      const double log_sum = std::log(sum);
      for (int64_t c = 0; c < classes; ++c) {
        const double shifted = src[c * inner] - max_value;
        dst[c * inner] = static_cast<float>(kLog ? shifted - log_sum : std::exp(shifted) / sum);
      }
    }
  }
  return Status::ok();
}

// Softmax:    dx = y * (dy - sum_c dy_c y_c)
// LogSoftmax: dx = dy - exp(y) * sum_c dy_c
template <bool kLog>
Status softmax_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out,
                        const TensorView* out_grad, TensorView* in_grad) {
  float* dx = in_grad[0].f32();
  if (!dx) return Status::ok();
  const TensorDesc& x = in[0].desc;
  const AxisSplit split = split_at_axis(x, attrs.axis.axis);
  const int64_t outer = split.outer, inner = split.inner;
  const int64_t classes = split.extent;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * classes * inner + i;
      const float* y = out[0].f32() + base;
      const float* dy = out_grad[0].f32() + base;
      double dot = 0.0;
      for (int64_t c = 0; c < classes; ++c) dot += kLog ? dy[c * inner] : static_cast<double>(dy[c * inner]) * y[c * inner];
      for (int64_t c = 0; c < classes; ++c) {
        const double g = kLog ? dy[c * inner] - std::exp(static_cast<double>(y[c * inner])) * dot
                              : y[c * inner] * (dy[c * inner] - dot);
        dx[base + c * inner] += static_cast<float>(g);
      }
    }
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Softmax>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Softmax);
    d.attrs_kind = fb::Attrs::AxisAttrs;
    d.attrs_required = true;
    d.infer = infer_softmax;
    d.forward = softmax_forward<false>;
    d.backward = PF_BACKWARD(softmax_backward<false>);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::LogSoftmax>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::LogSoftmax);
    d.attrs_kind = fb::Attrs::AxisAttrs;
    d.attrs_required = true;
    d.infer = infer_softmax;
    d.forward = softmax_forward<true>;
    d.backward = PF_BACKWARD(softmax_backward<true>);
    return d;
  }();
  return def;
}

}  // namespace preflight
