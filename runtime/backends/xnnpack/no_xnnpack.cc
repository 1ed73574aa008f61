// Builds without XNNPACK (PREFLIGHT_XNNPACK=OFF, or libxnnpack-dev missing): no such backend.
#include "runtime/backend.h"

namespace preflight {

const Backend* xnnpack_backend() { return nullptr; }

}  // namespace preflight
