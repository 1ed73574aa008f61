// Builds without CUDA (PREFLIGHT_CUDA=OFF, or no nvcc): no such backend.
#include "runtime/backend.h"

namespace preflight {

const Backend* cuda_backend() { return nullptr; }

}  // namespace preflight
