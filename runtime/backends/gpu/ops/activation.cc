// The GPU lowering of Relu, Clamp, Sigmoid, Tanh, Gelu, HardSwish, HardSigmoid (ops/activation.cc). The elementwise
// activations: one kernel, the op as a code (unary_code, kernels in activation.cl).
// Kernels: runtime/backends/gpu/ops/activation.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

// The kernel's two float parameters: Clamp's bounds, HardSigmoid's alpha and beta.
float first_param(OpType op, const OpAttrs& attrs) { return op == OpType::HardSigmoid ? attrs.hard_sigmoid.alpha : attrs.clamp.min; }
float second_param(OpType op, const OpAttrs& attrs) { return op == OpType::HardSigmoid ? attrs.hard_sigmoid.beta : attrs.clamp.max; }

int unary_code(OpType op, const OpAttrs& attrs) {
  switch (op) {
    case OpType::Relu: return 0;
    case OpType::Clamp: return 1;
    case OpType::Sigmoid: return 2;
    case OpType::Tanh: return 3;
    case OpType::HardSwish: return 6;
    case OpType::HardSigmoid: return 7;
    default: return attrs.gelu.tanh_approximation ? 5 : 4;  // Gelu
  }
}

Status unary_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op;
  Kernel call(p, "unary_forward");
  call.tensor(in[0]).tensor(out[0]).i(in[0].desc.num_elements()).i(unary_code(op, attrs));
  call.f(first_param(op, attrs)).f(second_param(op, attrs));
  return call.launch(in[0].desc.num_elements());
}

Status unary_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const OpType op = node.op;
  if (!node.wanted(0)) return Status::ok();
  Kernel call(p, "unary_backward");
  call.tensor(in[0]).tensor(out[0]).tensor(dout[0]).tensor(grad[0]).i(in[0].desc.num_elements()).i(unary_code(op, attrs));
  call.f(first_param(op, attrs)).f(second_param(op, attrs));
  return call.launch(in[0].desc.num_elements());
}

constexpr OpLowering kUnary = [] {
  OpLowering l;
  l.forward = unary_forward;
  l.backward = unary_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Relu>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Clamp>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Sigmoid>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Tanh>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Gelu>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::HardSwish>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::HardSigmoid>() { return kUnary; }

}  // namespace gpu
}  // namespace preflight
