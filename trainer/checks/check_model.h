// The model `preflight check` checks: an ONNX file (converted at the check's batch), a .pfb file,
// or a reference model (models/) built for the data: mlp takes as many features as a sample
// has, the outputs are the data's classes (at least 2), or 1 for regression. No name: cnn8, the
// bundled model. Set to the check's batch, with train_step and eval exported when it has none.
#pragma once

#include <cstdint>
#include <string>

#include "graph/graph.h"
#include "graph/import/onnx_import.h"
#include "graph/training.h"
#include "trainer/dataset.h"

namespace preflight {

struct CheckModelOptions {
  std::string model;      // a path (.onnx, .pfb) or a reference model's name; empty: cnn8
  std::string data;       // the data file the reference model is built for
  DataOptions load;       // how that file is read (labels, regression)
  int64_t batch = 32;
  uint64_t seed = 0;      // of a built model's initial weights
  graph::OnnxImportOptions onnx;
  graph::TrainingOptions training;  // exported when the model has no train_step
};

struct CheckModel {
  graph::Graph graph;
  std::string description;  // the name the report gives it: the path, or "cnn8 (bundled)"
};

// An error names the file or the model and what failed (loading, converting, re-batching).
Result<CheckModel> check_model(const CheckModelOptions& options);

}  // namespace preflight
