// Concat: join tensors along one axis. Any dtype, all inputs alike.
//
//   x_i: [..., a_i, ...] (equal except along axis)   ->   y: [..., sum a_i, ...]
#include <cstring>

#include "ops/op.h"

namespace preflight {
namespace {

Status infer_concat(const OpAttrs& attrs, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  int axis = 0;
  PF_CHECK(normalize_axis(attrs.axis.axis, in[0].rank, &axis), Error::kInvalidModel,
           "axis %d is out of range for rank %d", attrs.axis.axis, in[0].rank);
  TensorDesc y = in[0];
  for (int i = 1; i < num_inputs; ++i) {
    PF_CHECK(in[i].dtype == y.dtype, Error::kInvalidModel, "input %d: dtype %s differs from input 0's %s", i,
             dtype_name(in[i].dtype), dtype_name(y.dtype));
    PF_CHECK(in[i].rank == y.rank, Error::kInvalidModel, "input %d: rank %d differs from input 0's %d", i,
             in[i].rank, y.rank);
    for (int d = 0; d < y.rank; ++d) {
      if (d == axis) continue;
      PF_CHECK(in[i].dims[d] == in[0].dims[d], Error::kInvalidModel,
               "input %d: dim %d is %lld, input 0 has %lld (only the concat axis %d may differ)", i, d,
               static_cast<long long>(in[i].dims[d]), static_cast<long long>(in[0].dims[d]), axis);
    }
    y.dims[axis] += in[i].dims[axis];
  }
  out[0] = y;
  return Status::ok();
}

Status concat_forward(const OpAttrs& attrs, const TensorView* in, int num_inputs, TensorView* out) {
  const TensorDesc& y = out[0].desc;
  const size_t element = dtype_size(y.dtype);
  const AxisSplit split = split_at_axis(y, attrs.axis.axis);
  const int64_t outer = split.outer, inner = split.inner;
  auto* dst = static_cast<unsigned char*>(out[0].data);
  const size_t out_row = static_cast<size_t>(split.extent * inner) * element;
  size_t column = 0;
  for (int i = 0; i < num_inputs; ++i) {
    const size_t in_row = static_cast<size_t>(in[i].desc.dims[split.axis] * inner) * element;
    const auto* src = static_cast<const unsigned char*>(in[i].data);
    for (int64_t o = 0; o < outer; ++o) {
      if (in_row) std::memcpy(dst + o * out_row + column, src + o * in_row, in_row);
    }
    column += in_row;
  }
  return Status::ok();
}

// Each input's gradient is its slice of dy along the axis.
Status concat_backward(const OpAttrs& attrs, const TensorView* in, int num_inputs, const TensorView* out,
                       const TensorView* out_grad, TensorView* in_grad) {
  const TensorDesc& y = out[0].desc;
  const AxisSplit split = split_at_axis(y, attrs.axis.axis);
  const int64_t outer = split.outer, inner = split.inner;
  const int64_t out_row = split.extent * inner;
  const float* dy = out_grad[0].f32();
  int64_t column = 0;
  for (int i = 0; i < num_inputs; ++i) {
    const int64_t in_row = in[i].desc.dims[split.axis] * inner;
    float* dx = in_grad[i].f32();
    for (int64_t o = 0; o < outer && dx; ++o) {
      for (int64_t j = 0; j < in_row; ++j) dx[o * in_row + j] += dy[o * out_row + column + j];
    }
    column += in_row;
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Concat>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Concat);
    d.min_inputs = 1;
    d.max_inputs = kMaxNodeInputs;
    d.attrs_kind = fb::Attrs::AxisAttrs;
    d.attrs_required = true;
    d.infer = infer_concat;
    d.forward = concat_forward;
    d.backward = PF_BACKWARD(concat_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
