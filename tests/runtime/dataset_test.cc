// Data sets: the bundled CSV files, .npz archives (stored and deflated), .npy pairs, IDX, the
// seeded split, and every refusal naming file, row and column.
#include <fstream>

#include "test_util.h"
#include "trainer/dataset.h"

namespace preflight {
namespace {

std::string write_temp(const std::string& name, const std::string& contents) {
  const std::string path = std::string(PREFLIGHT_TEST_OUTPUT) + "_" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

Status load_status(const std::string& path, const DataOptions& options = DataOptions()) {
  Result<Dataset> data = load_dataset(path, options);
  return data.is_ok() ? Status::ok() : data.status();
}

TEST_CASE("datasets: the bundled CSV files load with their shapes and classes") {
  struct Expected { const char* file; int64_t rows, features, classes; };
  for (const Expected& e : {Expected{"data/digits.csv.gz", 1797, 64, 10}, Expected{"data/iris.csv", 150, 4, 3},
                            Expected{"data/wine_data.csv", 178, 13, 3}, Expected{"data/breast_cancer.csv", 569, 30, 2}}) {
    SUBCASE(e.file) {
      Result<Dataset> data = load_dataset(test::source_path(e.file));
      REQUIRE_MESSAGE(data.is_ok(), std::string(data.status().message()));
      CHECK(data->rows == e.rows);
      CHECK(data->sample == make_desc(DType::F32, {e.features}));
      CHECK(data->num_classes() == e.classes);
      CHECK(data->features.size() == static_cast<size_t>(e.rows * e.features));
    }
  }
  Result<Dataset> digits = load_dataset(test::source_path("data/digits.csv.gz"));
  REQUIRE(digits.is_ok());
  const NpyArray first8 = test::load_fixture("tests/fixtures/digits8.npy");  // the same rows, scaled by 1/16
  for (int i = 0; i < 8 * 64; ++i) CHECK(digits->features[static_cast<size_t>(i)] / 16.0f == reinterpret_cast<const float*>(first8.data.data())[i]);
  CHECK(digits->labels[7] == 7);
}

TEST_CASE("datasets: .npz stored and deflated, .npy pairs and IDX") {
  for (const char* file : {"tests/fixtures/tiny.npz", "tests/fixtures/tiny_compressed.npz"}) {
    Result<Dataset> data = load_dataset(test::source_path(file));
    REQUIRE_MESSAGE(data.is_ok(), std::string(data.status().message()));
    CHECK(data->rows == 5);
    CHECK(data->sample == make_desc(DType::F32, {3}));
    CHECK(data->features[14] == 3.5f);
    CHECK(data->labels == std::vector<int64_t>{0, 1, 2, 1, 0});
  }
  DataOptions pair;
  pair.labels_path = test::source_path("tests/fixtures/digits8_labels.npy");
  Result<Dataset> npy = load_dataset(test::source_path("tests/fixtures/digits8.npy"), pair);
  REQUIRE(npy.is_ok());
  CHECK(npy->sample == make_desc(DType::F32, {8, 8, 1}));
  CHECK(npy->labels[3] == 3);

  // IDX: 3 images of 2x2 unsigned bytes and 3 labels, as MNIST stores them.
  const std::string images = write_temp("images.idx3-ubyte", std::string("\0\0\x08\x03\0\0\0\x03\0\0\0\x02\0\0\0\x02", 16) +
                                                             std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12));
  const std::string labels = write_temp("labels.idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x03\x02\x00\x01", 11));
  DataOptions idx;
  idx.labels_path = labels;
  Result<Dataset> mnist = load_dataset(images, idx);
  REQUIRE_MESSAGE(mnist.is_ok(), std::string(mnist.status().message()));
  CHECK(mnist->sample == make_desc(DType::F32, {2, 2}));
  CHECK(mnist->features[11] == 12.0f);
  CHECK(mnist->labels == std::vector<int64_t>{2, 0, 1});
}

TEST_CASE("datasets: the split is seeded, disjoint and complete") {
  Result<Dataset> data = load_dataset(test::source_path("data/iris.csv"));
  REQUIRE(data.is_ok());
  Dataset a_train, a_val, b_train, b_val, c_train, c_val;
  REQUIRE(split_dataset(*data, 0.2, 1, &a_train, &a_val).is_ok());
  REQUIRE(split_dataset(*data, 0.2, 1, &b_train, &b_val).is_ok());
  REQUIRE(split_dataset(*data, 0.2, 2, &c_train, &c_val).is_ok());
  CHECK(a_train.rows == 120);
  CHECK(a_val.rows == 30);
  CHECK(a_train.features == b_train.features);
  CHECK(a_train.features != c_train.features);
  double total = 0, parts = 0;
  for (float v : data->features) total += v;
  for (float v : a_train.features) parts += v;
  for (float v : a_val.features) parts += v;
  CHECK(parts == doctest::Approx(total));
  CHECK(test::contains(split_dataset(*data, 1.0, 1, &a_train, &a_val).message(), "must be in (0, 1)"));
}

TEST_CASE("datasets: bad input is refused naming file, row and column") {
  CHECK(test::contains(load_status(write_temp("word.csv", "1,2,0\n3,x,1\n")).message(), "word.csv:2: column 2: 'x' is not a number"));
  CHECK(test::contains(load_status(write_temp("width.csv", "1,2,0\n3,1\n")).message(), "width.csv:2: the row has 2 columns, the first row has 3"));
  CHECK(test::contains(load_status(write_temp("nan.csv", "1,2,0\n3,nan,1\n")).message(), "nan.csv:2: column 2 is NaN"));
  CHECK(test::contains(load_status(write_temp("label.csv", "1,2,0\n3,4,1.5\n")).message(), "label.csv:2: column 3: label 1.5 is not a class"));
  CHECK(test::contains(load_status(write_temp("negative.csv", "1,2,-1\n")).message(), "label -1 is not a class"));
  CHECK(test::contains(load_status(write_temp("empty.csv", "a,b,c\n\n")).message(), "empty.csv: the data set is empty"));
  CHECK(test::contains(load_status(write_temp("data.txt", "1,2\n")).message(), "unknown data format"));
  CHECK(test::contains(load_status(test::source_path("tests/fixtures/digits8.npy")).message(), "needs a labels file (--labels)"));
  DataOptions wrong_labels;
  wrong_labels.labels_path = test::source_path("tests/fixtures/digits8.npy");
  CHECK(test::contains(load_status(test::source_path("tests/fixtures/digits8.npy"), wrong_labels).message(),
                       "labels must be a vector of 8 entries"));
  CHECK(test::contains(load_status(write_temp("junk.npz", std::string(40, 'z'))).message(), "not a .npz (zip) file"));
  CHECK(test::contains(load_status("/nonexistent.csv").message(), "/nonexistent.csv: cannot open"));
  Result<Dataset> iris = load_dataset(test::source_path("data/iris.csv"));
  REQUIRE(iris.is_ok());
  CHECK(test::contains(reshape_samples(&*iris, make_desc(DType::F32, {8, 8, 1})).message(),
                       "a sample has 4 values (f32[4]), the model takes 64 (f32[8,8,1])"));
}

}  // namespace
}  // namespace preflight
