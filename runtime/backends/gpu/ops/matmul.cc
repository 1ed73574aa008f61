// The GPU lowering of MatMul (ops/matmul.cc). MatMul with NumPy broadcasting over the batch dims,
// as Gemm steps of one term per output matrix; its backward sums the terms that read the same
// operand matrix.
// Kernels: the shared gemm and column_sums (runtime/backends/gpu/kernels_common.cl).
#include "ops/broadcast.h"
#include "runtime/backends/gpu/lower.h"

namespace preflight {
namespace gpu {
namespace {

// MatMul's batch: for output batch j, the A and B matrix indices (NumPy broadcasting).
void matmul_batches(const TensorDesc& a, const TensorDesc& b, const TensorDesc& y, std::vector<int64_t>* ia,
                    std::vector<int64_t>* ib) {
  TensorDesc batch_y = y, batch_a = a, batch_b = b;
  batch_y.rank -= 2;
  batch_a.rank -= 2;
  batch_b.rank -= 2;
  BroadcastIndexer index(batch_y, batch_a, batch_b);
  const int64_t batches = batch_y.num_elements();
  for (int64_t j = 0; j < batches; ++j, index.next()) {
    ia->push_back(index.offset_a());
    ib->push_back(index.offset_b());
  }
}

Status mat_mul_forward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const OpAttrs& attrs = node.attrs;
  const TensorDesc &a = in[0].desc, &b = in[1].desc, &y = out[0].desc;
  const bool ta = attrs.matmul.transpose_a, tb = attrs.matmul.transpose_b;
  const int64_t m = y.dims[y.rank - 2], n = y.dims[y.rank - 1], k = ta ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
  std::vector<int64_t> ia, ib;
  matmul_batches(a, b, y, &ia, &ib);
  Gemm g = single(m, n, k, ta ? 1 : k, ta ? m : 1, tb ? 1 : n, tb ? k : 1);
  g.terms.clear();
  for (size_t j = 0; j < ia.size(); ++j) g.terms.push_back({{ia[j] * m * k, ib[j] * k * n}});
  return gemm(p, in[0], in[1], out[0], nullptr, g);
}

Status mat_mul_backward(const GpuNode& node, Lowered* p) {
  const TensorView* in = node.in;
  const TensorView* out = node.out;
  const TensorView* dout = node.dout;
  const TensorView* grad = node.grad;
  const OpAttrs& attrs = node.attrs;
  const TensorDesc &a = in[0].desc, &b = in[1].desc, &y = out[0].desc;
  const bool ta = attrs.matmul.transpose_a, tb = attrs.matmul.transpose_b;
  const int64_t m = y.dims[y.rank - 2], n = y.dims[y.rank - 1], k = ta ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
  std::vector<int64_t> ia, ib;
  matmul_batches(a, b, y, &ia, &ib);
  if (node.wanted(0)) {
    // dA' = dY B'^T, summed over the batches that read the same A.
    TensorDesc batch_a = a;
    batch_a.rank -= 2;
    Gemm g;
    g.terms.assign(static_cast<size_t>(batch_a.num_elements()), {});
    if (!ta) {  // dA [m, k]: dY (m x n) times B'^T (n x k)
      g = single(m, k, n, n, 1, tb ? k : 1, tb ? 1 : n);
      g.terms.assign(static_cast<size_t>(batch_a.num_elements()), {});
      for (size_t j = 0; j < ia.size(); ++j) g.terms[static_cast<size_t>(ia[j])].push_back({static_cast<int64_t>(j) * m * n, ib[j] * k * n});
      PF_RETURN_IF_ERROR(gemm(p, dout[0], in[1], grad[0], nullptr, g));
    } else {  // dA stored [k, m]: B' (k x n) times dY^T (n x m)
      g = single(k, m, n, tb ? 1 : n, tb ? k : 1, 1, n);
      g.terms.assign(static_cast<size_t>(batch_a.num_elements()), {});
      for (size_t j = 0; j < ia.size(); ++j) g.terms[static_cast<size_t>(ia[j])].push_back({ib[j] * k * n, static_cast<int64_t>(j) * m * n});
      PF_RETURN_IF_ERROR(gemm(p, in[1], dout[0], grad[0], nullptr, g));
    }
  }
  if (node.wanted(1)) {
    TensorDesc batch_b = b;
    batch_b.rank -= 2;
    Gemm g;
    if (!tb) {  // dB [k, n]: A'^T (k x m) times dY (m x n)
      g = single(k, n, m, ta ? m : 1, ta ? 1 : k, n, 1);
      g.terms.assign(static_cast<size_t>(batch_b.num_elements()), {});
      for (size_t j = 0; j < ib.size(); ++j) g.terms[static_cast<size_t>(ib[j])].push_back({ia[j] * m * k, static_cast<int64_t>(j) * m * n});
      PF_RETURN_IF_ERROR(gemm(p, in[0], dout[0], grad[1], nullptr, g));
    } else {  // dB stored [n, k]: dY^T (n x m) times A' (m x k)
      g = single(n, k, m, 1, n, ta ? 1 : k, ta ? m : 1);
      g.terms.assign(static_cast<size_t>(batch_b.num_elements()), {});
      for (size_t j = 0; j < ib.size(); ++j) g.terms[static_cast<size_t>(ib[j])].push_back({static_cast<int64_t>(j) * m * n, ia[j] * m * k});
      PF_RETURN_IF_ERROR(gemm(p, dout[0], in[0], grad[1], nullptr, g));
    }
  }
  return Status::ok();
}

constexpr OpLowering kMatMul = [] {
  OpLowering l;
  l.forward = mat_mul_forward;
  l.backward = mat_mul_backward;
  return l;
}();

}  // namespace

template <>
const OpLowering& op_lowering<OpType::MatMul>() { return kMatMul; }

}  // namespace gpu
}  // namespace preflight
