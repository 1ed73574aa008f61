// Reading FlatBuffers vectors of untrusted files.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstring>

namespace preflight {

// Element i of a FlatBuffers vector of scalars, read without assuming its alignment: the Verifier
// checks the alignment of a vector's 4-byte length, not of its elements, so a hostile file can
// place an int64 shape at an address 4 mod 8 (found by tests/fuzz: UBSan's misaligned load).
template <typename T>
inline T read_unaligned(const flatbuffers::Vector<T>& vector, flatbuffers::uoffset_t i) {
  T value;
  std::memcpy(&value, vector.Data() + static_cast<size_t>(i) * sizeof(T), sizeof(T));
  return flatbuffers::EndianScalar(value);
}

}  // namespace preflight
