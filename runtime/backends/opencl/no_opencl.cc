// Builds without OpenCL (PREFLIGHT_OPENCL=OFF, or ocl-icd-opencl-dev missing): no such backend.
#include "runtime/backend.h"

namespace preflight {

const Backend* opencl_backend() { return nullptr; }

}  // namespace preflight
