#include "core/tensor.h"

#include <cstdio>
#include <cstring>
#include <limits>

namespace preflight {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
    case DType::BOOL: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
    case DType::BOOL: return "bool";
  }
  return "unknown-dtype";
}

int64_t TensorDesc::num_elements() const {
  int64_t count = 1;
  for (int i = 0; i < rank; ++i) count *= dims[i];
  return count;
}

bool TensorDesc::same_shape(const TensorDesc& other) const {
  if (rank != other.rank) return false;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] != other.dims[i]) return false;
  }
  return true;
}

const char* describe(const TensorDesc& desc, char* buffer, size_t capacity) {
  size_t used = static_cast<size_t>(std::snprintf(buffer, capacity, "%s[", dtype_name(desc.dtype)));
  for (int i = 0; i < desc.rank && used < capacity; ++i) {
    used += static_cast<size_t>(std::snprintf(buffer + used, capacity - used, i ? ",%lld" : "%lld",
                                              static_cast<long long>(desc.dims[i])));
  }
  if (used < capacity) std::snprintf(buffer + used, capacity - used, "]");
  return buffer;
}

TensorDesc make_desc(DType dtype, std::initializer_list<int64_t> dims) {
  TensorDesc desc;
  desc.dtype = dtype;
  for (int64_t dim : dims) {
    if (desc.rank == kMaxRank) break;
    desc.dims[desc.rank++] = dim;
  }
  return desc;
}

bool checked_mul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool checked_add(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

}  // namespace preflight
