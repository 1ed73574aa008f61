// FNV-1a, 64 bits: the fingerprints of models, rows and weights (not for security).
#pragma once

#include <cstddef>
#include <cstdint>

namespace preflight {

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;

// Continues `hash` over `size` bytes; start from kFnvOffsetBasis.
inline uint64_t fnv1a(const void* data, size_t size, uint64_t hash = kFnvOffsetBasis) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

}  // namespace preflight
