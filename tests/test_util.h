// Helpers shared by the test suites: fixture paths, loading, comparisons that name the element.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "graph/serialize.h"
#include "runtime/session.h"
#include "trainer/npy.h"

namespace preflight {
namespace test {

inline std::string source_path(const std::string& relative) { return std::string(PREFLIGHT_SOURCE_DIR) + "/" + relative; }

inline NpyArray load_fixture(const std::string& relative) {
  Result<NpyArray> array = read_npy(source_path(relative));
  REQUIRE_MESSAGE(array.is_ok(), std::string(array.status().message()));
  return std::move(array).value();
}

// A serialized model and the Model loaded from it (the bytes must outlive the Model).
struct LoadedModel {
  Bytes bytes;
  std::unique_ptr<Model> model;
};

inline LoadedModel load_graph(const graph::Graph& graph) {
  LoadedModel loaded;
  loaded.bytes = graph::serialize(graph);
  Result<Model> model = Model::load_bytes(loaded.bytes.data(), loaded.bytes.size());
  REQUIRE_MESSAGE(model.is_ok(), std::string(model.status().message()));
  loaded.model.reset(new Model(std::move(model).value()));
  return loaded;
}

// |actual - expected| <= rtol * |expected| + atol for every element; the message names the first
// element that is not, and the largest difference.
inline void check_close(const float* actual, const float* expected, int64_t count, double rtol, double atol,
                        const std::string& what) {
  int64_t first_bad = -1;
  double max_diff = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double diff = std::fabs(static_cast<double>(actual[i]) - expected[i]);
    if (!(diff <= rtol * std::fabs(static_cast<double>(expected[i])) + atol) && first_bad < 0) first_bad = i;
    if (diff > max_diff || std::isnan(diff)) max_diff = diff;
  }
  INFO(what << ": max |difference| " << max_diff);
  if (first_bad >= 0) {
    FAIL_CHECK(what << ": element " << first_bad << " is " << actual[first_bad] << ", expected "
                    << expected[first_bad]);
  }
}

// Runs `method` of `session` on the given inputs, returning each output's floats.
inline std::vector<std::vector<float>> run_method(Session& session, const char* method,
                                                  const std::vector<TensorView>& inputs) {
  const int m = session.model().find_method(method);
  REQUIRE(m >= 0);
  const MethodInfo& info = session.model().methods()[static_cast<size_t>(m)];
  std::vector<std::vector<float>> results(info.outputs.size());
  std::vector<TensorView> outputs(info.outputs.size());
  for (size_t i = 0; i < info.outputs.size(); ++i) {
    const TensorDesc& desc = session.model().tensors()[static_cast<size_t>(info.outputs[i])].desc;
    results[i].resize(static_cast<size_t>(desc.num_elements()));
    outputs[i] = TensorView{desc, results[i].data()};
  }
  const Status status = session.run(method, inputs.data(), static_cast<int>(inputs.size()), outputs.data(),
                                    static_cast<int>(outputs.size()));
  REQUIRE_MESSAGE(status.is_ok(), std::string(status.message()));
  return results;
}

inline bool contains(const char* text, const char* part) { return std::strstr(text, part) != nullptr; }

}  // namespace test
}  // namespace preflight
