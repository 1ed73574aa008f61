// The backend interface: a backend says which nodes it runs and gives a kernel for each.
//
// Backends are partitioners (docs/design.md): a Program asks the chosen backend first and falls
// back to the reference backend for nodes it does not support. This is the small seed of the
// interface; the SIMD and GPU backends grow it (prepare with packed weights, backward kernels)
// without changing the ops. Plain function pointers, no virtual classes: the device library
// builds without RTTI and is linked into hosts that have it.
#pragma once

#include "ops/op.h"
#include "runtime/model.h"

namespace preflight {

struct Backend {
  const char* name;
  // Whether this backend runs the node (forward or backward, see NodeInfo::backward).
  bool (*supports)(const Model& model, const NodeInfo& node);
  ForwardFn (*kernel)(const Model& model, const NodeInfo& node);           // forward nodes
  BackwardFn (*backward_kernel)(const Model& model, const NodeInfo& node);  // backward nodes
};

// The portable reference backend: runs every op with the ops' own forward kernels.
const Backend& reference_backend();

}  // namespace preflight
