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

// What a backend prepares a node for. Forward node: its inputs and outputs. Backward node: the
// forward inputs, outputs and output gradients (`inputs`, as NodeInfo has them), and one gradient
// view per forward input (`outputs`, num_forward_inputs of them, data null where grad_mask does
// not ask for it). A prepared backward kernel *writes* its gradients (the Program does not zero
// them first, and no other step of the method writes them). The data pointers stay as they are
// until the program is freed.
struct PrepareArgs {
  const TensorView* inputs = nullptr;
  int num_inputs = 0;
  const TensorView* outputs = nullptr;
  int num_outputs = 0;
  // A Relu or Clamp fused into this forward node's output (Backend::fuses said yes): the output
  // views are the activation's, and the node writes clamp(node(x), min, max). Without one, the
  // bounds are -inf and +inf.
  bool fused_clamp = false;
  float clamp_min = 0.0f, clamp_max = 0.0f;
  // The activation fused into this node's output, whatever it is (Relu, Clamp, or a Silu or
  // HardSwish where the backend's `fuses` took one: oneDNN's post-ops), when `fused`.
  OpType fused_op = OpType::Linear;
  bool fused = false;
  // A device backend's device (DeviceOps::open), whose copies of the tensors its kernels use.
  void* device = nullptr;
};

// A backend whose kernels run on memory of its own (a GPU: OpenCL, CUDA). A Session opens one
// device for all its methods. The device holds a copy of each host region it is given (the
// session's writable tensors and arena, the model's bytes); a prepared kernel finds the copy of a
// view at the same offset in the copy of the region that holds the view's host address. Bytes
// cross between host and device only where the host reads or writes them: method inputs and
// outputs, persistent tensors the host asks for, the steps of another backend (docs/gpu.md).
struct DeviceOps {
  // Makes the copies of the `count` regions [hosts[i], hosts[i] + bytes[i]) and uploads them.
  Status (*open)(const void* const* hosts, const size_t* bytes, int count, void** device) = nullptr;
  void (*close)(void* device) = nullptr;
  // [host, host + bytes), inside one region, to its copy on the device; or back (which waits
  // for the work queued before it).
  Status (*upload)(void* device, const void* host, size_t bytes) = nullptr;
  Status (*download)(void* device, void* host, size_t bytes) = nullptr;
  // Waits for the queued work and reports what a kernel could only flag on the device (a label
  // out of range): the error, with *node set to the failing node (else -1).
  Status (*finish)(void* device, int* node) = nullptr;
};

// Whether this build can have device backends: the embedded profile has none, and its Program
// and Session leave the code that serves them out (tested by `if (kDeviceBackends && ...)`).
#ifdef PREFLIGHT_EMBEDDED
constexpr bool kDeviceBackends = false;
#else
constexpr bool kDeviceBackends = true;
#endif

// A backend's table, by named fields (the unset ones null):
//   static constexpr Backend backend = [] {
//     Backend b;
//     b.name = "xnnpack";
//     b.supports = xnnpack_supports;
//     ...
//     return b;
//   }();
struct Backend {
  const char* name = nullptr;
  // Whether this backend runs the node (forward or backward, see NodeInfo::backward).
  bool (*supports)(const Model& model, const NodeInfo& node) = nullptr;
  ForwardFn (*kernel)(const Model& model, const NodeInfo& node) = nullptr;           // forward nodes
  BackwardFn (*backward_kernel)(const Model& model, const NodeInfo& node) = nullptr;  // backward nodes
  // Optional (null: kernel() and backward_kernel() run on views at run time): prepares a node it
  // supports once the program is bound. `prepares` says for which nodes (null: all it supports).
  Status (*prepare)(const Model& model, const NodeInfo& node, const PrepareArgs& args,
                    PreparedKernel* prepared) = nullptr;
  bool (*prepares)(const Model& model, const NodeInfo& node) = nullptr;
  // Optional: whether it can fuse `activation` (a Relu or Clamp reading node's only output, read
  // by nothing else) into the prepared forward `node`.
  bool (*fuses)(const Model& model, const NodeInfo& node, const NodeInfo& activation) = nullptr;
  // Optional, for a backend that picks among others per node ("auto"): writes the backends that
  // could run the node, best guess first (at most 2), and returns how many. With two, the Program
  // times both on the bound node and keeps the faster. Null: this backend when it supports the
  // node, else the reference backend.
  int (*candidates)(const Model& model, const NodeInfo& node, const Backend** out) = nullptr;
  // Optional: a device backend (above) prepares every node it runs, on the device's copies.
  const DeviceOps* device = nullptr;
};

// The backend that runs `node` when `backend` is asked for (the first candidate, else this backend
// when it supports the node, else the reference backend).
const Backend& backend_for(const Backend& backend, const Model& model, const NodeInfo& node);

// For backends deciding what they run: whether a (forward) node of the model updates tensor t in
// place, as optimizer updates do (packed copies of t would go stale); whether every input and
// output of the node is float32.
bool updated_by_training(const Model& model, int t);
bool all_f32(const Model& model, const NodeInfo& node);

// One thread count for every backend (XNNPACK's pthreadpool, oneDNN's OpenMP): n >= 1. Set it
// before opening sessions: XNNPACK takes its pool at prepare. The default is 1.
void set_num_threads(int n);
int num_threads();

// The portable reference backend: runs every op with the ops' own forward kernels.
const Backend& reference_backend();

// A backend by name: "reference"; "xnnpack", "onednn", "opencl" and "cuda" when this build has them; "auto", the
// per-node rule of docs/design.md. Null for an unknown name or one this build lacks.
const Backend* find_backend(const char* name);
// The names this build knows, for messages ("reference, xnnpack, onednn, auto").
const char* backend_names();

// XNNPACK (runtime/backends/xnnpack/), or null when the build has none.
const Backend* xnnpack_backend();
// oneDNN (runtime/backends/onednn/), or null when the build has none.
const Backend* onednn_backend();
// OpenCL (runtime/backends/opencl/), or null when the build has none. A build with it may still
// find no OpenCL device at run time: opening a session then fails and says so.
const Backend* opencl_backend();
// CUDA (runtime/backends/cuda/: cuBLAS, cuDNN and the shared kernels), or null when the build has
// none. Like OpenCL, a build with it may find no GPU at run time: opening a session says so.
const Backend* cuda_backend();

}  // namespace preflight
