// Builds without oneDNN (PREFLIGHT_ONEDNN=OFF, or libdnnl-dev missing): no such backend.
#include "runtime/backend.h"

namespace preflight {

const Backend* onednn_backend() { return nullptr; }

}  // namespace preflight
