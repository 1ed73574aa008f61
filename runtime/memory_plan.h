// The arena memory planner: every non-persistent tensor of a method gets an offset in one arena.
//
// Algorithm (greedy by size, as TensorFlow Lite Micro's GreedyMemoryPlanner):
//   1. Each buffer has a size and a lifetime [first_step, last_step]: from the step that writes it
//      (step 0 for method inputs) to the last step that reads it (the end for method outputs).
//      A node's outputs are live together with its inputs: kernels never run in place.
//   2. Buffers are placed largest first (ties: earlier first_step, then lower id).
//   3. Each goes at the lowest offset, aligned to `alignment`, where it overlaps no placed buffer
//      whose lifetime overlaps its own: the gaps between such buffers are scanned in offset order.
//   4. The arena size is the highest end offset.
// The lower bound that no plan can beat is the largest total of live bytes at any one step;
// `lifetime_lower_bound` computes it so tests and `preflight inspect` can compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace preflight {

struct PlannedBuffer {
  int id = 0;          // the tensor index, for reports
  size_t size = 0;     // bytes, before alignment
  int first_step = 0;  // inclusive
  int last_step = 0;   // inclusive
  size_t offset = 0;   // filled by plan_arena
};

struct MemoryPlan {
  std::vector<PlannedBuffer> buffers;
  size_t arena_bytes = 0;
};

// Places every buffer; deterministic for a given input.
MemoryPlan plan_arena(std::vector<PlannedBuffer> buffers, size_t alignment);

// max over steps of the sum of the (aligned) sizes of the buffers live at that step.
size_t lifetime_lower_bound(const std::vector<PlannedBuffer>& buffers, size_t alignment);

// true when two buffers with overlapping lifetimes overlap in memory; `message` names them.
bool plan_has_overlap(const MemoryPlan& plan, char* message, size_t capacity);

// One line per buffer: id, offset, size, lifetime, and a bar of the steps it is live.
void print_memory_plan(const MemoryPlan& plan, std::FILE* out);

}  // namespace preflight
