// The GPU lowering of SgdUpdate, AdamUpdate (ops/optimizer.cc). The optimizer updates, in place; no
// backward.
// Kernels: runtime/backends/gpu/ops/optimizer.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

Status sgd_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const OpAttrs& attrs = node.attrs;
  const bool scaled = node.num_inputs > 6;
  Kernel call(p, "sgd_update");
  for (int i = 0; i < 6; ++i) call.tensor(in[i]);
  call.tensor(scaled ? in[6] : TensorView()).i(scaled).i(in[0].desc.num_elements()).i(attrs.sgd.nesterov);
  return call.launch(in[0].desc.num_elements());
}

Status adam_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const OpAttrs& attrs = node.attrs;
  const int index = node.index;
  Kernel check(p, "adam_check_step");
  check.tensor(in[9]).status().i(index);
  PF_RETURN_IF_ERROR(check.launch(1));
  const bool scaled = node.num_inputs > 10;
  Kernel call(p, "adam_update");
  for (int i = 0; i < 10; ++i) call.tensor(in[i]);
  call.tensor(scaled ? in[10] : TensorView()).i(scaled).i(in[0].desc.num_elements()).i(attrs.adam.decoupled_weight_decay);
  return call.launch(in[0].desc.num_elements());
}

constexpr OpLowering kSgd = [] {
  OpLowering l;
  l.forward = sgd_forward;
  return l;
}();

constexpr OpLowering kAdam = [] {
  OpLowering l;
  l.forward = adam_forward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::SgdUpdate>() { return kSgd; }
template <>
const OpLowering& op_lowering<OpType::AdamUpdate>() { return kAdam; }

}  // namespace gpu
}  // namespace preflight
