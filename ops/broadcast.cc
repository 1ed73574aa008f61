#include "ops/broadcast.h"

namespace preflight {

Status broadcast_shapes(const TensorDesc& a, const TensorDesc& b, TensorDesc* out) {
  const int rank = a.rank > b.rank ? a.rank : b.rank;
  TensorDesc result;
  result.dtype = a.dtype;
  result.rank = rank;
  for (int i = 0; i < rank; ++i) {
    const int ia = i - (rank - a.rank);
    const int ib = i - (rank - b.rank);
    const int64_t da = ia >= 0 ? a.dims[ia] : 1;
    const int64_t db = ib >= 0 ? b.dims[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[96], sb[96];
      return Status::error(Error::kInvalidModel, "shapes %s and %s do not broadcast (dim %d: %lld vs %lld)",
                           describe(a, sa, sizeof sa), describe(b, sb, sizeof sb), i,
                           static_cast<long long>(da), static_cast<long long>(db));
    }
    result.dims[i] = da == 1 ? db : da;
  }
  *out = result;
  return Status::ok();
}

namespace {

// Row-major strides of `in` aligned to `out`'s rank, 0 along broadcast dims.
void broadcast_strides(const TensorDesc& out, const TensorDesc& in, int64_t* strides) {
  int64_t stride = 1;
  for (int i = out.rank - 1; i >= 0; --i) {
    const int j = i - (out.rank - in.rank);
    const int64_t dim = j >= 0 ? in.dims[j] : 1;
    strides[i] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
}

}  // namespace

BroadcastIndexer::BroadcastIndexer(const TensorDesc& out, const TensorDesc& a, const TensorDesc& b)
    : rank_(out.rank) {
  for (int i = 0; i < rank_; ++i) dims_[i] = out.dims[i];
  broadcast_strides(out, a, stride_a_);
  broadcast_strides(out, b, stride_b_);
}

void BroadcastIndexer::next() {
  for (int i = rank_ - 1; i >= 0; --i) {
    offset_a_ += stride_a_[i];
    offset_b_ += stride_b_[i];
    if (++counter_[i] < dims_[i]) return;
    offset_a_ -= stride_a_[i] * dims_[i];
    offset_b_ -= stride_b_[i] * dims_[i];
    counter_[i] = 0;
  }
}

}  // namespace preflight
