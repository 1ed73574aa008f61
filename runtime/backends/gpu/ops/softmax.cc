// The GPU lowering of Softmax, LogSoftmax (ops/softmax.cc). Softmax and LogSoftmax along an axis
// seen as [outer, classes, inner].
// Kernels: runtime/backends/gpu/ops/softmax.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

Status softmax_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op;
  const AxisSplit s = split(in[0].desc, attrs.axis.axis);
  Kernel call(p, "softmax_forward");
  call.tensor(in[0]).tensor(out[0]).i(s.outer).i(s.extent).i(s.inner).i(op == OpType::LogSoftmax);
  return call.launch(s.outer * s.inner);
}

Status softmax_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op;
  if (!node.wanted(0)) return Status::ok();
  const AxisSplit s = split(in[0].desc, attrs.axis.axis);
  Kernel call(p, "softmax_backward");
  call.tensor(out[0]).tensor(dout[0]).tensor(grad[0]).i(s.outer).i(s.extent).i(s.inner).i(op == OpType::LogSoftmax);
  return call.launch(s.outer * s.inner);
}

constexpr OpLowering kSoftmax = [] {
  OpLowering l;
  l.forward = softmax_forward;
  l.backward = softmax_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Softmax>() { return kSoftmax; }
template <>
const OpLowering& op_lowering<OpType::LogSoftmax>() { return kSoftmax; }

}  // namespace gpu
}  // namespace preflight
