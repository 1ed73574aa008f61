// The GPU lowering of Linear (ops/linear.cc). Linear: y = x W^T + b as a Gemm step; its backward,
// two Gemms and the bias column sums.
// Kernels: the shared gemm and column_sums (runtime/backends/gpu/kernels_common.cl).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

Status linear_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const int64_t k = in[1].desc.dims[1], o = in[1].desc.dims[0];
  const int64_t rows = k ? in[0].desc.num_elements() / k : 0;
  return gemm(p, in[0], in[1], out[0], node.num_inputs > 2 ? &in[2] : nullptr, single(rows, o, k, k, 1, 1, k));
}

Status linear_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const int64_t k = in[1].desc.dims[1], o = in[1].desc.dims[0];
  const int64_t rows = k ? in[0].desc.num_elements() / k : 0;
  if (node.wanted(0)) PF_RETURN_IF_ERROR(gemm(p, dout[0], in[1], grad[0], nullptr, single(rows, k, o, o, 1, k, 1)));
  if (node.wanted(1)) PF_RETURN_IF_ERROR(gemm(p, dout[0], in[0], grad[1], nullptr, single(o, k, rows, 1, o, k, 1)));
  if (node.wanted(2)) PF_RETURN_IF_ERROR(column_sums(p, dout[0], grad[2], rows, o));
  return Status::ok();
}

constexpr OpLowering kLinear = [] {
  OpLowering l;
  l.forward = linear_forward;
  l.backward = linear_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Linear>() { return kLinear; }

}  // namespace gpu
}  // namespace preflight
