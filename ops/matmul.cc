// MatMul: batched matrix product with NumPy broadcasting of the batch dims.
//
//   A: [..., M, K] ([..., K, M] with transpose_a)   B: [..., K, N] ([..., N, K] with transpose_b)
//   -> Y: [broadcast(...), M, N]
#include "ops/broadcast.h"
#include "ops/op.h"

namespace preflight {
namespace {

enum { kA = 0, kB = 1 };

Status infer_matmul(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const TensorDesc& a = in[kA];
  const TensorDesc& b = in[kB];
  PF_CHECK_DTYPE(a, DType::F32, kA);
  PF_CHECK_DTYPE(b, DType::F32, kB);
  PF_CHECK(a.rank >= 2 && b.rank >= 2, Error::kInvalidModel,
           "inputs must have rank >= 2, got ranks %d and %d", a.rank, b.rank);
  const int64_t m = attrs.matmul.transpose_a ? a.dims[a.rank - 1] : a.dims[a.rank - 2];
  const int64_t k_a = attrs.matmul.transpose_a ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
  const int64_t k_b = attrs.matmul.transpose_b ? b.dims[b.rank - 1] : b.dims[b.rank - 2];
  const int64_t n = attrs.matmul.transpose_b ? b.dims[b.rank - 2] : b.dims[b.rank - 1];
  PF_CHECK(k_a == k_b, Error::kInvalidModel, "inner dims differ: A has K=%lld, B has K=%lld",
           static_cast<long long>(k_a), static_cast<long long>(k_b));
  TensorDesc batch_a = a, batch_b = b;
  batch_a.rank -= 2;
  batch_b.rank -= 2;
  PF_RETURN_IF_ERROR(broadcast_shapes(batch_a, batch_b, &out[0]));
  PF_CHECK(out[0].rank + 2 <= kMaxRank, Error::kInvalidModel, "output rank above %d", kMaxRank);
  out[0].dtype = DType::F32;
  out[0].dims[out[0].rank++] = m;
  out[0].dims[out[0].rank++] = n;
  return Status::ok();
}

Status matmul_forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  const TensorDesc& a = in[kA].desc;
  const TensorDesc& b = in[kB].desc;
  const TensorDesc& y = out[0].desc;
  const int64_t m = y.dims[y.rank - 2];
  const int64_t n = y.dims[y.rank - 1];
  const int64_t k = attrs.matmul.transpose_a ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
  // Strides of one matrix step along each output batch dim (0 where broadcast).
  TensorDesc batch_y = y, batch_a = a, batch_b = b;
  batch_y.rank -= 2;
  batch_a.rank -= 2;
  batch_b.rank -= 2;
  BroadcastIndexer index(batch_y, batch_a, batch_b);
  const int64_t batches = batch_y.num_elements();
  const int64_t a_matrix = m * k, b_matrix = k * n;
  for (int64_t batch = 0; batch < batches; ++batch, index.next()) {
    const float* a_data = in[kA].f32() + index.offset_a() * a_matrix;
    const float* b_data = in[kB].f32() + index.offset_b() * b_matrix;
    float* y_data = out[0].f32() + batch * m * n;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int64_t p = 0; p < k; ++p) {
          const float a_ip = attrs.matmul.transpose_a ? a_data[p * m + i] : a_data[i * k + p];
          const float b_pj = attrs.matmul.transpose_b ? b_data[j * k + p] : b_data[p * n + j];
          acc += static_cast<double>(a_ip) * b_pj;
        }
        y_data[i * n + j] = static_cast<float>(acc);
      }
    }
  }
  return Status::ok();
}

// Differentiates Y = A' B' (A' = A or A^T, B' likewise) per batch: dA' += dY B'^T, dB' += A'^T dY.
// Batches that broadcast a matrix add into the same gradient matrix, which sums them.
Status matmul_backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out,
                       const TensorView* out_grad, TensorView* in_grad) {
  const TensorDesc& a = in[kA].desc;
  const TensorDesc& b = in[kB].desc;
  const TensorDesc& y = out[0].desc;
  const int64_t m = y.dims[y.rank - 2];
  const int64_t n = y.dims[y.rank - 1];
  const int64_t k = attrs.matmul.transpose_a ? a.dims[a.rank - 2] : a.dims[a.rank - 1];
  const bool ta = attrs.matmul.transpose_a, tb = attrs.matmul.transpose_b;
  TensorDesc batch_y = y, batch_a = a, batch_b = b;
  batch_y.rank -= 2;
  batch_a.rank -= 2;
  batch_b.rank -= 2;
  BroadcastIndexer index(batch_y, batch_a, batch_b);
  const int64_t batches = batch_y.num_elements();
  for (int64_t batch = 0; batch < batches; ++batch, index.next()) {
    const float* a_data = in[kA].f32() + index.offset_a() * m * k;
    const float* b_data = in[kB].f32() + index.offset_b() * k * n;
    const float* dy = out_grad[0].f32() + batch * m * n;
    float* da = in_grad[kA].data ? in_grad[kA].f32() + index.offset_a() * m * k : nullptr;
    float* db = in_grad[kB].data ? in_grad[kB].f32() + index.offset_b() * k * n : nullptr;
    for (int64_t i = 0; i < m && da; ++i) {
      for (int64_t p = 0; p < k; ++p) {
        double acc = 0.0;
        for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(dy[i * n + j]) * (tb ? b_data[j * k + p] : b_data[p * n + j]);
        (ta ? da[p * m + i] : da[i * k + p]) += static_cast<float>(acc);
      }
    }
    for (int64_t p = 0; p < k && db; ++p) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int64_t i = 0; i < m; ++i) acc += static_cast<double>(ta ? a_data[p * m + i] : a_data[i * k + p]) * dy[i * n + j];
        (tb ? db[j * k + p] : db[p * n + j]) += static_cast<float>(acc);
      }
    }
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::MatMul>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::MatMul);
    d.min_inputs = 2;
    d.max_inputs = 2;
    d.attrs_kind = fb::Attrs::MatMulAttrs;
    d.infer = infer_matmul;
    d.forward = matmul_forward;
    d.backward = PF_BACKWARD(matmul_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
