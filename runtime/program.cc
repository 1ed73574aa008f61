#include "runtime/program.h"

#include "runtime/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace preflight {

Result<Program> Program::prepare(const Model& model, int method_index, const Backend& backend) {
  PF_CHECK(method_index >= 0 && static_cast<size_t>(method_index) < model.methods().size(), Error::kInvalidArgument,
           "method index %d is out of range", method_index);
  const MethodInfo& method = model.methods()[static_cast<size_t>(method_index)];
  const auto& tensors = model.tensors();
  Program program;
  program.model_ = &model;
  program.method_index_ = method_index;
  program.device_ops_ = backend.device;
  program.arena_offsets_.assign(tensors.size(), -1);
  program.tensor_data_.assign(tensors.size(), nullptr);

  // Scheduling, then planning (runtime/schedule.cc).
  const int end_step = static_cast<int>(method.nodes.size());
  const Schedule schedule = schedule_method(model, method, backend);
  const std::vector<const Backend*>& chosen = schedule.chosen;
  const std::vector<bool>& prepared = schedule.prepared;
  const std::vector<bool>& fused_into_previous = schedule.fused_into_previous;
  const std::vector<const Backend*>& rival = schedule.rival;
  std::vector<PlannedBuffer> buffers = method_buffers(model, method, schedule);
  program.lower_bound_ = lifetime_lower_bound(buffers, kBufferAlignment);
  program.plan_ = plan_arena(std::move(buffers), kBufferAlignment);
  PF_CHECK(program.plan_.arena_bytes <= model.limits().max_arena_bytes, Error::kResourceLimit,
           "method '%s': arena of %zu bytes is above the limit max_arena_bytes = %llu", method.name,
           program.plan_.arena_bytes, static_cast<unsigned long long>(model.limits().max_arena_bytes));
  for (const PlannedBuffer& buffer : program.plan_.buffers) {
    program.arena_offsets_[static_cast<size_t>(buffer.id)] = static_cast<int64_t>(buffer.offset);
  }

  for (int step = 0; step < end_step; ++step) {
    const int n = method.nodes[static_cast<size_t>(step)];
    const NodeInfo& node = model.nodes()[static_cast<size_t>(n)];
    const Backend& runs = *chosen[step];
    Step planned = {n, nullptr, nullptr, program.views_.size(), 0, &runs, PreparedKernel(), -1, rival[step], step};
    if (prepared[step]) {
      // Nothing to look up: bind() prepares it.
    } else if (node.backward) {
      planned.backward_kernel = runs.backward_kernel(model, node);
    } else {
      planned.kernel = runs.kernel(model, node);
    }
    PF_CHECK(prepared[step] || planned.kernel != nullptr || planned.backward_kernel != nullptr, Error::kUnsupported,
             "method '%s' node %d (%s '%s'): backend %s has no %s kernel", method.name, n, node.op->name, node.name,
             runs.name, node.backward ? "backward" : "forward");
    const NodeInfo* fused = nullptr;
    if (fused_into_previous[step + 1]) {
      planned.fused_node = method.nodes[static_cast<size_t>(step + 1)];
      fused = &model.nodes()[static_cast<size_t>(planned.fused_node)];
    }
    for (int t : node.inputs) program.view_tensors_.push_back(t);
    if (node.backward) {
      planned.first_grad_view = program.view_tensors_.size();
      size_t output = 0;
      for (int i = 0; i < node.num_forward_inputs; ++i) {
        program.view_tensors_.push_back(node.grad_mask >> i & 1u ? node.outputs[output++] : -1);
      }
    } else {
      for (int t : (fused ? fused->outputs : node.outputs)) program.view_tensors_.push_back(t);
    }
    program.views_.resize(program.view_tensors_.size());
    program.steps_.push_back(planned);
    program.step_backends_.push_back(runs.name);
    if (fused) {
      program.step_backends_.push_back(runs.name);
      ++step;
    }
  }
  for (size_t v = 0; v < program.views_.size(); ++v) {
    const int t = program.view_tensors_[v];
    if (t >= 0) program.views_[v].desc = tensors[static_cast<size_t>(t)].desc;
  }
  return Result<Program>(std::move(program));
}

Program::Program(Program&& other) noexcept { *this = std::move(other); }

Program& Program::operator=(Program&& other) noexcept {
  if (this == &other) return *this;
  release_prepared();
  model_ = other.model_;
  method_index_ = other.method_index_;
  steps_ = std::move(other.steps_);
  views_ = std::move(other.views_);
  view_tensors_ = std::move(other.view_tensors_);
  view_mutable_ = std::move(other.view_mutable_);
  arena_offsets_ = std::move(other.arena_offsets_);
  tensor_data_ = std::move(other.tensor_data_);
  step_backends_ = std::move(other.step_backends_);
  device_ops_ = other.device_ops_;
  device_ = other.device_;
  plan_ = std::move(other.plan_);
  lower_bound_ = other.lower_bound_;
  other.steps_.clear();  // the prepared states now belong here
  return *this;
}

Program::~Program() { release_prepared(); }

void Program::release_prepared() {
  for (Step& step : steps_) {
    if (step.prepared.destroy) step.prepared.destroy(step.prepared.state);
    step.prepared = PreparedKernel();
  }
}


Status Program::bind(uint8_t* arena, const std::vector<void*>& writable, void* device) {
  PF_CHECK((device != nullptr) == (device_ops_ != nullptr), Error::kInvalidArgument,
           "method '%s': a device backend binds with its device, another backend without one",
           model_->methods()[static_cast<size_t>(method_index_)].name);
  device_ = device;
  const auto& tensors = model_->tensors();
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (arena_offsets_[t] >= 0) {
      tensor_data_[t] = arena + arena_offsets_[t];
    } else if (writable[t] != nullptr) {
      tensor_data_[t] = writable[t];
    } else if (tensors[t].data != nullptr) {
      // Weights are read-only here; kernels take inputs as const data through a void pointer.
      tensor_data_[t] = const_cast<void*>(tensors[t].data);
    }
  }
  view_mutable_.assign(views_.size(), 0);
  for (size_t v = 0; v < views_.size(); ++v) {
    const int t = view_tensors_[v];
    views_[v].data = t >= 0 ? tensor_data_[static_cast<size_t>(t)] : nullptr;
    view_mutable_[v] = t >= 0 && (arena_offsets_[static_cast<size_t>(t)] >= 0 || writable[static_cast<size_t>(t)] != nullptr);
  }
  release_prepared();
  for (Step& step : steps_) {
    if (step.backward_kernel || step.kernel) continue;
    const NodeInfo& node = model_->nodes()[static_cast<size_t>(step.node)];
    PrepareArgs args;
    args.device = step.backend->device ? device_ : nullptr;
    args.inputs = &views_[step.first_view];
    args.num_inputs = static_cast<int>(node.inputs.size());
    if (node.backward) {
      args.outputs = &views_[step.first_grad_view];
      args.num_outputs = node.num_forward_inputs;
    } else {
      args.outputs = &views_[step.first_view + node.inputs.size()];
      args.num_outputs = static_cast<int>(node.outputs.size());
    }
    args.clamp_min = -std::numeric_limits<float>::infinity();
    args.clamp_max = std::numeric_limits<float>::infinity();
    if (step.fused_node >= 0) {
      const NodeInfo& activation = model_->nodes()[static_cast<size_t>(step.fused_node)];
      args.fused = true;
      args.fused_op = activation.op->type;
      args.fused_clamp = args.fused_op == OpType::Relu || args.fused_op == OpType::Clamp;
      if (args.fused_op == OpType::Relu) {
        args.clamp_min = 0.0f;
      } else if (args.fused_op == OpType::Clamp) {
        args.clamp_min = activation.attrs.clamp.min;
        args.clamp_max = activation.attrs.clamp.max;
      }
    }
    const Status status = step.backend->prepare(*model_, node, args, &step.prepared);
    if (!status.is_ok()) {
      return status.with_context("method '%s' node %d (%s '%s'), backend %s: ",
                                 model_->methods()[static_cast<size_t>(method_index_)].name, step.node, node.op->name,
                                 node.name, step.backend->name);
    }
    if (step.rival) {
      step.backend = faster_of(node, args, step.backend, step.rival, &step.prepared);
      step_backends_[static_cast<size_t>(step.position)] = step.backend->name;
      if (step.fused_node >= 0) step_backends_[static_cast<size_t>(step.position) + 1] = step.backend->name;
    }
  }
  return Status::ok();
}

namespace {

// Fails naming the first non-finite value of `view` (tensor `t`) and how many there are.
Status check_finite(const Model& model, int t, const TensorView& view, const char* what) {
  if (view.desc.dtype != DType::F32 || view.data == nullptr) return Status::ok();
  const float* values = view.f32();
  const int64_t count = view.desc.num_elements();
  int64_t first = -1, bad = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  PF_CHECK(bad == 0, Error::kInvalidArgument, "%s tensor %d '%s' has %lld non-finite values (first: element %lld = %g)",
           what, t, model.tensors()[static_cast<size_t>(t)].name, static_cast<long long>(bad),
           static_cast<long long>(first), first >= 0 ? static_cast<double>(values[first]) : 0.0);
  return Status::ok();
}

}  // namespace

Status Program::run(bool check_numerics) {
  // Run path: no allocation, no re-validation.
  for (const Step& step : steps_) {
    const Status status = run_step(step, check_numerics);
    if (!status.is_ok()) {
      const NodeInfo& node = model_->nodes()[static_cast<size_t>(step.node)];
      return status.with_context("method '%s' node %d (%s '%s'): ", model_->methods()[static_cast<size_t>(method_index_)].name,
                                 step.node, node.op->name, node.name);
    }
  }
  if (has_device()) {
    // What a kernel could only flag on the device (a label out of range) surfaces here.
    int failed = -1;
    const Status status = device_ops_->finish(device_, &failed);
    if (!status.is_ok()) {
      const char* method = model_->methods()[static_cast<size_t>(method_index_)].name;
      if (failed < 0 || static_cast<size_t>(failed) >= model_->nodes().size()) return status.with_context("method '%s': ", method);
      const NodeInfo& node = model_->nodes()[static_cast<size_t>(failed)];
      return status.with_context("method '%s' node %d (%s '%s'): ", method, failed, node.op->name, node.name);
    }
  }
  return Status::ok();
}

Status Program::run_step(const Step& step, bool check_numerics) {
  const NodeInfo& node = model_->nodes()[static_cast<size_t>(step.node)];
  const int num_inputs = static_cast<int>(node.inputs.size());
  const TensorView* inputs = &views_[step.first_view];
  // What the step writes: its outputs (the gradients of a backward step), then the inputs an
  // optimizer update writes in place.
  const size_t first_written = node.backward ? step.first_grad_view : step.first_view + node.inputs.size();
  const size_t end_written = first_written + static_cast<size_t>(node.backward ? node.num_forward_inputs : node.outputs.size());
  const int updated = node.backward ? 0 : node.op->num_updated_inputs;
  // A step of another backend in a device program reads and writes the host copies: its inputs
  // come from the device first, and what it wrote goes back.
  const bool on_host = has_device() && !step.backend->device;
  const auto move = [&](size_t v, bool to_device) {
    const TensorView& view = views_[v];
    // Read-only bytes (the model's weights) are the same on both sides.
    if (view.data == nullptr || view.desc.num_bytes() == 0 || !view_mutable_[v]) return Status::ok();
    return to_device ? device_ops_->upload(device_, view.data, view.desc.num_bytes())
                     : device_ops_->download(device_, view.data, view.desc.num_bytes());
  };
  if (on_host) {
    for (size_t v = step.first_view; v < step.first_view + node.inputs.size(); ++v) PF_RETURN_IF_ERROR(move(v, false));
  }
  Status status;
  if (step.prepared.run) {
    status = step.prepared.run(step.prepared.state);
  } else if (step.backward_kernel) {
    const int forward_inputs = node.num_forward_inputs;
    const int forward_outputs = node.op->num_outputs;
    TensorView* grads = &views_[step.first_grad_view];
    for (int i = 0; i < forward_inputs; ++i) {
      if (grads[i].data) std::memset(grads[i].data, 0, grads[i].desc.num_bytes());
    }
    status = step.backward_kernel(node.attrs, inputs, forward_inputs, inputs + forward_inputs,
                                  inputs + forward_inputs + forward_outputs, grads);
  } else {
    status = step.kernel(node.attrs, inputs, num_inputs, &views_[step.first_view + node.inputs.size()]);
  }
  PF_RETURN_IF_ERROR(status);
  if (on_host) {
    for (size_t v = first_written; v < end_written; ++v) PF_RETURN_IF_ERROR(move(v, true));
    for (int i = 0; i < updated; ++i) PF_RETURN_IF_ERROR(move(step.first_view + static_cast<size_t>(i), true));
  }
  if (check_numerics) {
    if (has_device() && !on_host) {  // the values are on the device: fetch them to check
      for (size_t v = first_written; v < end_written; ++v) PF_RETURN_IF_ERROR(move(v, false));
      for (int i = 0; i < updated; ++i) PF_RETURN_IF_ERROR(move(step.first_view + static_cast<size_t>(i), false));
    }
    for (size_t v = first_written; v < end_written; ++v) {
      if (view_tensors_[v] >= 0) PF_RETURN_IF_ERROR(check_finite(*model_, view_tensors_[v], views_[v], "output"));
    }
    for (int i = 0; i < updated; ++i) {
      PF_RETURN_IF_ERROR(check_finite(*model_, node.inputs[static_cast<size_t>(i)],
                                      views_[step.first_view + static_cast<size_t>(i)], "updated"));
    }
  }
  return Status::ok();
}

}  // namespace preflight
