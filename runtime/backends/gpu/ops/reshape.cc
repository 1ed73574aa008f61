// The GPU lowering of Reshape, Flatten (ops/reshape.cc). Reshape and Flatten: a buffer copy (the
// bytes are passed through); no kernel of their own.
// No kernels: copies are buffer copies.
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

bool reshape_supports(const Model& model, const NodeInfo& node) {
  return !node.backward || first_input(model, node).dtype == DType::F32;
}

Status copy_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  return copy(p, in[0], out[0]);
}

Status copy_backward(const GpuNode& node, Lowered* p) {
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  return node.wanted(0) ? copy(p, dout[0], grad[0]) : Status::ok();
}

constexpr OpLowering kCopy = [] {
  OpLowering l;
  l.forward = copy_forward;
  l.backward = copy_backward;
  l.supports = reshape_supports;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Reshape>() { return kCopy; }
template <>
const OpLowering& op_lowering<OpType::Flatten>() { return kCopy; }

}  // namespace gpu
}  // namespace preflight
