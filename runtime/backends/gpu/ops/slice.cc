// The GPU lowering of Slice (ops/slice.cc): forward, one work item per output element reads its
// source; backward, one per input element writes dy where the window read it and 0 elsewhere.
// Kernels: runtime/backends/gpu/ops/slice.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

// meta: rank, then per dim (6 each): input dims, starts, steps, sizes, output strides.
Status slice_meta(const TensorDesc& x, const TensorDesc& y, const SliceAttrs& s, Lowered* p, int* table) {
  std::vector<int> meta(31, 0);
  meta[0] = x.rank;
  int64_t stride = 1;
  for (int d = x.rank - 1; d >= 0; --d) {
    meta[1 + d] = static_cast<int>(x.dims[d]);
    meta[7 + d] = static_cast<int>(s.start[d]);
    meta[13 + d] = static_cast<int>(s.step[d]);
    meta[19 + d] = static_cast<int>(y.dims[d]);  // size -1 (the whole dim) is the output's dim
    meta[25 + d] = static_cast<int>(stride);
    stride *= y.dims[d];
  }
  return int_table(p, meta, table);
}

Status slice_forward(const GpuNode& node, Lowered* p) {
  int table = 0;
  PF_RETURN_IF_ERROR(slice_meta(node.in[0].desc, node.out[0].desc, node.attrs.slice, p, &table));
  const int64_t n = node.out[0].desc.num_elements();
  Kernel call(p, "slice_forward");
  call.tensor(node.in[0]).tensor(node.out[0]).table(table).i(n);
  return call.launch(n);
}

Status slice_backward(const GpuNode& node, Lowered* p) {
  if (!node.wanted(0)) return Status::ok();
  int table = 0;
  PF_RETURN_IF_ERROR(slice_meta(node.in[0].desc, node.out[0].desc, node.attrs.slice, p, &table));
  const int64_t n = node.in[0].desc.num_elements();
  Kernel call(p, "slice_backward");
  call.tensor(node.dout[0]).tensor(node.grad[0]).table(table).i(n);
  return call.launch(n);
}

constexpr OpLowering kSlice = [] {
  OpLowering l;
  l.forward = slice_forward;
  l.backward = slice_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Slice>() { return kSlice; }

}  // namespace gpu
}  // namespace preflight
