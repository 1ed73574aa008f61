// The reference backend: the source of truth every other backend is tested against. It runs each
// op with the forward kernel in ops/<op>.cc (double accumulation, no SIMD, no threads).
#include "runtime/backend.h"

#include <string>

namespace preflight {
namespace {

bool reference_supports(const Model&, const NodeInfo& node) { return node.op != nullptr; }
ForwardFn reference_kernel(const Model&, const NodeInfo& node) { return node.op->forward; }
BackwardFn reference_backward_kernel(const Model&, const NodeInfo& node) { return node.op->backward; }

}  // namespace

const Backend& reference_backend() {
  static const Backend backend = {"reference", reference_supports, reference_kernel, reference_backward_kernel, nullptr};
  return backend;
}

const Backend* find_backend(const char* name) {
  const std::string wanted = name ? name : "";
  if (wanted == "reference") return &reference_backend();
  if (wanted == "xnnpack") return xnnpack_backend();
  if (wanted == "auto") return xnnpack_backend() ? xnnpack_backend() : &reference_backend();
  return nullptr;
}

const char* backend_names() { return xnnpack_backend() ? "reference, xnnpack, auto" : "reference, auto"; }

}  // namespace preflight
