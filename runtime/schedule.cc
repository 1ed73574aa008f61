#include "runtime/schedule.h"

#include <algorithm>

namespace preflight {

// ---- Scheduling ----
Schedule schedule_method(const Model& model, const MethodInfo& method, const Backend& backend) {
  const auto& tensors = model.tensors();
  // Which backend runs each node, and which Relu or Clamp runs inside the prepared forward node
  // before it (reading that node's only output, and the only reader of it), when the backend fuses.
  const int end_step = static_cast<int>(method.nodes.size());
  Schedule schedule;
  std::vector<const Backend*>& chosen = schedule.chosen;
  std::vector<bool>& prepared = schedule.prepared;
  std::vector<bool>& fused_into_previous = schedule.fused_into_previous;
  // Constructed at their sizes (not resize or assign: vector<bool>'s fill-insert costs the
  // embedded core about 1 KB of code).
  chosen = std::vector<const Backend*>(method.nodes.size(), nullptr);
  prepared = std::vector<bool>(method.nodes.size(), false);
  fused_into_previous = std::vector<bool>(method.nodes.size() + 1, false);
  std::vector<int> readers(tensors.size(), 0);
  for (int n : method.nodes) {
    for (int t : model.nodes()[static_cast<size_t>(n)].inputs) ++readers[static_cast<size_t>(t)];
  }
  for (int t : method.outputs) ++readers[static_cast<size_t>(t)];
  // With two candidates (auto), the second is timed against the first at bind.
  std::vector<const Backend*>& rival = schedule.rival;
  rival = std::vector<const Backend*>(method.nodes.size(), nullptr);
  const auto prepares = [&](const Backend* b, const NodeInfo& node) { return b->prepare && (!b->prepares || b->prepares(model, node)); };
  for (int step = 0; step < end_step; ++step) {
    const NodeInfo& node = model.nodes()[static_cast<size_t>(method.nodes[static_cast<size_t>(step)])];
    chosen[step] = &backend_for(backend, model, node);
    prepared[step] = prepares(chosen[step], node);
    const Backend* candidates[2];
    if (backend.candidates && backend.candidates(model, node, candidates) == 2 && prepared[step] &&
        prepares(candidates[1], node)) {
      rival[step] = candidates[1];
    }
  }
  for (int step = 0; step + 1 < end_step; ++step) {
    const NodeInfo& node = model.nodes()[static_cast<size_t>(method.nodes[static_cast<size_t>(step)])];
    const NodeInfo& next = model.nodes()[static_cast<size_t>(method.nodes[static_cast<size_t>(step + 1)])];
    if (!prepared[step] || node.backward || fused_into_previous[step] || !chosen[step]->fuses || node.outputs.size() != 1) continue;
    const int t = node.outputs[0];
    const OpType act = next.op->type;  // the backend's `fuses` says which of these it takes
    fused_into_previous[step + 1] = !next.backward &&
                                    (act == OpType::Relu || act == OpType::Clamp || act == OpType::Silu || act == OpType::HardSwish) &&
                                    next.inputs.size() == 1 && next.inputs[0] == t && readers[static_cast<size_t>(t)] == 1 &&
                                    chosen[step + 1] == chosen[step] && chosen[step]->fuses(model, node, next);
    // A fused pair switches backend only as a pair: the rival must run and fuse the activation too.
    const Backend* other = rival[step];
    if (fused_into_previous[step + 1] && other &&
        !(other->fuses && other->supports(model, next) && other->fuses(model, node, next))) {
      rival[step] = nullptr;
    }
  }
  return schedule;
}

// ---- Planning ----
std::vector<PlannedBuffer> method_buffers(const Model& model, const MethodInfo& method, const Schedule& schedule) {
  const auto& tensors = model.tensors();
  const int end_step = static_cast<int>(method.nodes.size());
  const std::vector<bool>& fused_into_previous = schedule.fused_into_previous;
  // Lifetimes of the tensors this method keeps in the arena.
  std::vector<int> first(tensors.size(), -1), last(tensors.size(), -1);
  auto in_arena = [&](int t) {
    const fb::TensorRole role = tensors[static_cast<size_t>(t)].role;
    return role == fb::TensorRole::Activation || role == fb::TensorRole::Input || role == fb::TensorRole::Output;
  };
  for (int t : method.inputs) first[t] = last[t] = 0;
  for (int step = 0; step < end_step; ++step) {
    const NodeInfo& node = model.nodes()[static_cast<size_t>(method.nodes[static_cast<size_t>(step)])];
    for (int t : node.inputs) {
      if (in_arena(t)) last[t] = std::max(last[t], step);
    }
    // A fused activation's output is written by the step before it.
    for (int t : node.outputs) first[t] = last[t] = fused_into_previous[step] ? step - 1 : step;
    // and its input is never written: no place for it.
    if (fused_into_previous[step]) first[node.inputs[0]] = -1;
  }
  for (int t : method.outputs) {
    if (in_arena(t)) last[t] = end_step;
  }
  std::vector<PlannedBuffer> buffers;
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (first[t] < 0 || !in_arena(static_cast<int>(t))) continue;
    PlannedBuffer buffer;
    buffer.id = static_cast<int>(t);
    buffer.size = tensors[t].desc.num_bytes();
    buffer.first_step = first[t];
    buffer.last_step = last[t];
    buffers.push_back(buffer);
  }
  return buffers;
}

}  // namespace preflight
