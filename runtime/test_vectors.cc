#include "runtime/test_vectors.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace preflight {

bool TestVectorResult::passed() const {
  for (const OutputComparison& output : outputs) {
    if (!output.within_tolerance) return false;
  }
  return true;
}

Result<std::vector<TestVectorResult>> run_test_vectors(const Model& model, const SessionOptions& options) {
  PF_CHECK(!model.test_vectors().empty(), Error::kInvalidArgument,
           "the model has no test vectors (preflight convert MODEL.onnx --test-vectors io.npz stores them)");
  std::vector<TestVectorResult> results;
  for (size_t v = 0; v < model.test_vectors().size(); ++v) {
    const TestVectorInfo& vector = model.test_vectors()[v];
    TestVectorResult result;
    result.method = vector.method;
    result.rtol = vector.rtol, result.atol = vector.atol;
    // The same bytes, verified again, re-planned for this vector's inputs.
    Result<Model> copy = Model::load_bytes(model.bytes(), model.size(), model.limits());
    if (!copy.is_ok()) return copy.status().with_context("test vector %zu: ", v);
    const int method = copy->find_method(vector.method);
    PF_CHECK(method >= 0, Error::kInvalidModel, "test vector %zu: the model has no method '%s'", v, vector.method);
    std::vector<TensorDesc> descs;
    for (const TestTensorInfo& t : vector.inputs) descs.push_back(t.desc);
    Result<int64_t> batch = copy->batch_for(method, descs.data(), descs.size());
    if (!batch.is_ok()) return batch.status().with_context("test vector %zu: ", v);
    result.batch = *batch;
    if (*batch != copy->batch(method)) PF_RETURN_IF_ERROR(copy->set_batch(*batch).with_context("test vector %zu: ", v));
    Result<Session> session = Session::open(std::move(copy).value(), options);
    if (!session.is_ok()) return session.status().with_context("test vector %zu: ", v);
    // Stored bytes are unaligned in the file: copied before they are read.
    std::vector<std::vector<uint8_t>> input_data, output_data(vector.expected.size());
    std::vector<TensorView> inputs, outputs;
    for (const TestTensorInfo& t : vector.inputs) {
      const uint8_t* bytes = static_cast<const uint8_t*>(t.data);
      input_data.emplace_back(bytes, bytes + t.desc.num_bytes());
    }
    for (size_t i = 0; i < vector.inputs.size(); ++i) inputs.push_back(TensorView{vector.inputs[i].desc, input_data[i].data()});
    for (size_t o = 0; o < vector.expected.size(); ++o) {
      output_data[o].resize(vector.expected[o].desc.num_bytes());
      outputs.push_back(TensorView{vector.expected[o].desc, output_data[o].data()});
    }
    const Status run = session->run(vector.method, inputs.data(), static_cast<int>(inputs.size()), outputs.data(),
                                    static_cast<int>(outputs.size()));
    if (!run.is_ok()) return run.with_context("test vector %zu: ", v);
    for (size_t o = 0; o < vector.expected.size(); ++o) {
      const TestTensorInfo& want = vector.expected[o];
      if (want.desc.dtype != DType::F32) continue;
      std::vector<float> expected(static_cast<size_t>(want.desc.num_elements()));
      if (!expected.empty()) std::memcpy(expected.data(), want.data, expected.size() * sizeof(float));
      const float* got = reinterpret_cast<const float*>(output_data[o].data());
      OutputComparison comparison;
      comparison.name = want.name;
      for (size_t k = 0; k < expected.size(); ++k) {
        const double diff = std::fabs(static_cast<double>(got[k]) - expected[k]);
        comparison.max_abs_error = std::max(comparison.max_abs_error, diff);
        if (expected[k] != 0.0f) {
          comparison.max_rel_error = std::max(comparison.max_rel_error, diff / std::fabs(static_cast<double>(expected[k])));
        }
        // Written so that a NaN difference is beyond any tolerance.
        if (!(diff <= vector.rtol * std::fabs(static_cast<double>(expected[k])) + vector.atol)) comparison.within_tolerance = false;
      }
      result.outputs.push_back(comparison);
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace preflight
