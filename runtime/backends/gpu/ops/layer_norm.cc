// The GPU lowering of LayerNorm (ops/layer_norm.cc). LayerNorm over the trailing dims from its
// axis.
// Kernels: runtime/backends/gpu/ops/layer_norm.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

Status layer_norm_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const AxisSplit s = split(in[0].desc, attrs.norm.axis);
  const bool gamma = node.num_inputs > 1, beta = node.num_inputs > 2;
  Kernel call(p, "layer_norm_forward");
  call.tensor(in[0]).tensor(gamma ? in[1] : TensorView()).i(gamma).tensor(beta ? in[2] : TensorView()).i(beta);
  call.tensor(out[0]).i(s.outer).i(s.extent * s.inner).f(attrs.norm.epsilon);
  return call.launch(s.outer);
}

Status layer_norm_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const AxisSplit s = split(in[0].desc, attrs.norm.axis);
  const bool gamma = node.num_inputs > 1;
  int stats;
  PF_RETURN_IF_ERROR(scratch(p, 2 * s.outer, &stats));
  Kernel rows(p, "layer_norm_backward_rows");
  rows.tensor(in[0]).tensor(gamma ? in[1] : TensorView()).i(gamma).tensor(dout[0]).tensor(node.wanted(0) ? grad[0] : TensorView());
  rows.i(node.wanted(0)).scratch(stats).i(s.outer).i(s.extent * s.inner).f(attrs.norm.epsilon);
  PF_RETURN_IF_ERROR(rows.launch(s.outer));
  if (!node.wanted(1) && !node.wanted(2)) return Status::ok();
  Kernel params(p, "layer_norm_backward_params");
  params.tensor(in[0]).tensor(dout[0]).scratch(stats).tensor(node.wanted(1) ? grad[1] : TensorView()).i(node.wanted(1));
  params.tensor(node.wanted(2) ? grad[2] : TensorView()).i(node.wanted(2)).i(s.outer).i(s.extent * s.inner);
  return params.launch(s.extent * s.inner);
}

constexpr OpLowering kLayerNorm = [] {
  OpLowering l;
  l.forward = layer_norm_forward;
  l.backward = layer_norm_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::LayerNorm>() { return kLayerNorm; }

}  // namespace gpu
}  // namespace preflight
