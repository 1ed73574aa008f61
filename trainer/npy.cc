#include "trainer/npy.h"

#include <cstring>

#include "runtime/file_io.h"

namespace preflight {
namespace {

const char kMagic[] = "\x93NUMPY";

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::F32: return "<f4";
    case DType::I64: return "<i8";
    case DType::I32: return "<i4";
    case DType::U8: return "|u1";
    case DType::BOOL: return "|b1";
  }
  return "";
}

// Finds `'key':` in the header dict and returns the position after the colon, or npos.
size_t find_key(const std::string& header, const char* key) {
  const std::string quoted = std::string("'") + key + "'";
  size_t at = header.find(quoted);
  if (at == std::string::npos) return at;
  at = header.find(':', at + quoted.size());
  return at == std::string::npos ? at : at + 1;
}

size_t skip_spaces(const std::string& s, size_t at) {
  while (at < s.size() && (s[at] == ' ' || s[at] == '\t')) ++at;
  return at;
}

}  // namespace

Result<NpyArray> parse_npy(const uint8_t* bytes, size_t size, const std::string& where) {
  const char* w = where.c_str();
  PF_CHECK(size >= 10 && std::memcmp(bytes, kMagic, 6) == 0, Error::kInvalidArgument,
           "%s: not a .npy file (no \\x93NUMPY magic)", w);
  const int major = bytes[6];
  PF_CHECK(major >= 1 && major <= 3, Error::kInvalidArgument, "%s: .npy format version %d.%d is not supported", w,
           major, bytes[7]);
  size_t header_length = 0, header_start = 0;
  if (major == 1) {
    header_length = static_cast<size_t>(bytes[8]) | static_cast<size_t>(bytes[9]) << 8;
    header_start = 10;
  } else {
    PF_CHECK(size >= 12, Error::kInvalidArgument, "%s: truncated .npy header", w);
    header_length = static_cast<size_t>(bytes[8]) | static_cast<size_t>(bytes[9]) << 8 |
                    static_cast<size_t>(bytes[10]) << 16 | static_cast<size_t>(bytes[11]) << 24;
    header_start = 12;
  }
  PF_CHECK(header_length <= size - header_start, Error::kInvalidArgument,
           "%s: the header says %zu bytes, the file has %zu after the preamble", w, header_length, size - header_start);
  const std::string header(reinterpret_cast<const char*>(bytes) + header_start, header_length);

  size_t at = find_key(header, "descr");
  PF_CHECK(at != std::string::npos, Error::kInvalidArgument, "%s: header has no 'descr'", w);
  at = skip_spaces(header, at);
  const size_t close = header.find('\'', at + 1);
  PF_CHECK(at < header.size() && header[at] == '\'' && close != std::string::npos, Error::kInvalidArgument,
           "%s: malformed 'descr' in the header", w);
  const std::string descr = header.substr(at + 1, close - at - 1);
  NpyArray array;
  if (descr == "<f4") array.desc.dtype = DType::F32;
  else if (descr == "<i8") array.desc.dtype = DType::I64;
  else if (descr == "<i4") array.desc.dtype = DType::I32;
  else if (descr == "|u1") array.desc.dtype = DType::U8;
  else
    return Status::error(Error::kInvalidArgument,
                         "%s: dtype '%s' is not supported (use float32 '<f4', int64 '<i8', int32 '<i4' or uint8; "
                         "little-endian)",
                         w, descr.c_str());

  at = find_key(header, "fortran_order");
  PF_CHECK(at != std::string::npos, Error::kInvalidArgument, "%s: header has no 'fortran_order'", w);
  at = skip_spaces(header, at);
  PF_CHECK(header.compare(at, 5, "False") == 0, Error::kInvalidArgument,
           "%s: Fortran-order arrays are not supported (save with np.ascontiguousarray)", w);

  at = find_key(header, "shape");
  PF_CHECK(at != std::string::npos, Error::kInvalidArgument, "%s: header has no 'shape'", w);
  at = skip_spaces(header, at);
  PF_CHECK(at < header.size() && header[at] == '(', Error::kInvalidArgument, "%s: malformed 'shape'", w);
  const size_t end = header.find(')', at);
  PF_CHECK(end != std::string::npos, Error::kInvalidArgument, "%s: malformed 'shape'", w);
  int64_t elements = 1;
  for (size_t p = at + 1; p < end;) {
    p = skip_spaces(header, p);
    if (p >= end) break;
    PF_CHECK(header[p] >= '0' && header[p] <= '9', Error::kInvalidArgument, "%s: malformed 'shape'", w);
    int64_t dim = 0;
    while (p < end && header[p] >= '0' && header[p] <= '9') {
      PF_CHECK(checked_mul(dim, 10, &dim) && checked_add(dim, header[p] - '0', &dim), Error::kInvalidArgument,
               "%s: a dim of 'shape' overflows", w);
      ++p;
    }
    PF_CHECK(array.desc.rank < kMaxRank, Error::kInvalidArgument, "%s: rank above the limit %d", w, kMaxRank);
    array.desc.dims[array.desc.rank++] = dim;
    PF_CHECK(checked_mul(elements, dim, &elements), Error::kInvalidArgument, "%s: the element count overflows", w);
    p = skip_spaces(header, p);
    if (p < end && header[p] == ',') ++p;
  }
  const size_t data_start = header_start + header_length;
  int64_t expected = 0;
  PF_CHECK(checked_mul(elements, static_cast<int64_t>(dtype_size(array.desc.dtype)), &expected) &&
               static_cast<uint64_t>(expected) == size - data_start,
           Error::kInvalidArgument, "%s: the shape needs %lld data bytes, the file has %zu", w,
           static_cast<long long>(expected), size - data_start);
  array.data.assign(bytes + data_start, bytes + size);
  return Result<NpyArray>(std::move(array));
}

Result<NpyArray> read_npy(const std::string& path) {
  std::vector<uint8_t> bytes;  // a regular file within the input budget (runtime/file_io.h)
  PF_RETURN_IF_ERROR(read_regular_file(path.c_str(), &bytes));
  return parse_npy(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_npy(const TensorDesc& desc, const void* data) {
  std::string header = std::string("{'descr': '") + descr_of(desc.dtype) + "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < desc.rank; ++i) {
    header += std::to_string(desc.dims[i]);
    if (desc.rank == 1 || i + 1 < desc.rank) header += ",";
    if (i + 1 < desc.rank) header += " ";
  }
  header += "), }";
  // Pad with spaces so the data starts at a multiple of 64 bytes, ending in a newline.
  const size_t preamble = 10;
  const size_t total = (preamble + header.size() + 1 + 63) / 64 * 64;
  header.append(total - preamble - header.size() - 1, ' ');
  header += '\n';
  std::vector<uint8_t> bytes(kMagic, kMagic + 6);
  bytes.push_back(1);
  bytes.push_back(0);
  bytes.push_back(static_cast<uint8_t>(header.size() & 0xff));
  bytes.push_back(static_cast<uint8_t>(header.size() >> 8));
  bytes.insert(bytes.end(), header.begin(), header.end());
  const auto* begin = static_cast<const uint8_t*>(data);
  bytes.insert(bytes.end(), begin, begin + desc.num_bytes());
  return bytes;
}

Status write_npy(const std::string& path, const TensorDesc& desc, const void* data) {
  const std::vector<uint8_t> bytes = encode_npy(desc, data);
  return write_file_atomic(path.c_str(), bytes.data(), bytes.size());
}

}  // namespace preflight
