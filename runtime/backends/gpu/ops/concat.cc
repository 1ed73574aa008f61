// The GPU lowering of Concat (ops/concat.cc). Concat on any axis, one slice copy per input, in
// 4-byte words; the backward copies the slices back.
// Kernels: runtime/backends/gpu/ops/concat.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

bool concat_supports(const Model& model, const NodeInfo& node) {
  const TensorDesc& first = first_input(model, node);
  return node.backward ? first.dtype == DType::F32 : dtype_size(first.dtype) % 4 == 0;
}

Status concat_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const TensorDesc& y = out[0].desc;
  const AxisSplit s = split(y, attrs.axis.axis);
  const int64_t words = static_cast<int64_t>(dtype_size(y.dtype) / 4);
  int64_t column = 0;
  for (int i = 0; i < node.num_inputs; ++i) {
    const int64_t in_row = in[i].desc.dims[s.axis] * s.inner * words;
    Kernel call(p, "concat_slice");
    call.tensor(in[i]).tensor(out[0]).i(s.outer).i(in_row).i(s.extent * s.inner * words).i(column).i(0);
    PF_RETURN_IF_ERROR(call.launch(s.outer * in_row));
    column += in_row;
  }
  return Status::ok();
}

Status concat_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const TensorDesc& y = out[0].desc;
  const AxisSplit s = split(y, attrs.axis.axis);
  int64_t column = 0;
  for (int i = 0; i < node.num_inputs; ++i) {
    const int64_t in_row = in[i].desc.dims[s.axis] * s.inner;
    if (node.wanted(i)) {
      Kernel call(p, "concat_slice");
      call.tensor(grad[i]).tensor(dout[0]).i(s.outer).i(in_row).i(s.extent * s.inner).i(column).i(1);
      PF_RETURN_IF_ERROR(call.launch(s.outer * in_row));
    }
    column += in_row;
  }
  return Status::ok();
}

constexpr OpLowering kConcat = [] {
  OpLowering l;
  l.forward = concat_forward;
  l.backward = concat_backward;
  l.supports = concat_supports;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Concat>() { return kConcat; }

}  // namespace gpu
}  // namespace preflight
