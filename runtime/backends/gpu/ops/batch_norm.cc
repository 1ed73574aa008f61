// The GPU lowering of BatchNorm, BatchNormTrain, RunningStatsUpdate (ops/batch_norm.cc). BatchNorm
// at inference, BatchNormTrain (batch statistics) and the running-statistics update it feeds.
// Kernels: runtime/backends/gpu/ops/batch_norm.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

Status batch_norm_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const AxisSplit s = split(in[0].desc, attrs.norm.axis);
  Kernel call(p, "batch_norm_forward");
  call.tensor(in[0]).tensor(in[1]).tensor(in[2]).tensor(in[3]).tensor(in[4]).tensor(out[0]);
  call.i(in[0].desc.num_elements()).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
  return call.launch(in[0].desc.num_elements());
}

Status batch_norm_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const AxisSplit s = split(in[0].desc, attrs.norm.axis);
  int bits = 0;
  for (int i = 1; i <= 4; ++i) bits |= node.wanted(i) ? 1 << i : 0;
  if (bits) {
    Kernel call(p, "batch_norm_backward_channels");
    call.tensor(in[0]).tensor(in[1]).tensor(in[3]).tensor(in[4]).tensor(dout[0]);
    for (int i = 1; i <= 4; ++i) call.tensor(node.wanted(i) ? grad[i] : TensorView());
    call.i(bits).i(s.outer).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
    PF_RETURN_IF_ERROR(call.launch(s.extent));
  }
  if (!node.wanted(0)) return Status::ok();
  Kernel call(p, "batch_norm_backward_input");
  call.tensor(in[1]).tensor(in[4]).tensor(dout[0]).tensor(grad[0]).i(in[0].desc.num_elements()).i(s.extent).i(s.inner);
  call.f(attrs.norm.epsilon);
  return call.launch(in[0].desc.num_elements());
}

Status batch_norm_train_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const AxisSplit s = split(in[0].desc, attrs.norm.axis);
  int stats;
  PF_RETURN_IF_ERROR(scratch(p, 2 * s.extent, &stats));
  Kernel call(p, "batch_norm_train_stats");
  call.tensor(in[0]).scratch(stats).tensor(out[1]).tensor(out[2]).i(s.outer).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
  PF_RETURN_IF_ERROR(call.launch(s.extent));
  Kernel apply(p, "batch_norm_train_forward");
  apply.tensor(in[0]).scratch(stats).tensor(in[1]).tensor(in[2]).tensor(out[0]);
  apply.i(in[0].desc.num_elements()).i(s.extent).i(s.inner);
  return apply.launch(in[0].desc.num_elements());
}

Status batch_norm_train_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const AxisSplit s = split(in[0].desc, attrs.norm.axis);
  int sums;
  PF_RETURN_IF_ERROR(scratch(p, 4 * s.extent, &sums));
  const int bits = (node.wanted(1) ? 2 : 0) | (node.wanted(2) ? 4 : 0);
  Kernel call(p, "batch_norm_train_backward_channels");
  call.tensor(in[0]).tensor(in[1]).tensor(dout[0]).scratch(sums).tensor(node.wanted(1) ? grad[1] : TensorView());
  call.tensor(node.wanted(2) ? grad[2] : TensorView()).i(bits).i(s.outer).i(s.extent).i(s.inner).f(attrs.norm.epsilon);
  PF_RETURN_IF_ERROR(call.launch(s.extent));
  if (!node.wanted(0)) return Status::ok();
  Kernel input(p, "batch_norm_train_backward_input");
  input.tensor(in[0]).tensor(in[1]).tensor(dout[0]).tensor(dout[1]).tensor(dout[2]).scratch(sums).tensor(grad[0]);
  input.i(in[0].desc.num_elements()).i(s.extent).i(s.inner);
  return input.launch(in[0].desc.num_elements());
}

Status running_stats_update_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const OpAttrs& attrs = node.attrs;
  Kernel call(p, "running_stats_update");
  call.tensor(in[0]).tensor(in[1]).tensor(in[2]).tensor(in[3]).i(in[0].desc.num_elements()).f(attrs.running_stats.momentum);
  return call.launch(in[0].desc.num_elements());
}

constexpr OpLowering kBatchNorm = [] {
  OpLowering l;
  l.forward = batch_norm_forward;
  l.backward = batch_norm_backward;
  return l;
}();

constexpr OpLowering kBatchNormTrain = [] {
  OpLowering l;
  l.forward = batch_norm_train_forward;
  l.backward = batch_norm_train_backward;
  return l;
}();

constexpr OpLowering kRunningStatsUpdate = [] {
  OpLowering l;
  l.forward = running_stats_update_forward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::BatchNorm>() { return kBatchNorm; }
template <>
const OpLowering& op_lowering<OpType::BatchNormTrain>() { return kBatchNormTrain; }
template <>
const OpLowering& op_lowering<OpType::RunningStatsUpdate>() { return kRunningStatsUpdate; }

}  // namespace gpu
}  // namespace preflight
