// Reshape and Flatten: same bytes, new shape. Any dtype.
//
//   Reshape: x: [...] -> y: attrs.shape, where one -1 is inferred and 0 copies the input dim at
//            that index (ONNX's allowzero = 0). The element counts must match.
//   Flatten: x: [d0, ..., dr-1] -> y: [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)], axis in [-r, r].
#include "ops/op.h"

namespace preflight {
namespace {

Status infer_reshape(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const ReshapeAttrs& a = attrs.reshape;
  const TensorDesc& x = in[0];
  TensorDesc y;
  y.dtype = x.dtype;
  y.rank = a.rank;
  int inferred = -1;
  int64_t known = 1;
  for (int i = 0; i < a.rank; ++i) {
    int64_t dim = a.shape[i];
    if (dim == 0) {
      PF_CHECK(i < x.rank, Error::kInvalidModel, "shape[%d] = 0 copies an input dim, but the input has rank %d",
               i, x.rank);
      dim = x.dims[i];
    }
    if (dim == -1) {
      PF_CHECK(inferred < 0, Error::kInvalidModel, "shape has more than one -1 (at %d and %d)", inferred, i);
      inferred = i;
      continue;
    }
    PF_CHECK(dim >= 0, Error::kInvalidModel, "shape[%d] = %lld is negative", i, static_cast<long long>(dim));
    y.dims[i] = dim;
    PF_CHECK(checked_mul(known, dim, &known), Error::kInvalidModel, "target shape overflows int64");
  }
  const int64_t count = x.num_elements();
  if (inferred >= 0) {
    PF_CHECK(known > 0 && count % known == 0, Error::kInvalidModel,
             "cannot infer shape[%d]: %lld elements are not a multiple of %lld", inferred,
             static_cast<long long>(count), static_cast<long long>(known));
    y.dims[inferred] = count / known;
  } else {
    char sx[96], sy[96];
    PF_CHECK(known == count, Error::kInvalidModel, "cannot reshape %s (%lld elements) to %s (%lld elements)",
             describe(x, sx, sizeof sx), static_cast<long long>(count), describe(y, sy, sizeof sy),
             static_cast<long long>(known));
  }
  out[0] = y;
  return Status::ok();
}

Status infer_flatten(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const TensorDesc& x = in[0];
  int axis = attrs.axis.axis;
  PF_CHECK(axis >= -x.rank && axis <= x.rank, Error::kInvalidModel,
           "axis %d is out of range [-%d, %d] for an input of rank %d", axis, x.rank, x.rank, x.rank);
  if (axis < 0) axis += x.rank;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dims[i];
  for (int i = axis; i < x.rank; ++i) inner *= x.dims[i];
  out[0] = make_desc(x.dtype, {outer, inner});
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Reshape>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Reshape);
    d.attrs_kind = fb::Attrs::ReshapeAttrs;
    d.attrs_required = true;
    d.infer = infer_reshape;
    d.forward = copy_input_forward;
    d.backward = PF_BACKWARD(copy_input_backward);
    return d;
  }();
  return def;
}

template <>
const OpDef& op_def<OpType::Flatten>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Flatten);
    d.attrs_kind = fb::Attrs::AxisAttrs;
    d.attrs_required = true;
    d.infer = infer_flatten;
    d.forward = copy_input_forward;
    d.backward = PF_BACKWARD(copy_input_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
