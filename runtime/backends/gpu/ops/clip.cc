// The GPU lowering of SquaredNorm, ClipScale (ops/clip.cc). Gradient clipping by global norm:
// SquaredNorm sums squares with reduce_sum, ClipScale turns them into the factor.
// Kernels: runtime/backends/gpu/ops/clip.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

Status squared_norm_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  for (int i = 0; i < node.num_inputs; ++i) PF_RETURN_IF_ERROR(reduce_sum(p, in[i], out[0], 1.0f, true, i > 0));
  return Status::ok();
}

Status squared_norm_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  for (int i = 0; i < node.num_inputs; ++i) {
    if (!node.wanted(i)) continue;
    Kernel call(p, "squared_norm_backward");
    call.tensor(in[i]).tensor(dout[0]).tensor(grad[i]).i(in[i].desc.num_elements());
    PF_RETURN_IF_ERROR(call.launch(in[i].desc.num_elements()));
  }
  return Status::ok();
}

Status clip_scale_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  int total;
  PF_RETURN_IF_ERROR(scratch(p, 1, &total));
  for (int i = 1; i < node.num_inputs; ++i) {
    Kernel add(p, "add_scalar");
    add.tensor(in[i]).scratch(total).i(i == 1);
    PF_RETURN_IF_ERROR(add.launch(1));
  }
  Kernel call(p, "clip_scale_forward");
  call.tensor(in[0]).scratch(total).tensor(out[0]);
  return call.launch(1);
}

Status clip_scale_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  int total;
  PF_RETURN_IF_ERROR(scratch(p, 1, &total));
  for (int i = 1; i < node.num_inputs; ++i) {
    Kernel add(p, "add_scalar");
    add.tensor(in[i]).scratch(total).i(i == 1);
    PF_RETURN_IF_ERROR(add.launch(1));
  }
  for (int i = 0; i < node.num_inputs; ++i) {
    if (!node.wanted(i)) continue;
    Kernel call(p, "clip_scale_backward");
    call.tensor(in[0]).scratch(total).tensor(dout[0]).tensor(grad[i]).i(i);
    PF_RETURN_IF_ERROR(call.launch(1));
  }
  return Status::ok();
}

constexpr OpLowering kSquaredNorm = [] {
  OpLowering l;
  l.forward = squared_norm_forward;
  l.backward = squared_norm_backward;
  return l;
}();

constexpr OpLowering kClipScale = [] {
  OpLowering l;
  l.forward = clip_scale_forward;
  l.backward = clip_scale_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::SquaredNorm>() { return kSquaredNorm; }
template <>
const OpLowering& op_lowering<OpType::ClipScale>() { return kClipScale; }

}  // namespace gpu
}  // namespace preflight
