// The reference backend: the source of truth every other backend is tested against. It runs each
// op with the forward kernel in ops/<op>.cc (double accumulation, no SIMD, no threads). Also here:
// the choice of a backend per node, and the one thread count.
#include "runtime/backend.h"

#include <string>

namespace preflight {
namespace {

bool reference_supports(const Model&, const NodeInfo& node) { return node.op != nullptr; }
ForwardFn reference_kernel(const Model&, const NodeInfo& node) { return node.op->forward; }
BackwardFn reference_backward_kernel(const Model&, const NodeInfo& node) { return node.op->backward; }

int g_num_threads = 1;

// The `auto` rule (docs/design.md, measured in docs/benchmarks.md): oneDNN for convolutions with
// more than one input channel per group, fully connected layers and every backward node it runs;
// XNNPACK for the rest it runs (depthwise convolutions, pooling, elementwise, softmax); then
// oneDNN; then the reference backend.
const Backend* auto_select(const Model& model, const NodeInfo& node) {
  const Backend* onednn = onednn_backend();
  const Backend* xnnpack = xnnpack_backend();
  const bool heavy = node.op->type == OpType::Linear ||
                     (node.op->type == OpType::Conv2D &&
                      model.tensors()[static_cast<size_t>(node.inputs[1])].desc.dims[3] > 1);
  if (onednn && (heavy || node.backward) && onednn->supports(model, node)) return onednn;
  if (xnnpack && xnnpack->supports(model, node)) return xnnpack;
  if (onednn && onednn->supports(model, node)) return onednn;
  return &reference_backend();
}

bool never(const Model&, const NodeInfo&) { return false; }

}  // namespace

const Backend& reference_backend() {
  static const Backend backend = {"reference", reference_supports, reference_kernel, reference_backward_kernel,
                                  nullptr,     nullptr,            nullptr,          nullptr};
  return backend;
}

const Backend& backend_for(const Backend& backend, const Model& model, const NodeInfo& node) {
  if (backend.select) return *backend.select(model, node);
  return backend.supports(model, node) ? backend : reference_backend();
}

const Backend* find_backend(const char* name) {
  static const Backend automatic = {"auto", never, nullptr, nullptr, nullptr, nullptr, nullptr, auto_select};
  const std::string wanted = name ? name : "";
  if (wanted == "reference") return &reference_backend();
  if (wanted == "xnnpack") return xnnpack_backend();
  if (wanted == "onednn") return onednn_backend();
  if (wanted == "auto") return &automatic;
  return nullptr;
}

const char* backend_names() {
  if (xnnpack_backend() && onednn_backend()) return "reference, xnnpack, onednn, auto";
  if (xnnpack_backend()) return "reference, xnnpack, auto";
  if (onednn_backend()) return "reference, onednn, auto";
  return "reference, auto";
}

void set_num_threads(int n) { g_num_threads = n < 1 ? 1 : n; }
int num_threads() { return g_num_threads; }

}  // namespace preflight
