// Slice: a strided window of the input. Along each dim d, size[d] elements from start[d] in steps
// of step[d] (negative: backwards); every element read lies inside the input. Size -1 (with start
// 0, step 1) is the whole dim, whatever it is: the batch dim stays re-plannable (Model::set_batch).
//
//   x: [d0, ..., dr-1], f32   ->   y: [size0, ..., size(r-1)]
#include "ops/op.h"

namespace preflight {
namespace {

Status infer_slice(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const TensorDesc& x = in[0];
  const SliceAttrs& s = attrs.slice;
  PF_CHECK_DTYPE(x, DType::F32, 0);
  PF_CHECK(s.rank == x.rank, Error::kInvalidModel, "the attributes have %d dims, the input has rank %d", s.rank, x.rank);
  TensorDesc y = x;
  for (int d = 0; d < x.rank; ++d) {
    if (s.size[d] == -1) {  // the whole dim
      PF_CHECK(s.start[d] == 0 && s.step[d] == 1, Error::kInvalidModel, "dim %d: size -1 (the whole dim) needs start 0 and step 1, got %lld and %lld",
               d, static_cast<long long>(s.start[d]), static_cast<long long>(s.step[d]));
      continue;
    }
    PF_CHECK(s.size[d] >= 1 && s.step[d] != 0, Error::kInvalidModel, "dim %d: size %lld and step %lld (size >= 1, step not 0)", d,
             static_cast<long long>(s.size[d]), static_cast<long long>(s.step[d]));
    // The last index read, start + (size - 1) step, stays inside (division: no overflow).
    const int64_t start = s.start[d], step = s.step[d], dim = x.dims[d];
    const bool fits = start >= 0 && start < dim && step >= -dim && step <= dim &&
                      s.size[d] - 1 <= (step > 0 ? (dim - 1 - start) / step : start / -step);
    PF_CHECK(fits, Error::kInvalidModel, "dim %d: %lld elements from %lld in steps of %lld leave the input's %lld", d,
             static_cast<long long>(s.size[d]), static_cast<long long>(start), static_cast<long long>(step),
             static_cast<long long>(dim));
    y.dims[d] = s.size[d];
  }
  out[0] = y;
  return Status::ok();
}

// Input offset of output element `o` (y: the output's dims, which size -1 leaves to the input).
int64_t source(const SliceAttrs& s, const TensorDesc& x, const TensorDesc& y, int64_t o) {
  int64_t at = 0, stride = 1;
  for (int d = x.rank - 1; d >= 0; --d) {
    at += (s.start[d] + (o % y.dims[d]) * s.step[d]) * stride;
    o /= y.dims[d];
    stride *= x.dims[d];
  }
  return at;
}

Status slice_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const int64_t count = out[0].desc.num_elements();
  for (int64_t o = 0; o < count; ++o) out[0].f32()[o] = in[0].f32()[source(attrs.slice, in[0].desc, out[0].desc, o)];
  return Status::ok();
}

// dx += dy at the elements the window read (the others get nothing).
Status slice_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                      TensorView* dx) {
  if (!dx[0].f32()) return Status::ok();
  const int64_t count = out[0].desc.num_elements();
  for (int64_t o = 0; o < count; ++o) dx[0].f32()[source(attrs.slice, in[0].desc, out[0].desc, o)] += dy[0].f32()[o];
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Slice>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Slice);
    d.attrs_kind = fb::Attrs::SliceAttrs;
    d.attrs_required = true;
    d.infer = infer_slice;
    d.forward = slice_forward;
    d.backward = PF_BACKWARD(slice_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
