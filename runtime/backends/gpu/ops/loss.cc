// The GPU lowering of SoftmaxCrossEntropy, MseLoss (ops/loss.cc). The losses: softmax cross-entropy
// (labels out of range are flagged in the status word) and MSE, reduced with reduce_sum.
// Kernels: runtime/backends/gpu/ops/loss.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

int reduction_code(fb::Reduction reduction) {
  return reduction == fb::Reduction::None ? 0 : reduction == fb::Reduction::Sum ? 1 : 2;
}

// The labels are i64 or i32.
bool cross_entropy_supports(const Model& model, const NodeInfo& node) { return first_input(model, node).dtype == DType::F32; }

// The loss from its `count` per-element terms in scratch buffer `terms`: their sum, or their
// mean for Reduction::Mean (reduce_sum over a scratch buffer).
Status reduce_terms(Lowered* p, int terms, int64_t count, fb::Reduction reduction, const TensorView& loss) {
  const float scale = reduction == fb::Reduction::Mean && count ? 1.0f / static_cast<float>(count) : 1.0f;
  Kernel sum(p, "reduce_sum");
  sum.scratch(terms).tensor(loss).i(count).f(scale).i(0).i(0);
  return sum.launch_group(kReduceGroup);
}

Status softmax_cross_entropy_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const int index = node.index;
  const int64_t rows = in[0].desc.dims[0], classes = in[0].desc.dims[1];
  const bool none = attrs.loss.reduction == fb::Reduction::None;
  int losses;
  if (!none) PF_RETURN_IF_ERROR(scratch(p, rows, &losses));
  Kernel call(p, "cross_entropy_rows");
  call.tensor(in[0]).tensor(in[1]).i(in[1].desc.dtype == DType::I64);
  if (none) {
    call.tensor(out[0]);
  } else {
    call.scratch(losses);
  }
  call.i(rows).i(classes).status().i(index);
  PF_RETURN_IF_ERROR(call.launch(rows));
  if (none) return Status::ok();
  return reduce_terms(p, losses, rows, attrs.loss.reduction, out[0]);
}

Status softmax_cross_entropy_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const int index = node.index;
  if (!node.wanted(0)) return Status::ok();
  const int64_t rows = in[0].desc.dims[0], classes = in[0].desc.dims[1];
  Kernel call(p, "cross_entropy_backward");
  call.tensor(in[0]).tensor(in[1]).i(in[1].desc.dtype == DType::I64).tensor(dout[0]).tensor(grad[0]).i(rows).i(classes);
  call.i(reduction_code(attrs.loss.reduction)).status().i(index);
  return call.launch(rows);
}

Status mse_loss_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const int64_t count = in[0].desc.num_elements();
  const bool none = attrs.loss.reduction == fb::Reduction::None;
  int squares;
  if (!none) PF_RETURN_IF_ERROR(scratch(p, count, &squares));
  Kernel call(p, "squared_difference");
  call.tensor(in[0]).tensor(in[1]);
  if (none) {
    call.tensor(out[0]);
  } else {
    call.scratch(squares);
  }
  call.i(count);
  PF_RETURN_IF_ERROR(call.launch(count));
  if (none) return Status::ok();
  return reduce_terms(p, squares, count, attrs.loss.reduction, out[0]);
}

Status mse_loss_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  if (!node.wanted(0) && !node.wanted(1)) return Status::ok();
  Kernel call(p, "mse_backward");
  call.tensor(in[0]).tensor(in[1]).tensor(dout[0]).tensor(node.wanted(0) ? grad[0] : TensorView()).i(node.wanted(0));
  call.tensor(node.wanted(1) ? grad[1] : TensorView()).i(node.wanted(1)).i(in[0].desc.num_elements());
  call.i(reduction_code(attrs.loss.reduction));
  return call.launch(in[0].desc.num_elements());
}

constexpr OpLowering kSoftmaxCrossEntropy = [] {
  OpLowering l;
  l.forward = softmax_cross_entropy_forward;
  l.backward = softmax_cross_entropy_backward;
  l.supports = cross_entropy_supports;
  return l;
}();

constexpr OpLowering kMseLoss = [] {
  OpLowering l;
  l.forward = mse_loss_forward;
  l.backward = mse_loss_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::SoftmaxCrossEntropy>() { return kSoftmaxCrossEntropy; }
template <>
const OpLowering& op_lowering<OpType::MseLoss>() { return kMseLoss; }

}  // namespace gpu
}  // namespace preflight
