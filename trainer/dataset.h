// Data sets for training and checks: CSV (optionally gzipped), NumPy .npy pairs and .npz archives,
// and IDX (the MNIST format). Every sample becomes float32 features; labels are int64 classes
// (classification) or float32 targets (regression). Host-side.
//
// Errors name the file and, where it applies, the row and column (rows count from 1, as an
// editor shows them): a field that is not a number, a row of the wrong width, NaN or Inf, a label
// that is not a whole number, an empty data set, an array of the wrong dtype or shape.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"
#include "trainer/npy.h"

namespace preflight {

struct Dataset {
  std::string source;
  int64_t rows = 0;
  TensorDesc sample;             // the shape of one sample (f32), e.g. [64] or [8, 8, 1]
  std::vector<float> features;   // rows x sample elements
  bool classification = true;
  std::vector<int64_t> labels;   // classification: one class per row
  std::vector<float> targets;    // regression: one value per row
  // An .npz that holds a validation or test pair beside the training one: that pair, the
  // validation split of a run that names no other (load_splits in the command line).
  std::shared_ptr<Dataset> validation;
  std::vector<std::string> notes;  // what the reader decided (the pair it took, the members it left)

  int64_t sample_elements() const { return sample.num_elements(); }
  int64_t num_classes() const;   // 1 + the largest label (classification)
};

// The largest class count (labels 0 to kMaxClasses - 1): a label sizes the model's outputs and the
// checks' vectors, so one above it is refused with its row and value.
constexpr int64_t kMaxClasses = 65536;
// The widest CSV row: a row wider than this (or than the model's features) is refused as it is read.
constexpr int64_t kMaxCsvColumns = 65536;

struct DataOptions {
  std::string labels_path;   // .npy or IDX labels beside a features file; empty for CSV and .npz
  int label_column = -1;     // CSV: the column holding the label, -1 for the last
  bool regression = false;   // labels are float targets, not classes
  bool allow_non_finite = false;  // keep NaN and Inf features (for the data.finite check to report)
  int64_t expected_features = -1; // the features of one sample the model takes (-1: unknown); a CSV
                                  // row of another width is refused at once
};

// Loads by extension: .csv / .csv.gz, .npy (with labels_path), .npz (arrays "x" and "y", or
// "x_train" and "y_train" with "x_val"/"y_val", "x_valid"/"y_valid" or "x_test"/"y_test" as the
// validation split; members not read are named in notes), IDX plain or gzipped (with labels_path;
// files whose name holds "idx", as train-images-idx3-ubyte.gz). Every file is read within the
// input budget (runtime/file_io.h) and must be a regular file.
Result<Dataset> load_dataset(const std::string& path, const DataOptions& options = DataOptions());

Result<Dataset> load_csv(const std::string& path, const DataOptions& options);

// One array of a .npz archive by its name ("x" reads x.npy); a missing name is an error that lists
// the archive's arrays.
Result<NpyArray> load_npz_array(const std::string& path, const std::string& name);
Result<Dataset> load_npz(const std::string& path, const DataOptions& options);

// The bias that starts a model at the data's prior: log(count_c / rows) per class (a class with
// no rows gets log(0.5 / rows)), or the target mean for regression (one value).
std::vector<float> prior_bias(const Dataset& data, int64_t classes);

// Standardisation (z-scores) of every feature with the training split's mean and standard
// deviation, applied to both splits: what tabular data with features of different scales (wine's
// proline is ~1000, its hue ~1) needs before a network sees it. A constant feature is only
// centred. Returns the statistics used.
struct FeatureScaling {
  std::vector<float> mean, std;
};
FeatureScaling standardize(Dataset* train, Dataset* validation);

// Mean and (population) variance of the regression targets; 0 and 0 without targets.
void target_moments(const Dataset& data, double* mean, double* variance);

// Gives every sample the shape `sample` (same element count), e.g. [64] -> [8, 8, 1].
Status reshape_samples(Dataset* data, const TensorDesc& sample);

// A seeded shuffle of the rows, then the first (1 - validation_fraction) for training and the
// rest for validation. Fails when either part would be empty.
Status split_dataset(const Dataset& data, double validation_fraction, uint64_t seed, Dataset* train,
                     Dataset* validation);

// Copies rows `indices` into a batch: features as [n, sample...] and labels or targets.
void gather_batch(const Dataset& data, const int64_t* indices, int64_t count, float* features, void* labels);

}  // namespace preflight
