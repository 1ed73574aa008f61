// Helpers shared by the test suites: fixture paths, loading, comparisons that name the element.
#pragma once

#include <doctest/doctest.h>
#include <zip.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "graph/autodiff.h"
#include "graph/serialize.h"
#include "runtime/session.h"
#include "trainer/npy.h"

namespace preflight {
namespace test {

// Whether the suite runs under an emulator (the aarch64 suite under qemu-user, targets/aarch64_suite.sh),
// where compute runs 30 to 50 times slower than natively. A test whose cost is mostly arithmetic
// does less work there (fewer steps, fewer models) and says so; the native run in the same CI
// does all of it. What the emulated run is for: the same bits on another architecture.
inline const bool kEmulated = !std::string(PREFLIGHT_EMULATOR).empty();

inline std::string source_path(const std::string& relative) { return std::string(PREFLIGHT_SOURCE_DIR) + "/" + relative; }

inline NpyArray load_fixture(const std::string& relative) {
  Result<NpyArray> array = read_npy(source_path(relative));
  REQUIRE_MESSAGE(array.is_ok(), std::string(array.status().message()));
  return std::move(array).value();
}

// Seeded uniform floats in [lo, hi).
inline std::vector<float> random_floats(int64_t count, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(lo, hi);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = uniform(rng);
  return values;
}

// `forward` (its method `infer`: inputs -> y, y made by its last node) with the loss
// sum((y - target)^2) against a seeded target and its backward appended: `infer` then outputs the
// gradient of every f32 input of that node, after y itself when keep_output.
inline graph::Graph with_gradients(const graph::Graph& forward, bool keep_output) {
  graph::Graph g = forward;
  const graph::Method infer = g.methods[0];
  const int y = infer.outputs[0];
  const int op_node = infer.nodes.back();
  const TensorDesc y_desc = g.tensors[static_cast<size_t>(y)].desc;
  const int target = graph::add_tensor(&g, "target", y_desc, fb::TensorRole::Constant);
  const std::vector<float> target_values = random_floats(y_desc.num_elements(), 99);
  std::memcpy(g.tensors[static_cast<size_t>(target)].data.data(), target_values.data(), target_values.size() * sizeof(float));
  const int loss = graph::add_tensor(&g, "loss", make_desc(DType::F32, {}), fb::TensorRole::Activation);
  graph::Node mse;
  mse.name = "loss";
  mse.op = OpType::MseLoss;
  mse.attrs.kind = fb::Attrs::LossAttrs;
  mse.attrs.loss.reduction = fb::Reduction::Sum;
  mse.inputs = {y, target};
  mse.outputs = {loss};
  g.nodes.push_back(mse);
  std::vector<int> differentiated;
  for (int t : g.nodes[static_cast<size_t>(op_node)].inputs) {
    if (g.tensors[static_cast<size_t>(t)].desc.dtype == DType::F32) differentiated.push_back(t);
  }
  std::vector<int> order = infer.nodes;
  order.push_back(static_cast<int>(g.nodes.size()) - 1);
  Result<graph::BackwardGraph> backward = graph::append_backward(&g, order, loss, differentiated);
  REQUIRE_MESSAGE(backward.is_ok(), std::string(backward.status().message()));
  graph::Method method;
  method.name = "infer";
  method.inputs = infer.inputs;
  if (keep_output) method.outputs = {y};
  method.outputs.insert(method.outputs.end(), backward->parameter_grads.begin(), backward->parameter_grads.end());
  for (int t : method.outputs) g.tensors[static_cast<size_t>(t)].role = fb::TensorRole::Output;
  method.nodes = order;
  method.nodes.insert(method.nodes.end(), backward->nodes.begin(), backward->nodes.end());
  g.methods = {method};
  return g;
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

// An .npz (deflated members) of the named arrays, written under the test output as `name`.
inline std::string write_npz(const std::string& name, const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members) {
  const std::string path = std::string(PREFLIGHT_TEST_OUTPUT) + "_" + name;
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  REQUIRE(archive != nullptr);
  for (const auto& member : members) {
    zip_source_t* source = zip_source_buffer(archive, member.second.data(), member.second.size(), 0);
    REQUIRE(source != nullptr);
    const zip_int64_t index = zip_file_add(archive, (member.first + ".npy").c_str(), source, ZIP_FL_OVERWRITE);
    REQUIRE(index >= 0);
    REQUIRE(zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 9) == 0);
  }
  REQUIRE(zip_close(archive) == 0);
  return path;
}

inline std::vector<uint8_t> npy_f32(const std::vector<int64_t>& dims, float value) {
  TensorDesc desc = make_desc(DType::F32, {});
  desc.rank = static_cast<int>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) desc.dims[d] = dims[d];
  const std::vector<float> data(static_cast<size_t>(desc.num_elements()), value);
  return encode_npy(desc, data.data());
}

inline std::vector<uint8_t> npy_labels(const std::vector<int64_t>& labels) {
  return encode_npy(make_desc(DType::I64, {static_cast<int64_t>(labels.size())}), labels.data());
}


}  // namespace test
}  // namespace preflight
