// A Program: one method of a model, prepared to run. Prepare does every check and allocation;
// run only binds nothing and computes (STYLE.md: Prepare checks and allocates, Run computes).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/backend.h"
#include "runtime/memory_plan.h"
#include "runtime/model.h"

namespace preflight {

class Program {
 public:
  // Orders the steps, picks a kernel per node (the backend's, else the reference one) and plans
  // the arena. Allocates; call bind() with an arena of arena_bytes() before run().
  static Result<Program> prepare(const Model& model, int method_index, const Backend& backend);

  Program() = default;
  Program(Program&& other) noexcept;
  Program& operator=(Program&& other) noexcept;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program();

  // Points every view at its place: arena offsets for activations; for persistent tensors,
  // writable[t] when it is set (tensors that training updates), else the model bytes.
  // `arena` is aligned to kBufferAlignment and at least arena_bytes() long. Backends that prepare
  // their nodes do it here (once: the addresses stay fixed); a failure names the node.
  // With a device backend, `device` is the Session's open device (DeviceOps::open): its kernels
  // use the device's copies, and run() moves the views of the steps another backend runs.
  Status bind(uint8_t* arena, const std::vector<void*>& writable, void* device = nullptr);

  // Runs the steps in order. Never allocates. A kernel error names the method, node and op.
  // With a device, the method's inputs must be on the device already and its outputs are there
  // when it returns (Session::run moves them).
  // With check_numerics, every value a step writes (outputs, gradients, updated parameters) is
  // checked, and the first NaN or Inf stops the run with an error naming the node and tensor.
  Status run(bool check_numerics = false);

  int method_index() const { return method_index_; }
  const MemoryPlan& plan() const { return plan_; }
  size_t arena_bytes() const { return plan_.arena_bytes; }
  // Lower bound of any arena plan for this method (see memory_plan.h).
  size_t lower_bound_bytes() const { return lower_bound_; }
  // Where tensor `t` lives once bound; nullptr for tensors this method does not touch.
  void* tensor_data(int t) const { return tensor_data_[static_cast<size_t>(t)]; }
  // Which backend runs each node of the method, in order (a fused activation: its producer's).
  const std::vector<const char*>& step_backends() const { return step_backends_; }

 private:
  // A forward step's views: its inputs, then its outputs. A backward step's views: the forward
  // inputs, outputs and output gradients (its inputs), then one gradient view per forward input,
  // null where grad_mask does not ask for it; the asked ones are the node's outputs, zeroed before
  // a backward kernel accumulates into them (a prepared one writes them).
  struct Step {
    int node;
    ForwardFn kernel;
    BackwardFn backward_kernel;
    size_t first_view;
    size_t first_grad_view;
    const Backend* backend;   // the one that runs it
    PreparedKernel prepared;  // when that backend prepares its nodes (made by bind)
    int fused_node;           // a Relu, Clamp, Silu or HardSwish this step computes too (its outputs are this step's), or -1
    const Backend* rival;     // auto: a second candidate, timed against `backend` at bind
    int position;             // the node's index in the method (step_backends_)
  };
  Status run_step(const Step& step, bool check_numerics);
  bool has_device() const { return kDeviceBackends && device_ != nullptr; }
  const Backend* faster_of(const NodeInfo& node, const PrepareArgs& args, const Backend* first, const Backend* second,
                           PreparedKernel* prepared) const;
  void release_prepared();

  const Model* model_ = nullptr;
  int method_index_ = 0;
  std::vector<Step> steps_;
  std::vector<TensorView> views_;
  std::vector<int> view_tensors_;       // the tensor behind each view, -1 for none
  std::vector<uint8_t> view_mutable_;   // bound: whether the view's host bytes may change (arena, writable)
  std::vector<int64_t> arena_offsets_;  // per tensor: offset in the arena, -1 when not in it
  std::vector<void*> tensor_data_;
  std::vector<const char*> step_backends_;
  const DeviceOps* device_ops_ = nullptr;  // the backend's, when it is a device backend
  void* device_ = nullptr;                 // the device bound to, or null
  MemoryPlan plan_;
  size_t lower_bound_ = 0;
};

}  // namespace preflight
