// The two recipe checks that differentiate the whole model:
//
//   skeleton.batch_independence  backprop from the outputs of sample i alone to the inputs: the
//                                gradient must be zero on every other sample (catches a reshape
//                                used where a transpose was meant, and other batch mixing).
//                                Batch norm runs in its inference form here, as the recipe says.
//   skeleton.gradients           the analytic gradient against central finite differences on a
//                                few elements of every trainable tensor, for a random projection
//                                of the outputs (see check_gradients), at two steps so that an
//                                element whose step crosses a ReLU kink is replaced.
#pragma once

#include "graph/graph.h"
#include "runtime/session.h"
#include "trainer/checks/check.h"
#include "trainer/dataset.h"

namespace preflight {

struct GradientCheckConfig {
  int samples = 3;                 // batch_independence: samples to backprop from
  int elements_per_tensor = 5;     // gradients: elements checked in each trainable tensor
  int rows = 4;                    // gradients: rows of the batch that weigh in the projection
  double step = 1e-3;              // central difference step (and half of it)
  double absolute_tolerance = 2e-3;
  double relative_tolerance = 0.1;
  uint64_t seed = 0;
  SessionOptions session;          // the backend under test
};

// `graph` has an `infer` method (x -> predictions); the first batch of `data` is used.
CheckResult check_batch_independence(const graph::Graph& graph, const Dataset& data, const GradientCheckConfig& config);
// `graph` has train_step (its trainable parameters are the ones checked) and eval.
CheckResult check_gradients(const graph::Graph& graph, const Dataset& data, const GradientCheckConfig& config);

}  // namespace preflight
