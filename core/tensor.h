// The ground layer's tensors: dtypes, shapes (TensorDesc) and views of data (TensorView), with the
// checked size arithmetic every layer uses on sizes from untrusted files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "schemas/model_generated.h"

namespace preflight {

using fb::DType;

constexpr int kMaxRank = 6;

// Bytes per element of a dtype; 0 for a value outside the enum.
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct TensorDesc {
  DType dtype = DType::F32;
  int rank = 0;
  int64_t dims[kMaxRank] = {0};

  int64_t num_elements() const;  // callers have checked that the product does not overflow
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * dtype_size(dtype); }
  bool same_shape(const TensorDesc& other) const;
  bool operator==(const TensorDesc& other) const { return dtype == other.dtype && same_shape(other); }
  bool operator!=(const TensorDesc& other) const { return !(*this == other); }
};

// Formats "f32[2,3,4]" into buffer; returns buffer. Used in error messages.
const char* describe(const TensorDesc& desc, char* buffer, size_t capacity);

// Builds a desc from a list of dims: make_desc(DType::F32, {1, 8, 8, 1}).
TensorDesc make_desc(DType dtype, std::initializer_list<int64_t> dims);

struct TensorView {
  TensorDesc desc;
  void* data = nullptr;

  float* f32() const { return static_cast<float*>(data); }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

// Checked arithmetic for sizes that come from untrusted files.
bool checked_mul(int64_t a, int64_t b, int64_t* out);
bool checked_add(int64_t a, int64_t b, int64_t* out);

}  // namespace preflight
