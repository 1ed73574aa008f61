// Data sets: the bundled CSV files, .npz archives (stored and deflated), .npy pairs, IDX, the
// seeded split, and every refusal naming file, row and column.
#include <zlib.h>

#include <fstream>
#include <map>

#include "runtime/file_io.h"
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

// gzip-compressed bytes of `text` (one member, zlib's gzip wrapper).
std::string gzip_of(const std::string& text) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
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

TEST_CASE("datasets: a label that would size the model is refused with its row and value (at most kMaxClasses)") {
  CHECK(kMaxClasses == 65536);
  const std::string big = write_temp("big_label.csv", "1,2,0\n3,4,1\n5,6,99999999999999\n");
  CHECK(test::contains(load_status(big).message(),
                       "big_label.csv:3: column 3: label 99999999999999 is above the limit of 65536 classes (labels 0 to 65535)"));
  CHECK(test::contains(load_status(write_temp("edge_label.csv", "1,2,65536\n")).message(), "label 65536 is above the limit"));
  Result<Dataset> last = load_dataset(write_temp("last_label.csv", "1,2,65535\n"));
  REQUIRE(last.is_ok());
  CHECK(last->num_classes() == 65536);
  // The same bound for .npy and IDX labels.
  const std::vector<uint8_t> x_bytes = test::npy_f32({1, 2}, 1.0f);
  const std::string x = write_temp("one.npy", std::string(x_bytes.begin(), x_bytes.end()));
  const std::vector<uint8_t> y_bytes = test::npy_labels({int64_t{1} << 40});
  DataOptions pair;
  pair.labels_path = write_temp("one_label.npy", std::string(y_bytes.begin(), y_bytes.end()));
  const Status npy = load_status(x, pair);
  CHECK_MESSAGE(test::contains(npy.message(), "row 1: label 1099511627776 is above the limit of 65536 classes"), npy.message());
}

TEST_CASE("datasets: a CSV field is a number only when all of it is a decimal float") {
  struct Case {
    std::string field;
    bool number;
  };
  for (const Case& c : {Case{"1", true}, Case{"-2.5", true}, Case{" 3 ", true}, Case{"+.5", true}, Case{"1e5", true},
                        Case{"2.E-3", true}, Case{"nan", true}, Case{"-Inf", true}, Case{"infinity", true},
                        Case{std::string("1\0GARBAGE", 9), false}, Case{"0x10", false}, Case{"1e", false},
                        Case{"1.2.3", false}, Case{"--1", false}, Case{".", false}, Case{"1 2", false}, Case{"5kg", false},
                        Case{"nanx", false}, Case{"\x1b[31m", false}}) {
    // The field as a feature on line 2 (line 1 is numbers, so no header is skipped).
    const std::string path = write_temp("field.csv", "1,2,0\n" + c.field + ",2,1\n");
    const Status status = load_status(path);
    if (c.number) {
      CHECK_MESSAGE((status.is_ok() || test::contains(status.message(), "is NaN") || test::contains(status.message(), "is infinite")),
                    printable(c.field) << ": " << status.message());
    } else {
      CHECK_MESSAGE(test::contains(status.message(), "field.csv:2: column 1: '"), printable(c.field) << ": " << status.message());
      CHECK(test::contains(status.message(), "is not a number"));
    }
  }
  // A label with junk after a NUL byte is no label.
  CHECK(test::contains(load_status(write_temp("nul_label.csv", std::string("1,2,0\n3,4,3\0junk\n", 17))).message(),
                       "nul_label.csv:2: column 3: '3"));
  // A first line with a control byte is not taken for a header: it is an error.
  CHECK(test::contains(load_status(write_temp("nul_header.csv", std::string("1\0x,2,0\n3,4,1\n", 14))).message(),
                       "nul_header.csv:1: column 1"));
  // Only the first line can be a header.
  CHECK(test::contains(load_status(write_temp("two_headers.csv", "a,b,c\nd,e,f\n1,2,0\n")).message(), "two_headers.csv:2: column 1: 'd'"));
}

TEST_CASE("datasets: a CSV row wider than the model's features or the limit is refused as it is read") {
  // 2 rows of 10^6 columns: refused on line 1, with the model's width or with the limit.
  std::string wide;
  for (int c = 0; c < 1000000; ++c) wide += c ? ",0" : "0";
  const std::string path = write_temp("wide.csv", wide + "\n" + wide + "\n");
  DataOptions model;
  model.expected_features = 64;
  CHECK(test::contains(load_status(path, model).message(),
                       "wide.csv:1: the row has more than 65 columns, expected 65 (the model takes 64 features and a label)"));
  const Status limit = load_status(path);
  CHECK(limit.code() == Error::kResourceLimit);
  CHECK(test::contains(limit.message(), "wide.csv:1: the row has more than 65536 columns, the limit of a CSV data set"));
  // Narrower than the model: refused on line 1 too.
  CHECK(test::contains(load_status(write_temp("narrow.csv", "1,2,0\n"), model).message(),
                       "narrow.csv:1: the row has 3 columns, expected 65"));
  DataOptions labels_file;
  labels_file.expected_features = 2;
  labels_file.labels_path = write_temp("labels_wide.csv", "0,1\n");
  CHECK(test::contains(load_status(write_temp("features2.csv", "1,2\n"), labels_file).message(),
                       "labels_wide.csv:1: the row has more than 1 column, expected 1 (a labels file has one column)"));
}

TEST_CASE("datasets: gzip data is read whole or refused: truncated, corrupt, trailing bytes, not gzip") {
  std::string csv;
  for (int r = 0; r < 400; ++r) csv += std::to_string(r % 7) + "," + std::to_string(r % 5) + "," + std::to_string(r % 3) + "\n";
  const std::string gz = gzip_of(csv);
  Result<Dataset> whole = load_dataset(write_temp("whole.csv.gz", gz));
  REQUIRE_MESSAGE(whole.is_ok(), whole.status().message());
  CHECK(whole->rows == 400);
  // Two members (gzip -c a b > ab.gz) are one stream.
  Result<Dataset> members = load_dataset(write_temp("members.csv.gz", gzip_of(csv.substr(0, 600)) + gzip_of(csv.substr(600))));
  REQUIRE_MESSAGE(members.is_ok(), members.status().message());
  CHECK(members->rows == 400);
  // Every cut of the file is refused (a cut at a row boundary too): none trains on part of the data.
  int cuts = 0;
  for (size_t cut = 1; cut < gz.size(); cut += 7) {
    const Status status = load_status(write_temp("cut.csv.gz", gz.substr(0, cut)));
    CHECK_MESSAGE(!status.is_ok(), "cut at " << cut << " of " << gz.size() << " bytes was accepted");
    CHECK(status.code() == Error::kInvalidArgument);
    ++cuts;
  }
  CHECK(cuts > 20);
  CHECK(test::contains(load_status(write_temp("cut.csv.gz", gz.substr(0, gz.size() - 4))).message(), "the gzip data ends early"));
  // A damaged CRC (the trailer's first 4 bytes) and a damaged byte inside.
  std::string crc = gz;
  crc[crc.size() - 8] ^= 0x55;
  CHECK(test::contains(load_status(write_temp("crc.csv.gz", crc)).message(), "crc.csv.gz: corrupt gzip data: incorrect data check"));
  std::string flipped = gz;
  flipped[gz.size() / 2] ^= 0xff;
  CHECK(test::contains(load_status(write_temp("flip.csv.gz", flipped)).message(), "flip.csv.gz: "));
  CHECK(!load_status(write_temp("flip.csv.gz", flipped)).is_ok());
  CHECK(test::contains(load_status(write_temp("trailing.csv.gz", gz + "garbage")).message(),
                       "trailing.csv.gz: 7 bytes after the end of the gzip data"));
  CHECK(test::contains(load_status(write_temp("plain.csv.gz", csv)).message(), "plain.csv.gz: not gzip data"));
}

TEST_CASE("datasets: size bombs stop at the input budget, naming the file and the limit") {
  const uint64_t saved = input_budget();
  set_input_budget(uint64_t{1} << 20);  // 1 MiB
  // A gzip bomb: 1.5 MiB of one row repeated, a few KiB compressed.
  std::string rows;
  while (rows.size() < (3u << 19)) rows += "0,0,0\n";
  const Status bomb = load_status(write_temp("bomb.csv.gz", gzip_of(rows)));
  CHECK(bomb.code() == Error::kResourceLimit);
  CHECK(test::contains(bomb.message(), "bomb.csv.gz: the inflated data is above the input limit of 1 MiB (raise it with --max-input-mb)"));
  // An .npz member that inflates past the budget.
  const std::vector<uint8_t> x = test::npy_f32({512, 600}, 0.0f);
  const std::string npz = test::write_npz("bomb.npz", {{"x", x}, {"y", test::npy_labels(std::vector<int64_t>(512, 0))}});
  const Status member = load_status(npz);
  CHECK(member.code() == Error::kResourceLimit);
  CHECK_MESSAGE(test::contains(member.message(), ("bomb.npz: member x.npy (" + std::to_string(x.size()) +
                                                  " bytes inflated) is above the input limit of 1 MiB").c_str()), member.message());
  // A plain file over the budget is refused before it is read.
  const Status plain = load_status(write_temp("big.csv", rows));
  CHECK_MESSAGE(test::contains(plain.message(), ("big.csv: the file (" + std::to_string(rows.size()) +
                                                 " bytes) is above the input limit of 1 MiB").c_str()), plain.message());
  set_input_budget(saved);
  CHECK(load_status(write_temp("bomb.csv.gz", gzip_of(rows))).is_ok());
}

TEST_CASE("datasets: .npz conventions: x/y, Keras' x_train/y_train with a test or validation pair, members not read") {
  const auto x = [](int64_t rows, float value) { return test::npy_f32({rows, 3}, value); };
  // Keras (mnist.npz): x_test/y_test become the validation split, and the reader says so.
  Result<Dataset> keras = load_dataset(test::write_npz("keras.npz", {{"x_train", x(6, 1.0f)}, {"y_train", test::npy_labels({0, 1, 2, 0, 1, 2})},
                                                              {"x_test", x(2, 2.0f)}, {"y_test", test::npy_labels({1, 0})}}));
  REQUIRE_MESSAGE(keras.is_ok(), keras.status().message());
  CHECK(keras->rows == 6);
  REQUIRE(keras->validation != nullptr);
  CHECK(keras->validation->rows == 2);
  CHECK(keras->validation->features[0] == 2.0f);
  CHECK(keras->validation->labels == std::vector<int64_t>{1, 0});
  REQUIRE(keras->notes.size() == 1);
  CHECK(test::contains(keras->notes[0].c_str(), "x_test and y_test are the validation split"));
  // x/y with x_val/y_val, and a member nobody reads: named in a note.
  Result<Dataset> val = load_dataset(test::write_npz("val.npz", {{"x", x(4, 1.0f)}, {"y", test::npy_labels({0, 1, 0, 1})}, {"x_val", x(2, 3.0f)},
                                                          {"y_val", test::npy_labels({1, 1})}, {"mean", test::npy_f32({3}, 0.5f)}}));
  REQUIRE_MESSAGE(val.is_ok(), val.status().message());
  REQUIRE(val->validation != nullptr);
  CHECK(val->validation->features[0] == 3.0f);
  REQUIRE(val->notes.size() == 2);
  CHECK(test::contains(val->notes[1].c_str(), "not read: mean"));
  // Neither pair: the error lists what the archive holds.
  CHECK(test::contains(load_status(test::write_npz("none.npz", {{"features", x(2, 1.0f)}, {"labels", test::npy_labels({0, 1})}})).message(),
                       "no arrays x and y (nor x_train and y_train) (the archive has: features, labels)"));
}

TEST_CASE("datasets: gzipped IDX files, as MNIST and Fashion-MNIST are distributed") {
  const std::string images = std::string("\0\0\x08\x03\0\0\0\x03\0\0\0\x02\0\0\0\x02", 16) +
                             std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12);
  const std::string labels = std::string("\0\0\x08\x01\0\0\0\x03\x02\x00\x01", 11);
  DataOptions options;
  options.labels_path = write_temp("t10k-labels-idx1-ubyte.gz", gzip_of(labels));
  Result<Dataset> mnist = load_dataset(write_temp("t10k-images-idx3-ubyte.gz", gzip_of(images)), options);
  REQUIRE_MESSAGE(mnist.is_ok(), mnist.status().message());
  CHECK(mnist->sample == make_desc(DType::F32, {2, 2}));
  CHECK(mnist->features[11] == 12.0f);
  CHECK(mnist->labels == std::vector<int64_t>{2, 0, 1});
  CHECK(test::contains(load_status(write_temp("cut-images-idx3-ubyte.gz", gzip_of(images).substr(0, 20)), options).message(),
                       "the gzip data ends early"));
  // Debian's dataset-fashion-mnist, where it is installed: 60000 training images of 28x28.
  const std::string fashion = "/usr/share/datasets/fashion-mnist/";
  std::ifstream probe(fashion + "train-images-idx3-ubyte.gz");
  if (!probe.good()) {
    MESSAGE("dataset-fashion-mnist is not installed: its files are not read here");
    return;
  }
  DataOptions real;
  real.labels_path = fashion + "train-labels-idx1-ubyte.gz";
  Result<Dataset> data = load_dataset(fashion + "train-images-idx3-ubyte.gz", real);
  REQUIRE_MESSAGE(data.is_ok(), data.status().message());
  CHECK(data->rows == 60000);
  CHECK(data->sample == make_desc(DType::F32, {28, 28}));
  CHECK(data->num_classes() == 10);
}

}  // namespace
}  // namespace preflight
