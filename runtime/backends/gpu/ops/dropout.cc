// The GPU lowering of Dropout (ops/dropout.cc). Dropout: a copy at inference, the counter-based
// mask of ops/dropout.cc in training.
// Kernels: runtime/backends/gpu/ops/dropout.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

// The seed input is i64.
bool dropout_supports(const Model& model, const NodeInfo& node) { return first_input(model, node).dtype == DType::F32; }

Status dropout_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  if (!attrs.dropout.training) return copy(p, in[0], out[0]);
  Kernel call(p, "dropout_mask");
  call.tensor(in[0]).tensor(in[1]).tensor(out[0]).i(in[0].desc.num_elements()).u(attrs.dropout.stream).f(attrs.dropout.ratio);
  return call.launch(in[0].desc.num_elements());
}

Status dropout_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  if (!node.wanted(0)) return Status::ok();
  if (!attrs.dropout.training) return copy(p, dout[0], grad[0]);
  Kernel call(p, "dropout_mask");
  call.tensor(dout[0]).tensor(in[1]).tensor(grad[0]).i(in[0].desc.num_elements()).u(attrs.dropout.stream).f(attrs.dropout.ratio);
  return call.launch(in[0].desc.num_elements());
}

constexpr OpLowering kDropout = [] {
  OpLowering l;
  l.forward = dropout_forward;
  l.backward = dropout_backward;
  l.supports = dropout_supports;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Dropout>() { return kDropout; }

}  // namespace gpu
}  // namespace preflight
