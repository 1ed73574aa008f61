// Transpose: permute the axes. Any dtype.
//
//   x: [d0, ..., dr-1]   perm: a permutation of 0..r-1   ->   y: [d(perm[0]), ..., d(perm[r-1])]
#include <cstring>

#include "ops/op.h"

namespace preflight {
namespace {

Status infer_transpose(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const TransposeAttrs& a = attrs.transpose;
  const TensorDesc& x = in[0];
  PF_CHECK(a.rank == x.rank, Error::kInvalidModel, "perm has %d entries, the input has rank %d", a.rank, x.rank);
  bool seen[kMaxRank] = {false};
  TensorDesc y = x;
  for (int i = 0; i < a.rank; ++i) {
    const int axis = a.perm[i];
    PF_CHECK(axis >= 0 && axis < x.rank && !seen[axis], Error::kInvalidModel,
             "perm[%d] = %d: perm must be a permutation of 0..%d", i, axis, x.rank - 1);
    seen[axis] = true;
    y.dims[i] = x.dims[axis];
  }
  out[0] = y;
  return Status::ok();
}

// Visits the output in row-major order and calls visit(output_index, input_index) for each element.
template <typename Visit>
void for_each_transposed(const TransposeAttrs& attrs, const TensorDesc& x, const TensorDesc& y, Visit visit) {
  const int rank = x.rank;
  int64_t in_strides[kMaxRank], stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    in_strides[i] = stride;
    stride *= x.dims[i];
  }
  int64_t out_strides_in_input[kMaxRank], counter[kMaxRank] = {0};
  for (int i = 0; i < rank; ++i) out_strides_in_input[i] = in_strides[attrs.perm[i]];
  const int64_t count = x.num_elements();
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    visit(i, offset);
    for (int d = rank - 1; d >= 0; --d) {
      offset += out_strides_in_input[d];
      if (++counter[d] < y.dims[d]) break;
      offset -= out_strides_in_input[d] * y.dims[d];
      counter[d] = 0;
    }
  }
}

Status transpose_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const size_t element = dtype_size(in[0].desc.dtype);
  const auto* src = static_cast<const unsigned char*>(in[0].data);
  auto* dst = static_cast<unsigned char*>(out[0].data);
  for_each_transposed(attrs.transpose, in[0].desc, out[0].desc, [&](int64_t out_index, int64_t in_index) {
    std::memcpy(dst + out_index * element, src + in_index * element, element);
  });
  return Status::ok();
}

// dx[input index] += dy[output index]: the same walk, accumulating the other way.
Status transpose_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out,
                          const TensorView* out_grad, TensorView* in_grad) {
  float* dx = in_grad[0].f32();
  if (!dx) return Status::ok();
  const float* dy = out_grad[0].f32();
  for_each_transposed(attrs.transpose, in[0].desc, out[0].desc,
                      [&](int64_t out_index, int64_t in_index) { dx[in_index] += dy[out_index]; });
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Transpose>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Transpose);
    d.attrs_kind = fb::Attrs::TransposeAttrs;
    d.attrs_required = true;
    d.infer = infer_transpose;
    d.forward = transpose_forward;
    d.backward = PF_BACKWARD(transpose_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
