// The reference backend: the source of truth every other backend is tested against. It runs each
// op with the forward kernel in ops/<op>.cc (double accumulation, no SIMD, no threads).
#include "runtime/backend.h"

namespace preflight {
namespace {

bool reference_supports(const Model&, const NodeInfo& node) { return node.op != nullptr; }
ForwardFn reference_kernel(const Model&, const NodeInfo& node) { return node.op->forward; }
BackwardFn reference_backward_kernel(const Model&, const NodeInfo& node) { return node.op->backward; }

}  // namespace

const Backend& reference_backend() {
  static const Backend backend = {"reference", reference_supports, reference_kernel,
                                         reference_backward_kernel};
  return backend;
}

}  // namespace preflight
