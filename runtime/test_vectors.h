// Running a model's stored test vectors (schemas/model.fbs, TestVector; `preflight convert
// --test-vectors` stores them, `preflight verify` runs them): each vector's inputs through a
// Session on a backend, its outputs compared with what the framework computed. Host-side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"

namespace preflight {

struct OutputComparison {
  std::string name;
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;  // over the expected values that are not 0
  bool within_tolerance = true;  // |got - expected| <= rtol |expected| + atol at every element
};

struct TestVectorResult {
  std::string method;
  int64_t batch = 0;  // the inputs' batch the model was re-planned for (0: no batch dim)
  float rtol = 0.0f, atol = 0.0f;
  std::vector<OutputComparison> outputs;  // the f32 outputs, in order (others are not compared)
  bool passed() const;
};

// Runs every test vector of `model` on `options.backend`: the model is re-planned for each
// vector's batch (Model::set_batch) and opened afresh. An error (no test vectors, a re-plan or a
// run that fails) names the vector; outputs beyond the tolerance are a result, not an error.
// `model`'s bytes must stay alive during the call.
Result<std::vector<TestVectorResult>> run_test_vectors(const Model& model, const SessionOptions& options);

}  // namespace preflight
