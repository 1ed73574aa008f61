// The data of a training run or a check, as `preflight train` and `preflight check` read it: a
// file loaded, scaled, shaped like the model's samples, then split (or a separate validation
// file, or an .npz's own validation pair); optionally standardised with the training split's
// statistics; optionally the model's final bias set to the training split's prior.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "trainer/dataset.h"

namespace preflight {

struct RunDataOptions {
  std::string data;        // the data file (any format load_dataset reads)
  std::string validation;  // a separate validation file; empty: split `data` (or its .npz pair)
  DataOptions load;        // labels file, regression, ...; expected_features is set from the model
  float scale = 1.0f;      // every feature is multiplied by it (1/16 for the bundled digits)
  double validation_fraction = 0.2;
  uint64_t seed = 0;       // of the split
  bool standardize = false;
  bool init_bias = false;  // the graph's final bias starts at the training split's class prior
};

struct RunData {
  Dataset train, validation;
  std::vector<std::string> notes;  // what the loaders noticed, for the user (printed by the CLI)
};

// The shape of one sample: train_step's input without its batch dim. The graph has train_step.
TensorDesc sample_shape(const graph::Graph& graph);

// Loads the data for `graph` (which has train_step); with init_bias, sets its final bias.
// Errors name the file, row or feature (load_dataset, reshape_samples) and the flag.
Result<RunData> load_run_data(const RunDataOptions& options, graph::Graph* graph);

}  // namespace preflight
