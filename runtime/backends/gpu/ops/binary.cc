// The GPU lowering of Add, Sub, Mul, Div (ops/binary.cc). Add, Sub, Mul and Div with NumPy
// broadcasting; the backward reduces over the broadcast dims.
// Kernels: runtime/backends/gpu/ops/binary.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

int binary_code(OpType op) {
  switch (op) {
    case OpType::Add: return 0;
    case OpType::Sub: return 1;
    case OpType::Mul: return 2;
    default: return 3;
  }
}

// The strides of `desc` seen in the rank of `out` (aligned at the right; 0 where it broadcasts).
void broadcast_strides(const TensorDesc& desc, const TensorDesc& out, int64_t* strides) {
  int64_t own[kMaxRank];
  strides_of(desc, own);
  for (int d = 0; d < out.rank; ++d) {
    const int at = d - (out.rank - desc.rank);
    strides[d] = at < 0 || desc.dims[at] == 1 ? 0 : own[at];
  }
}

// The binary_backward table for the gradient of `target` (a or b).
std::vector<int> binary_gradient_table(const TensorDesc& a, const TensorDesc& b, const TensorDesc& y, const TensorDesc& target) {
  int64_t ys[kMaxRank], as[kMaxRank], bs[kMaxRank], ts[kMaxRank];
  strides_of(y, ys);
  broadcast_strides(a, y, as);
  broadcast_strides(b, y, bs);
  broadcast_strides(target, y, ts);
  std::vector<int> keep(25, 0), reduce(25, 0);
  for (int d = 0; d < y.rank; ++d) {
    std::vector<int>& part = ts[d] != 0 || y.dims[d] == 1 ? keep : reduce;
    const int slot = part[0]++;
    part[1 + slot] = static_cast<int>(y.dims[d]);
    part[7 + slot] = static_cast<int>(ys[d]);
    part[13 + slot] = static_cast<int>(as[d]);
    part[19 + slot] = static_cast<int>(bs[d]);
  }
  keep.insert(keep.end(), reduce.begin(), reduce.end());
  return keep;
}

Status binary_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpType op = node.op;
  const TensorDesc& y = out[0].desc;
  int64_t as[kMaxRank], bs[kMaxRank];
  broadcast_strides(in[0].desc, y, as);
  broadcast_strides(in[1].desc, y, bs);
  std::vector<int> meta(19, 0);
  meta[0] = y.rank;
  for (int d = 0; d < y.rank; ++d) {
    meta[1 + d] = static_cast<int>(y.dims[d]);
    meta[7 + d] = static_cast<int>(as[d]);
    meta[13 + d] = static_cast<int>(bs[d]);
  }
  int table = 0;
  PF_RETURN_IF_ERROR(int_table(p, meta, &table));
  Kernel call(p, "binary_forward");
  call.tensor(in[0]).tensor(in[1]).tensor(out[0]).table(table).i(y.num_elements()).i(binary_code(op));
  return call.launch(y.num_elements());
}

Status binary_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpType op = node.op;
  for (int which = 0; which < 2; ++which) {
    if (!node.wanted(which)) continue;
    int table = 0;
    PF_RETURN_IF_ERROR(int_table(p, binary_gradient_table(in[0].desc, in[1].desc, out[0].desc, in[which].desc), &table));
    Kernel call(p, "binary_backward");
    call.tensor(in[0]).tensor(in[1]).tensor(dout[0]).tensor(grad[which]).table(table);
    call.i(in[which].desc.num_elements()).i(binary_code(op)).i(which);
    PF_RETURN_IF_ERROR(call.launch(in[which].desc.num_elements()));
  }
  return Status::ok();
}

constexpr OpLowering kBinary = [] {
  OpLowering l;
  l.forward = binary_forward;
  l.backward = binary_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Add>() { return kBinary; }
template <>
const OpLowering& op_lowering<OpType::Sub>() { return kBinary; }
template <>
const OpLowering& op_lowering<OpType::Mul>() { return kBinary; }
template <>
const OpLowering& op_lowering<OpType::Div>() { return kBinary; }

}  // namespace gpu
}  // namespace preflight
