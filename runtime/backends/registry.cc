// The backends of this build by name, the `auto` backend (a per-node choice among them), the
// helpers backends decide with, and the one thread count. The backends themselves are in their
// folders (reference/, xnnpack/, onednn/, opencl/, cuda/).
#include "runtime/backend.h"

#include <cstring>

namespace preflight {
namespace {

int g_num_threads = 1;

// The `auto` rule (docs/design.md): every backend of this build that runs the node is a
// candidate, oneDNN first (faster on x86-64 in docs/benchmarks.md), then XNNPACK; the Program
// times the two on the node when both run it and keeps the faster. The reference backend runs
// what neither does.
// With more than one thread, the two libraries' thread pools (oneDNN's OpenMP, XNNPACK's
// pthreadpool) would spin against each other on the same cores (mbv2 at 2 threads: 68 ms mixed,
// 0.5 ms on oneDNN alone), so auto then takes oneDNN alone where it runs a node.
int auto_candidates(const Model& model, const NodeInfo& node, const Backend** out) {
  int count = 0;
  for (const Backend* backend : {onednn_backend(), xnnpack_backend()}) {
    if (backend && backend->supports(model, node) && !(count == 1 && num_threads() > 1)) out[count++] = backend;
  }
  if (count == 0) out[count++] = &reference_backend();
  return count;
}

bool never(const Model&, const NodeInfo&) { return false; }

}  // namespace

const Backend& backend_for(const Backend& backend, const Model& model, const NodeInfo& node) {
  if (backend.candidates) {
    const Backend* candidates[2];
    backend.candidates(model, node, candidates);
    return *candidates[0];
  }
  return backend.supports(model, node) ? backend : reference_backend();
}

const Backend* find_backend(const char* name) {
  static constexpr Backend automatic = [] {
    Backend b;
    b.name = "auto";
    b.supports = never;
    b.candidates = auto_candidates;
    return b;
  }();
  const auto is = [name](const char* wanted) { return name && std::strcmp(name, wanted) == 0; };
  if (is("reference")) return &reference_backend();
  if (is("xnnpack")) return xnnpack_backend();
  if (is("onednn")) return onednn_backend();
  if (is("opencl")) return opencl_backend();
  if (is("cuda")) return cuda_backend();
  if (is("auto")) return &automatic;
  return nullptr;
}

const char* backend_names() {
  if (!kDeviceBackends && !xnnpack_backend() && !onednn_backend()) return "reference, auto";  // the embedded profile
  static const char* const names = [] {  // built once (a thread-safe static)
    static char list[96] = "reference";
    for (const Backend* backend : {xnnpack_backend(), onednn_backend(), opencl_backend(), cuda_backend()}) {
      if (backend == nullptr) continue;
      std::strcat(list, ", ");
      std::strcat(list, backend->name);
    }
    std::strcat(list, ", auto");
    return list;
  }();
  return names;
}

bool updated_by_training(const Model& model, int t) {
  for (const NodeInfo& node : model.nodes()) {
    if (node.backward) continue;
    for (int i = 0; i < node.op->num_updated_inputs && i < static_cast<int>(node.inputs.size()); ++i) {
      if (node.inputs[static_cast<size_t>(i)] == t) return true;
    }
  }
  return false;
}

bool all_f32(const Model& model, const NodeInfo& node) {
  for (int t : node.inputs) {
    if (model.tensors()[static_cast<size_t>(t)].desc.dtype != DType::F32) return false;
  }
  for (int t : node.outputs) {
    if (model.tensors()[static_cast<size_t>(t)].desc.dtype != DType::F32) return false;
  }
  return true;
}

void set_num_threads(int n) { g_num_threads = n < 1 ? 1 : n; }
int num_threads() { return g_num_threads; }

}  // namespace preflight
