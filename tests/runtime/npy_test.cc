// .npy reading and writing: round trips, NumPy-written fixtures, and every refusal.
#include "test_util.h"

namespace preflight {
namespace {

std::string header_file(const std::string& header, size_t data_bytes) {
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + std::string(data_bytes, '\0');
}

Status parse(const std::string& bytes) {
  Result<NpyArray> array = parse_npy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.npy");
  return array.is_ok() ? Status::ok() : array.status();
}

TEST_CASE("npy: the NumPy-written digits fixture reads as f32[8,8,8,1] in [0, 1]") {
  const NpyArray digits = test::load_fixture("tests/fixtures/digits8.npy");
  CHECK(digits.desc == make_desc(DType::F32, {8, 8, 8, 1}));
  const float* v = reinterpret_cast<const float*>(digits.data.data());
  float lo = 1, hi = 0;
  for (int i = 0; i < 512; ++i) {
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
  const NpyArray labels = test::load_fixture("tests/fixtures/digits8_labels.npy");
  CHECK(labels.desc == make_desc(DType::I64, {8}));
  CHECK(reinterpret_cast<const int64_t*>(labels.data.data())[7] == 7);
}

TEST_CASE("npy: encode then parse round-trips every supported dtype and rank") {
  const int64_t values[6] = {1, -2, 3, -4, 5, -6};
  for (const TensorDesc& desc : {make_desc(DType::I64, {6}), make_desc(DType::I64, {2, 3}), make_desc(DType::I64, {}),
                                 make_desc(DType::F32, {3, 1}), make_desc(DType::U8, {0, 4})}) {
    const std::vector<uint8_t> bytes = encode_npy(desc, values);
    CHECK((bytes.size() - desc.num_bytes()) % 64 == 0);
    Result<NpyArray> back = parse_npy(bytes.data(), bytes.size(), "round.npy");
    REQUIRE_MESSAGE(back.is_ok(), std::string(back.status().message()));
    CHECK(back->desc == desc);
    if (desc.num_bytes() > 0) CHECK(std::memcmp(back->data.data(), values, desc.num_bytes()) == 0);
  }
}

TEST_CASE("npy: refusals name the file and the problem") {
  CHECK(test::contains(parse("hello world").message(), "t.npy: not a .npy file"));
  CHECK(test::contains(parse(header_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16)).message(),
                       "dtype '<f8' is not supported"));
  CHECK(test::contains(parse(header_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8)).message(),
                       "dtype '>f4' is not supported"));
  CHECK(test::contains(parse(header_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8)).message(),
                       "Fortran-order arrays are not supported"));
  CHECK(test::contains(parse(header_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8)).message(),
                       "the shape needs 12 data bytes, the file has 8"));
  CHECK(test::contains(parse(header_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1), }", 4)).message(),
                       "rank above the limit 6"));
  CHECK(test::contains(parse(header_file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4)).message(),
                       "overflows"));
  CHECK(test::contains(parse(header_file("{'fortran_order': False, 'shape': (1,), }", 4)).message(), "no 'descr'"));
  std::string truncated = header_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4);
  truncated.resize(20);
  CHECK(test::contains(parse(truncated).message(), "the header says"));
  Result<NpyArray> missing = read_npy("/nonexistent.npy");
  CHECK(test::contains(missing.status().message(), "/nonexistent.npy: cannot open"));
}

}  // namespace
}  // namespace preflight
