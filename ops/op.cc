#include "ops/op.h"

#include <cstdio>
#include <cstring>
#include <limits>

namespace preflight {

Status copy_input_forward(const OpAttrs&, const TensorView* in, int, TensorView* out) {
  const size_t bytes = in[0].desc.num_bytes();
  if (bytes && out[0].data != in[0].data) std::memcpy(out[0].data, in[0].data, bytes);
  return Status::ok();
}

Status copy_input_backward(const OpAttrs&, const TensorView* in, int, const TensorView*, const TensorView* out_grad,
                           TensorView* in_grad) {
  float* dx = in_grad[0].f32();
  if (!dx) return Status::ok();
  const int64_t count = in[0].desc.num_elements();
  for (int64_t i = 0; i < count; ++i) dx[i] += out_grad[0].f32()[i];
  return Status::ok();
}

AxisSplit split_at_axis(const TensorDesc& desc, int axis) {
  AxisSplit split;
  normalize_axis(axis, desc.rank, &split.axis);
  for (int d = 0; d < split.axis; ++d) split.outer *= desc.dims[d];
  split.extent = desc.rank ? desc.dims[split.axis] : 1;
  for (int d = split.axis + 1; d < desc.rank; ++d) split.inner *= desc.dims[d];
  return split;
}

bool normalize_axis(int axis, int rank, int* normalized) {
  if (axis < -rank || axis >= rank) return false;
  *normalized = axis < 0 ? axis + rank : axis;
  return true;
}

}  // namespace preflight
