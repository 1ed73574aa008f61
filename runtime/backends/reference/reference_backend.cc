// The reference backend: the source of truth every other backend is tested against. It runs each
// op with the forward kernel in ops/<op>.cc (double accumulation, no SIMD, no threads).
// runtime/backends/registry.cc has the backends by name, `auto` and the thread count.
#include "runtime/backend.h"

namespace preflight {
namespace {

bool reference_supports(const Model&, const NodeInfo& node) { return node.op != nullptr; }
ForwardFn reference_kernel(const Model&, const NodeInfo& node) { return node.op->forward; }
BackwardFn reference_backward_kernel(const Model&, const NodeInfo& node) { return node.op->backward; }

}  // namespace

const Backend& reference_backend() {
  static constexpr Backend backend = [] {
    Backend b;
    b.name = "reference";
    b.supports = reference_supports;
    b.kernel = reference_kernel;
    b.backward_kernel = reference_backward_kernel;
    return b;
  }();
  return backend;
}

}  // namespace preflight
