// The GPU lowering of Transpose (ops/transpose.cc). Transpose, in 4-byte words so that one kernel
// moves every dtype (an 8-byte element is a trailing dim of 2 words).
// Kernels: runtime/backends/gpu/ops/transpose.cl (in the order of their arguments here).
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

// 4-byte words: an 8-byte element takes a dim of its own.
bool transpose_supports(const Model& model, const NodeInfo& node) {
  const TensorDesc& first = first_input(model, node);
  return node.backward ? first.dtype == DType::F32
                       : dtype_size(first.dtype) == 4 || (dtype_size(first.dtype) == 8 && first.rank < kMaxRank);
}

Status transpose_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const TensorDesc &x = in[0].desc, &y = out[0].desc;
  const int64_t words = static_cast<int64_t>(dtype_size(x.dtype) / 4);
  int64_t xs[kMaxRank];
  strides_of(x, xs);
  // In 4-byte words: an 8-byte element is a trailing dim of 2 that stays in place.
  std::vector<int> meta(13, 0);
  meta[0] = y.rank + (words > 1 ? 1 : 0);
  for (int d = 0; d < y.rank; ++d) {
    meta[1 + d] = static_cast<int>(y.dims[d]);
    meta[7 + d] = static_cast<int>(xs[attrs.transpose.perm[d]] * words);
  }
  if (words > 1) meta[1 + y.rank] = static_cast<int>(words), meta[7 + y.rank] = 1;
  int table = 0;
  PF_RETURN_IF_ERROR(int_table(p, meta, &table));
  Kernel call(p, "transpose_words");
  call.tensor(in[0]).tensor(out[0]).table(table).i(y.num_elements() * words);
  return call.launch(y.num_elements() * words);
}

Status transpose_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  if (!node.wanted(0)) return Status::ok();
  // dx = dy transposed back: x's element at coordinates c is dy's at c[perm[d]] along d.
  const TensorDesc &x = in[0].desc, &y = out[0].desc;
  int64_t ys[kMaxRank];
  strides_of(y, ys);
  int inverse[kMaxRank] = {0};
  for (int d = 0; d < y.rank; ++d) inverse[attrs.transpose.perm[d]] = d;
  std::vector<int> meta(13, 0);
  meta[0] = x.rank;
  for (int e = 0; e < x.rank; ++e) {
    meta[1 + e] = static_cast<int>(x.dims[e]);
    meta[7 + e] = static_cast<int>(ys[inverse[e]]);
  }
  int table = 0;
  PF_RETURN_IF_ERROR(int_table(p, meta, &table));
  Kernel call(p, "transpose_words");
  call.tensor(dout[0]).tensor(grad[0]).table(table).i(x.num_elements());
  return call.launch(x.num_elements());
}

constexpr OpLowering kTranspose = [] {
  OpLowering l;
  l.forward = transpose_forward;
  l.backward = transpose_backward;
  l.supports = transpose_supports;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::Transpose>() { return kTranspose; }

}  // namespace gpu
}  // namespace preflight
