// The GPU lowering of ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceL2 (ops/reduce.cc): one
// work item per output element walks the elements it reduces (forward) or writes their gradients
// (backward; each input element belongs to one output, so the writes never overlap).
// Kernels: runtime/backends/gpu/ops/reduce.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

int reduce_code(OpType op) {
  switch (op) {
    case OpType::ReduceMean: return 0;
    case OpType::ReduceSum: return 1;
    case OpType::ReduceMax: return 2;
    case OpType::ReduceMin: return 3;
    default: return 4;  // ReduceL2
  }
}

// meta: kept rank, kept dims (6), their input strides (6), reduced rank, reduced dims (6), their
// input strides (6), elements per output.
Status reduce_meta(const TensorDesc& x, uint32_t axes, Lowered* p, int* table) {
  int64_t strides[kMaxRank];
  strides_of(x, strides);
  std::vector<int> meta(27, 0);
  int64_t count = 1;
  for (int d = 0; d < x.rank; ++d) {
    const bool reduced = (axes >> d) & 1u;
    int& rank = meta[reduced ? 13 : 0];
    const int base = reduced ? 13 : 0;
    meta[base + 1 + rank] = static_cast<int>(x.dims[d]);
    meta[base + 7 + rank] = static_cast<int>(strides[d]);
    ++rank;
    if (reduced) count *= x.dims[d];
  }
  meta[26] = static_cast<int>(count);
  return int_table(p, meta, table);
}

Status reduce_forward(const GpuNode& node, Lowered* p) {
  int table = 0;
  PF_RETURN_IF_ERROR(reduce_meta(node.in[0].desc, node.attrs.reduce.axes, p, &table));
  const int64_t outputs = node.out[0].desc.num_elements();
  Kernel call(p, "reduce_forward");
  call.tensor(node.in[0]).tensor(node.out[0]).table(table).i(outputs).i(reduce_code(node.op));
  return call.launch(outputs);
}

Status reduce_backward(const GpuNode& node, Lowered* p) {
  if (!node.wanted(0)) return Status::ok();
  int table = 0;
  PF_RETURN_IF_ERROR(reduce_meta(node.in[0].desc, node.attrs.reduce.axes, p, &table));
  const int64_t outputs = node.out[0].desc.num_elements();
  Kernel call(p, "reduce_backward");
  call.tensor(node.in[0]).tensor(node.out[0]).tensor(node.dout[0]).tensor(node.grad[0]).table(table).i(outputs);
  call.i(reduce_code(node.op));
  return call.launch(outputs);
}

constexpr OpLowering kReduce = [] {
  OpLowering l;
  l.forward = reduce_forward;
  l.backward = reduce_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::ReduceMean>() { return kReduce; }
template <>
const OpLowering& op_lowering<OpType::ReduceSum>() { return kReduce; }
template <>
const OpLowering& op_lowering<OpType::ReduceMax>() { return kReduce; }
template <>
const OpLowering& op_lowering<OpType::ReduceMin>() { return kReduce; }
template <>
const OpLowering& op_lowering<OpType::ReduceL2>() { return kReduce; }

}  // namespace gpu
}  // namespace preflight
