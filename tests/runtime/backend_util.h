// What the backend suites share: the device backends this build has and this machine runs (a
// build without one, or a machine without a device, skips with a message; CI sets
// PREFLIGHT_REQUIRE_OPENCL=1, where PoCL is installed, and bench/gpu_check.sh
// PREFLIGHT_REQUIRE_CUDA=1, which turn that skip into a failure), running a graph's `infer` on
// a backend, and the record of which ops ran on a device backend.
#pragma once

#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "graph/builder.h"
#include "ops/registry.h"
#include "test_util.h"
#ifdef PREFLIGHT_HAVE_OPENCL
#include "runtime/backends/opencl/opencl_backend.h"
#endif
#ifdef PREFLIGHT_HAVE_CUDA
#include "runtime/backends/cuda/cuda_backend.h"
#endif

namespace preflight {
namespace test {

inline bool required(const char* variable) {
  const char* value = std::getenv(variable);
  return value && std::string(value) == "1";
}

// The device backends this build has and this machine runs.
inline std::vector<const Backend*> device_backends() {
  std::vector<const Backend*> backends;
#ifdef PREFLIGHT_HAVE_OPENCL
  if (opencl::device_info().available) {
    backends.push_back(opencl_backend());
  } else {
    if (required("PREFLIGHT_REQUIRE_OPENCL")) FAIL("PREFLIGHT_REQUIRE_OPENCL=1 but " << opencl::device_info().description);
    MESSAGE("skipped on OpenCL: " << opencl::device_info().description);
  }
#else
  if (required("PREFLIGHT_REQUIRE_OPENCL")) FAIL("PREFLIGHT_REQUIRE_OPENCL=1 but this build has no OpenCL backend");
  MESSAGE("this build has no OpenCL backend (configured without OpenCL)");
#endif
#ifdef PREFLIGHT_HAVE_CUDA
  if (cuda::device_info().available) {
    backends.push_back(cuda_backend());
  } else {
    if (required("PREFLIGHT_REQUIRE_CUDA")) FAIL("PREFLIGHT_REQUIRE_CUDA=1 but " << cuda::device_info().description);
    MESSAGE("skipped on CUDA: " << cuda::device_info().description);
  }
#else
  if (required("PREFLIGHT_REQUIRE_CUDA")) FAIL("PREFLIGHT_REQUIRE_CUDA=1 but this build has no CUDA backend");
  MESSAGE("this build has no CUDA backend (configured without nvcc, cuBLAS or cuDNN)");
#endif
  return backends;
}

// Which (op, backward) pairs ran on a device backend, over the whole file: the op table test
// checks at the end that every op of the registry is in it.
inline std::set<std::pair<int, bool>>& covered() {
  static std::set<std::pair<int, bool>> pairs;
  return pairs;
}

// Records the steps of `method` that ran on a device backend.
inline void record_coverage(const Session& session, int method) {
  const Model& model = session.model();
  const std::vector<const char*>& steps = session.program(method).step_backends();
  const MethodInfo& info = model.methods()[static_cast<size_t>(method)];
  for (size_t s = 0; s < info.nodes.size(); ++s) {
    const NodeInfo& node = model.nodes()[static_cast<size_t>(info.nodes[s])];
    const Backend* ran = find_backend(steps[s]);
    if (ran && ran->device) covered().insert({static_cast<int>(node.op->type), node.backward});
  }
}

// Runs `infer` with seeded inputs (floats in [lo, hi), labels in [0, 5)); `steps` receives the
// backend that ran each step.
inline std::vector<std::vector<float>> run_on(const graph::Graph& graph, const Backend* backend, float lo, float hi,
                                              std::vector<const char*>* steps) {
  test::LoadedModel loaded = test::load_graph(graph);
  SessionOptions options;
  options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  const int m = session->model().find_method("infer");
  const MethodInfo& method = session->model().methods()[static_cast<size_t>(m)];
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int64_t>> labels;
  std::vector<TensorView> views;
  for (size_t i = 0; i < method.inputs.size(); ++i) {
    const TensorDesc& desc = session->model().tensors()[static_cast<size_t>(method.inputs[i])].desc;
    if (desc.dtype == DType::I64) {
      labels.emplace_back(static_cast<size_t>(desc.num_elements()));
      for (size_t k = 0; k < labels.back().size(); ++k) labels.back()[k] = static_cast<int64_t>((k * 7 + 3) % 5);
      views.push_back(TensorView{desc, labels.back().data()});
    } else {
      floats.push_back(random_floats(desc.num_elements(), 7 + static_cast<uint32_t>(i), lo, hi));
      views.push_back(TensorView{desc, floats.back().data()});
    }
  }
  *steps = session->program(m).step_backends();
  record_coverage(*session, m);
  return test::run_method(*session, "infer", views);
}

}  // namespace test
}  // namespace preflight
