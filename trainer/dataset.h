// Data sets for training and checks: CSV (optionally gzipped), NumPy .npy pairs and .npz archives,
// and IDX (the MNIST format). Every sample becomes float32 features; labels are int64 classes
// (classification) or float32 targets (regression). Host-side.
//
// Errors name the file and, where it applies, the row and column (rows count from 1, as an
// editor shows them): a field that is not a number, a row of the wrong width, NaN or Inf, a label
// that is not a whole number, an empty data set, an array of the wrong dtype or shape.
#pragma once

#include <cstdint>
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

  int64_t sample_elements() const { return sample.num_elements(); }
  int64_t num_classes() const;   // 1 + the largest label (classification)
};

struct DataOptions {
  std::string labels_path;   // .npy or IDX labels beside a features file; empty for CSV and .npz
  int label_column = -1;     // CSV: the column holding the label, -1 for the last
  bool regression = false;   // labels are float targets, not classes
  bool allow_non_finite = false;  // keep NaN and Inf features (for the data.finite check to report)
};

// Loads by extension: .csv / .csv.gz, .npy (with labels_path), .npz (arrays "x" and "y"),
// IDX (with labels_path; files named *idx*-ubyte or *.idx).
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
