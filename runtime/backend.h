// The backend interface: a backend says which nodes it runs and gives a kernel for each.
//
// Backends are partitioners (docs/design.md): a Program asks the chosen backend first and falls
// back to the reference backend for nodes it does not support. A backend either gives a kernel
// that takes views at run time, or prepares each node once the program is bound (the tensors'
// addresses fixed): it packs weights and creates its operator there, and the prepared kernel's
// run only computes. Plain function pointers, no virtual classes: the device library builds
// without RTTI and is linked into hosts that have it.
#pragma once

#include "ops/op.h"
#include "runtime/model.h"

namespace preflight {

// A node prepared by a backend for fixed views: `state` holds what it made (packed weights, a
// created operator); run() computes and never allocates; destroy() frees the state.
struct PreparedKernel {
  void* state = nullptr;
  Status (*run)(void* state) = nullptr;
  void (*destroy)(void* state) = nullptr;
};

struct Backend {
  const char* name;
  // Whether this backend runs the node (forward or backward, see NodeInfo::backward).
  bool (*supports)(const Model& model, const NodeInfo& node);
  ForwardFn (*kernel)(const Model& model, const NodeInfo& node);           // forward nodes
  BackwardFn (*backward_kernel)(const Model& model, const NodeInfo& node);  // backward nodes
  // Optional, for forward nodes it supports (null: kernel() runs on views at run time): prepares
  // the node for these views, whose data pointers stay as they are until the program is freed.
  Status (*prepare)(const Model& model, const NodeInfo& node, const TensorView* inputs, int num_inputs,
                    const TensorView* outputs, int num_outputs, PreparedKernel* prepared);
};

// The portable reference backend: runs every op with the ops' own forward kernels.
const Backend& reference_backend();

// A backend by name: "reference"; "xnnpack" when this build has it; "auto", the rule of
// docs/design.md (today: XNNPACK for the nodes it runs where built, the reference backend for
// the rest). Null for an unknown name or one this build lacks.
const Backend* find_backend(const char* name);
// The names this build knows, for messages ("reference, xnnpack, auto").
const char* backend_names();

// XNNPACK (runtime/backends/xnnpack/), or null when the build has none.
const Backend* xnnpack_backend();

}  // namespace preflight
