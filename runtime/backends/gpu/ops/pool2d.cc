// The GPU lowering of MaxPool2D, AvgPool2D, GlobalAvgPool (ops/pool2d.cc). MaxPool2D and AvgPool2D
// (NHWC), GlobalAvgPool.
// Kernels: runtime/backends/gpu/ops/pool2d.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

std::vector<int> pool_geometry(const OpAttrs& attrs, const TensorDesc& x, const TensorDesc& y) {
  const Pool2dAttrs& a = attrs.pool;
  return {static_cast<int>(x.dims[0]), static_cast<int>(x.dims[1]), static_cast<int>(x.dims[2]), static_cast<int>(x.dims[3]),
          static_cast<int>(y.dims[1]), static_cast<int>(y.dims[2]), a.kernel_h, a.kernel_w, a.stride_h, a.stride_w,
          a.pad_top, a.pad_left, a.count_include_pad ? 1 : 0};
}

Status pool_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op;
  int geometry = 0;
  PF_RETURN_IF_ERROR(int_table(p, pool_geometry(attrs, in[0].desc, out[0].desc), &geometry));
  Kernel call(p, "pool_forward");
  call.tensor(in[0]).tensor(out[0]).table(geometry).i(op == OpType::MaxPool2D);
  return call.launch(out[0].desc.num_elements());
}

Status pool_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op;
  if (!node.wanted(0)) return Status::ok();
  int geometry = 0;
  PF_RETURN_IF_ERROR(int_table(p, pool_geometry(attrs, in[0].desc, out[0].desc), &geometry));
  Kernel call(p, "pool_backward");
  call.tensor(in[0]).tensor(dout[0]).tensor(grad[0]).table(geometry).i(op == OpType::MaxPool2D);
  return call.launch(in[0].desc.num_elements());
}

Status global_avg_pool_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorDesc& x = in[0].desc;
  Kernel call(p, "global_pool_forward");
  call.tensor(in[0]).tensor(out[0]).i(x.dims[0]).i(x.dims[1] * x.dims[2]).i(x.dims[3]);
  return call.launch(x.dims[0] * x.dims[3]);
}

Status global_avg_pool_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  if (!node.wanted(0)) return Status::ok();
  const TensorDesc& x = in[0].desc;
  Kernel call(p, "global_pool_backward");
  call.tensor(dout[0]).tensor(grad[0]).i(x.dims[0]).i(x.dims[1] * x.dims[2]).i(x.dims[3]);
  return call.launch(x.num_elements());
}

constexpr OpLowering kPool = [] {
  OpLowering l;
  l.forward = pool_forward;
  l.backward = pool_backward;
  return l;
}();

constexpr OpLowering kGlobalAvgPool = [] {
  OpLowering l;
  l.forward = global_avg_pool_forward;
  l.backward = global_avg_pool_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::MaxPool2D>() { return kPool; }
template <>
const OpLowering& op_lowering<OpType::AvgPool2D>() { return kPool; }
template <>
const OpLowering& op_lowering<OpType::GlobalAvgPool>() { return kGlobalAvgPool; }

}  // namespace gpu
}  // namespace preflight
