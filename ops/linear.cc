// Linear: y = x W^T + b, PyTorch's nn.Linear.
//
//   x: [..., in]   W: [out, in]   b: [out] (optional)   ->   y: [..., out]
#include "ops/op.h"

namespace preflight {
namespace {

enum { kInput = 0, kWeight = 1, kBias = 2 };

Status infer_linear(const OpAttrs&, const TensorDesc* in, int num_inputs, TensorDesc* out) {
  const TensorDesc& x = in[kInput];
  const TensorDesc& w = in[kWeight];
  PF_CHECK_DTYPE(x, DType::F32, kInput);
  PF_CHECK_DTYPE(w, DType::F32, kWeight);
  PF_CHECK(x.rank >= 1, Error::kInvalidModel, "input 0: expected rank >= 1, got rank 0");
  PF_CHECK_RANK(w, 2, kWeight);
  PF_CHECK(w.dims[1] == x.dims[x.rank - 1], Error::kInvalidModel,
           "input 1: weight is [out, in] = [%lld, %lld] but the input's last dim is %lld",
           static_cast<long long>(w.dims[0]), static_cast<long long>(w.dims[1]),
           static_cast<long long>(x.dims[x.rank - 1]));
  if (num_inputs > kBias) {
    PF_CHECK_DTYPE(in[kBias], DType::F32, kBias);
    PF_CHECK(in[kBias].rank == 1 && in[kBias].dims[0] == w.dims[0], Error::kInvalidModel,
             "input 2: bias must be [%lld]", static_cast<long long>(w.dims[0]));
  }
  out[0] = x;
  out[0].dims[x.rank - 1] = w.dims[0];
  return Status::ok();
}

Status linear_forward(const OpAttrs&, const TensorView* in, int num_inputs, TensorView* out) {
  const float* x = in[kInput].f32();
  const float* w = in[kWeight].f32();
  const float* b = num_inputs > kBias ? in[kBias].f32() : nullptr;
  float* y = out[0].f32();
  const int64_t n_in = in[kWeight].desc.dims[1];
  const int64_t n_out = in[kWeight].desc.dims[0];
  const int64_t rows = in[kInput].desc.num_elements() / (n_in > 0 ? n_in : 1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x_row = x + r * n_in;
    for (int64_t o = 0; o < n_out; ++o) {
      // Double accumulation: the reference backend is the source of truth other backends match.
      double acc = b ? b[o] : 0.0;
      const float* w_row = w + o * n_in;
      for (int64_t i = 0; i < n_in; ++i) acc += static_cast<double>(x_row[i]) * w_row[i];
      y[r * n_out + o] = static_cast<float>(acc);
    }
  }
  return Status::ok();
}

// Differentiates y[r, o] = b[o] + sum_i x[r, i] W[o, i]:
//   dx[r, i] += sum_o dy[r, o] W[o, i]    dW[o, i] += sum_r dy[r, o] x[r, i]    db[o] += sum_r dy[r, o]
Status linear_backward(const OpAttrs&, const TensorView* in, int num_inputs, const TensorView*,
                       const TensorView* out_grad, TensorView* in_grad) {
  const float* x = in[kInput].f32();
  const float* w = in[kWeight].f32();
  const float* dy = out_grad[0].f32();
  float* dx = in_grad[kInput].f32();
  float* dw = in_grad[kWeight].f32();
  float* db = num_inputs > kBias ? in_grad[kBias].f32() : nullptr;
  const int64_t n_in = in[kWeight].desc.dims[1];
  const int64_t n_out = in[kWeight].desc.dims[0];
  const int64_t rows = n_in > 0 ? in[kInput].desc.num_elements() / n_in : 0;
  if (dx) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < n_in; ++i) {
        double acc = 0.0;
        for (int64_t o = 0; o < n_out; ++o) acc += static_cast<double>(dy[r * n_out + o]) * w[o * n_in + i];
        dx[r * n_in + i] += static_cast<float>(acc);
      }
    }
  }
  for (int64_t o = 0; o < n_out; ++o) {
    if (dw) {
      for (int64_t i = 0; i < n_in; ++i) {
        double acc = 0.0;
        for (int64_t r = 0; r < rows; ++r) acc += static_cast<double>(dy[r * n_out + o]) * x[r * n_in + i];
        dw[o * n_in + i] += static_cast<float>(acc);
      }
    }
    if (db) {
      double acc = 0.0;
      for (int64_t r = 0; r < rows; ++r) acc += dy[r * n_out + o];
      db[o] += static_cast<float>(acc);
    }
  }
  return Status::ok();
}

}  // namespace

template <>
const OpDef& op_def<OpType::Linear>() {
  static constexpr OpDef def = [] {
    OpDef d(OpType::Linear);
    d.min_inputs = 2;
    d.max_inputs = 3;
    d.infer = infer_linear;
    d.forward = linear_forward;
    d.backward = PF_BACKWARD(linear_backward);
    return d;
  }();
  return def;
}

}  // namespace preflight
