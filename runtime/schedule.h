// A method's schedule and its arena plan, the two halves of Program::prepare before it makes the
// steps: which backend runs each node (and which Relu or Clamp it fuses), then where each
// non-persistent tensor lives in the arena.
#pragma once

#include <vector>

#include "runtime/backend.h"
#include "runtime/memory_plan.h"
#include "runtime/model.h"

namespace preflight {

// Per step of the method (its nodes in order).
struct Schedule {
  std::vector<const Backend*> chosen;     // the backend that runs the node (backend_for: it, or the reference)
  std::vector<bool> prepared;             // whether that backend prepares the node (at bind) rather than a plain kernel
  // fused_into_previous[s]: step s is a Relu or Clamp that step s - 1 computes too (it reads that
  // step's only output and is its only reader, and the backend fuses the pair). One entry more
  // than there are steps (false), so s + 1 may be asked of the last step.
  std::vector<bool> fused_into_previous;
  std::vector<const Backend*> rival;      // auto: a second candidate timed against `chosen` at bind, or null
};

// Scheduling: picks the backend of every node of `method`, and the fusions.
Schedule schedule_method(const Model& model, const MethodInfo& method, const Backend& backend);

// Planning: the arena buffers of `method` under `schedule`: each tensor with role Input,
// Activation or Output, live from the step that writes it (0 for method inputs; a fused
// activation's output is written by the step before it, and its input never is) to the last step
// that reads it (the end for method outputs). plan_arena places them.
std::vector<PlannedBuffer> method_buffers(const Model& model, const MethodInfo& method, const Schedule& schedule);

}  // namespace preflight
