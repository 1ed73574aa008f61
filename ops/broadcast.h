// NumPy broadcasting: shapes align at the right; each pair of dims is equal or one of them is 1.
#pragma once

#include "ops/op.h"

namespace preflight {

// out = broadcast(a, b); dtype taken from a. Fails naming both shapes when they do not broadcast.
Status broadcast_shapes(const TensorDesc& a, const TensorDesc& b, TensorDesc* out);

// Walks the elements of `out` in row-major order and tracks the matching element offsets in `a`
// and `b` (which broadcast to `out`). Never allocates.
class BroadcastIndexer {
 public:
  BroadcastIndexer(const TensorDesc& out, const TensorDesc& a, const TensorDesc& b);
  int64_t offset_a() const { return offset_a_; }
  int64_t offset_b() const { return offset_b_; }
  void next();

 private:
  int rank_ = 0;
  int64_t dims_[kMaxRank] = {0};
  int64_t stride_a_[kMaxRank] = {0};  // 0 along broadcast dims
  int64_t stride_b_[kMaxRank] = {0};
  int64_t counter_[kMaxRank] = {0};
  int64_t offset_a_ = 0;
  int64_t offset_b_ = 0;
};

}  // namespace preflight
