// The GPU lowering of the elementwise ops of ops/activation.cc (Relu, Clamp, Sigmoid, Tanh, Gelu,
// HardSwish, HardSigmoid, LeakyRelu, Elu, Silu, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Erf): one kernel,
// the op as a code (unary_code, kernels in activation.cl).
// Kernels: runtime/backends/gpu/ops/activation.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

// The kernel's two float parameters: Clamp's bounds, HardSigmoid's alpha and beta, LeakyRelu's and
// Elu's alpha.
float first_param(OpType op, const OpAttrs& attrs) {
  if (op == OpType::LeakyRelu || op == OpType::Elu) return attrs.alpha.alpha;
  return op == OpType::HardSigmoid ? attrs.hard_sigmoid.alpha : attrs.clamp.min;
}
float second_param(OpType op, const OpAttrs& attrs) { return op == OpType::HardSigmoid ? attrs.hard_sigmoid.beta : attrs.clamp.max; }

int unary_code(OpType op, const OpAttrs& attrs) {
  switch (op) {
    case OpType::Relu: return 0;
    case OpType::Clamp: return 1;
    case OpType::Sigmoid: return 2;
    case OpType::Tanh: return 3;
    case OpType::HardSwish: return 6;
    case OpType::HardSigmoid: return 7;
    case OpType::LeakyRelu: return 8;
    case OpType::Elu: return 9;
    case OpType::Sqrt: return 10;
    case OpType::Exp: return 11;
    case OpType::Log: return 12;
    case OpType::Neg: return 13;
    case OpType::Abs: return 14;
    case OpType::Reciprocal: return 15;
    case OpType::Erf: return 16;
    case OpType::Silu: return 17;
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
template <>
const OpLowering& op_lowering<OpType::LeakyRelu>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Elu>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Sqrt>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Exp>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Log>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Neg>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Abs>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Reciprocal>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Erf>() { return kUnary; }
template <>
const OpLowering& op_lowering<OpType::Silu>() { return kUnary; }

}  // namespace gpu
}  // namespace preflight
