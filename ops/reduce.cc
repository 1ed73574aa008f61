// Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceL2 (sqrt of the sum of squares)
// over the dims whose bit is set in `axes`, kept as dims of 1 (keep_dims) or dropped.
//
//   x: any shape, f32   ->   y: x's dims with the reduced ones 1 or removed
#include <cmath>

#include "ops/op.h"

namespace preflight {
namespace {

Status infer_reduce(const OpAttrs& attrs, const TensorDesc* in, int, TensorDesc* out) {
  const TensorDesc& x = in[0];
  PF_CHECK_DTYPE(x, DType::F32, 0);
  PF_CHECK((attrs.reduce.axes >> x.rank) == 0, Error::kInvalidModel,
           "reduced axes 0x%x name a dim at or past the input's rank %d", attrs.reduce.axes, x.rank);
  TensorDesc y = x;
  y.rank = 0;
  for (int d = 0; d < x.rank; ++d) {
    const bool reduced = (attrs.reduce.axes >> d) & 1u;
    PF_CHECK(!reduced || x.dims[d] > 0, Error::kInvalidModel, "dim %d reduced has no elements", d);
    if (!reduced) {
      y.dims[y.rank++] = x.dims[d];
    } else if (attrs.reduce.keep_dims) {
      y.dims[y.rank++] = 1;
    }
  }
  out[0] = y;
  return Status::ok();
}

// The input split into the dims kept (one output element per index) and the dims reduced (the
// elements of one output), each with its extents and input strides, innermost last.
struct ReducePlan {
  int kept = 0, reduced = 0;
  int64_t kept_dims[kMaxRank] = {0}, kept_strides[kMaxRank] = {0};
  int64_t reduced_dims[kMaxRank] = {0}, reduced_strides[kMaxRank] = {0};
  int64_t count = 1;  // elements per output

  ReducePlan(const TensorDesc& x, uint32_t axes) {
    int64_t stride = 1;
    int64_t strides[kMaxRank] = {0};
    for (int d = x.rank - 1; d >= 0; --d) strides[d] = stride, stride *= x.dims[d];
    for (int d = 0; d < x.rank; ++d) {
      if ((axes >> d) & 1u) {
        reduced_dims[reduced] = x.dims[d], reduced_strides[reduced++] = strides[d];
        count *= x.dims[d];
      } else {
        kept_dims[kept] = x.dims[d], kept_strides[kept++] = strides[d];
      }
    }
  }
  // Input offset of output element `o`'s first element, and of the r-th element of an output.
  int64_t base(int64_t o) const { return offset(o, kept, kept_dims, kept_strides); }
  int64_t step(int64_t r) const { return offset(r, reduced, reduced_dims, reduced_strides); }

 private:
  static int64_t offset(int64_t index, int rank, const int64_t* dims, const int64_t* strides) {
    int64_t at = 0;
    for (int d = rank - 1; d >= 0; --d) at += (index % dims[d]) * strides[d], index /= dims[d];
    return at;
  }
};

Status reduce_forward(OpType op, const OpAttrs& attrs, const TensorView* in, TensorView* out) {
  const ReducePlan plan(in[0].desc, attrs.reduce.axes);
  const float* x = in[0].f32();
  float* y = out[0].f32();
  const int64_t outputs = out[0].desc.num_elements();
  for (int64_t o = 0; o < outputs; ++o) {
    const float* group = x + plan.base(o);
    double acc = op == OpType::ReduceMax || op == OpType::ReduceMin ? group[0] : 0.0;
    for (int64_t r = 0; r < plan.count; ++r) {
      const double v = group[plan.step(r)];
      switch (op) {
        case OpType::ReduceMax: acc = std::isnan(v) || v > acc ? v : acc; break;  // NaN propagates, as torch.amax
        case OpType::ReduceMin: acc = std::isnan(v) || v < acc ? v : acc; break;
        case OpType::ReduceL2: acc += v * v; break;
        default: acc += v;  // ReduceMean, ReduceSum
      }
      if (std::isnan(acc) && (op == OpType::ReduceMax || op == OpType::ReduceMin)) break;
    }
    if (op == OpType::ReduceMean) acc /= static_cast<double>(plan.count);
    if (op == OpType::ReduceL2) acc = std::sqrt(acc);
    y[o] = static_cast<float>(acc);
  }
  return Status::ok();
}

// dx += dy times: 1 / count (mean), 1 (sum), x / y (L2; 0 where y is 0), and for max and min the
// gradient shared evenly by the elements equal to the result (torch.amax's rule for ties).
Status reduce_backward(OpType op, const OpAttrs& attrs, const TensorView* in, const TensorView* out,
                       const TensorView* dy, TensorView* dx) {
  float* grad = dx[0].f32();
  if (!grad) return Status::ok();
  const ReducePlan plan(in[0].desc, attrs.reduce.axes);
  const float* x = in[0].f32();
  const int64_t outputs = out[0].desc.num_elements();
  for (int64_t o = 0; o < outputs; ++o) {
    const int64_t base = plan.base(o);
    const double g = dy[0].f32()[o], result = out[0].f32()[o];
    double share = g;
    if (op == OpType::ReduceMean) share = g / static_cast<double>(plan.count);
    if (op == OpType::ReduceMax || op == OpType::ReduceMin) {
      int64_t ties = 0;
      for (int64_t r = 0; r < plan.count; ++r) ties += x[base + plan.step(r)] == result ? 1 : 0;
      share = ties ? g / static_cast<double>(ties) : 0.0;
    }
    for (int64_t r = 0; r < plan.count; ++r) {
      const int64_t at = base + plan.step(r);
      switch (op) {
        case OpType::ReduceMax:
        case OpType::ReduceMin: grad[at] += x[at] == result ? static_cast<float>(share) : 0.0f; break;
        case OpType::ReduceL2: grad[at] += result != 0.0 ? static_cast<float>(g * x[at] / result) : 0.0f; break;
        default: grad[at] += static_cast<float>(share);
      }
    }
  }
  return Status::ok();
}

template <OpType kOp>
Status forward(const OpAttrs& attrs, const TensorView* in, int, TensorView* out) {
  return reduce_forward(kOp, attrs, in, out);
}

template <OpType kOp>
Status backward(const OpAttrs& attrs, const TensorView* in, int, const TensorView* out, const TensorView* dy,
                TensorView* dx) {
  return reduce_backward(kOp, attrs, in, out, dy, dx);
}

template <OpType kOp>
constexpr OpDef reduce_def() {
  OpDef d(kOp);
  d.attrs_kind = fb::Attrs::ReduceAttrs;
  d.attrs_required = true;
  d.infer = infer_reduce;
  d.forward = forward<kOp>;
  d.backward = PF_BACKWARD(backward<kOp>);
  return d;
}

}  // namespace

template <>
const OpDef& op_def<OpType::ReduceMean>() {
  static constexpr OpDef def = reduce_def<OpType::ReduceMean>();
  return def;
}
template <>
const OpDef& op_def<OpType::ReduceSum>() {
  static constexpr OpDef def = reduce_def<OpType::ReduceSum>();
  return def;
}
template <>
const OpDef& op_def<OpType::ReduceMax>() {
  static constexpr OpDef def = reduce_def<OpType::ReduceMax>();
  return def;
}
template <>
const OpDef& op_def<OpType::ReduceMin>() {
  static constexpr OpDef def = reduce_def<OpType::ReduceMin>();
  return def;
}
template <>
const OpDef& op_def<OpType::ReduceL2>() {
  static constexpr OpDef def = reduce_def<OpType::ReduceL2>();
  return def;
}

}  // namespace preflight
