// NumPy .npy files: the tensors `preflight run` reads and writes, and the test fixtures.
//
// Supported: format versions 1.0, 2.0 and 3.0; little-endian C-order arrays of float32 ('<f4'),
// int64 ('<i8'), int32 ('<i4') and uint8 ('|u1'); rank <= kMaxRank. Anything else (big-endian,
// Fortran order, float64, object arrays, a truncated file) gets an error naming the file and what
// was found. Host-side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"

namespace preflight {

struct NpyArray {
  TensorDesc desc;
  std::vector<uint8_t> data;
};

// Parses .npy bytes; `where` names the source in errors (a file name).
Result<NpyArray> parse_npy(const uint8_t* bytes, size_t size, const std::string& where);
Result<NpyArray> read_npy(const std::string& path);

// Encodes a tensor as .npy (version 1.0, header padded to 64 bytes).
std::vector<uint8_t> encode_npy(const TensorDesc& desc, const void* data);
// Writes crash-safely (runtime/file_io.h).
Status write_npy(const std::string& path, const TensorDesc& desc, const void* data);

}  // namespace preflight
