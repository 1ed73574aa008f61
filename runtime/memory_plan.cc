#include "runtime/memory_plan.h"

#include <algorithm>

namespace preflight {
namespace {

size_t align_size(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

bool lifetimes_overlap(const PlannedBuffer& a, const PlannedBuffer& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

MemoryPlan plan_arena(std::vector<PlannedBuffer> buffers, size_t alignment) {
  std::vector<size_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // A total order (ids are unique): std::sort is deterministic here, and smaller than stable_sort.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].size != buffers[b].size) return buffers[a].size > buffers[b].size;
    if (buffers[a].first_step != buffers[b].first_step) return buffers[a].first_step < buffers[b].first_step;
    return buffers[a].id < buffers[b].id;
  });
  std::vector<size_t> placed;  // indices into buffers, kept sorted by offset
  std::vector<size_t> conflicts;
  size_t arena = 0;
  for (size_t index : order) {
    PlannedBuffer& buffer = buffers[index];
    const size_t need = align_size(buffer.size, alignment);
    conflicts.clear();
    for (size_t other : placed) {
      if (lifetimes_overlap(buffer, buffers[other])) conflicts.push_back(other);
    }
    // `placed` is sorted by offset, so `conflicts` is too: take the first gap that fits.
    size_t candidate = 0;
    for (size_t other : conflicts) {
      const PlannedBuffer& o = buffers[other];
      if (o.offset >= candidate + need) break;
      candidate = std::max(candidate, align_size(o.offset + o.size, alignment));
    }
    buffer.offset = candidate;
    arena = std::max(arena, candidate + need);
    placed.insert(std::upper_bound(placed.begin(), placed.end(), index,
                                   [&](size_t a, size_t b) { return buffers[a].offset < buffers[b].offset; }),
                  index);
  }
  MemoryPlan plan;
  plan.buffers = std::move(buffers);
  plan.arena_bytes = arena;
  return plan;
}

size_t lifetime_lower_bound(const std::vector<PlannedBuffer>& buffers, size_t alignment) {
  int last = 0;
  for (const PlannedBuffer& b : buffers) last = std::max(last, b.last_step);
  size_t best = 0;
  for (int step = 0; step <= last; ++step) {
    size_t live = 0;
    for (const PlannedBuffer& b : buffers) {
      if (b.first_step <= step && step <= b.last_step) live += align_size(b.size, alignment);
    }
    best = std::max(best, live);
  }
  return best;
}

bool plan_has_overlap(const MemoryPlan& plan, char* message, size_t capacity) {
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    for (size_t j = i + 1; j < plan.buffers.size(); ++j) {
      const PlannedBuffer& a = plan.buffers[i];
      const PlannedBuffer& b = plan.buffers[j];
      if (a.size == 0 || b.size == 0 || !lifetimes_overlap(a, b)) continue;
      if (a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
        std::snprintf(message, capacity, "tensors %d [%zu, +%zu) and %d [%zu, +%zu) are live together and overlap",
                      a.id, a.offset, a.size, b.id, b.offset, b.size);
        return true;
      }
    }
  }
  return false;
}

void print_memory_plan(const MemoryPlan& plan, std::FILE* out) {
  int last = 0;
  for (const PlannedBuffer& b : plan.buffers) last = std::max(last, b.last_step);
  std::fprintf(out, "  %6s %10s %10s  %s\n", "tensor", "offset", "bytes", "live steps");
  for (const PlannedBuffer& b : plan.buffers) {
    std::fprintf(out, "  %6d %10zu %10zu  ", b.id, b.offset, b.size);
    for (int step = 0; step <= last && step < 64; ++step) std::fputc(step >= b.first_step && step <= b.last_step ? '#' : '.', out);
    std::fprintf(out, " [%d, %d]\n", b.first_step, b.last_step);
  }
}

}  // namespace preflight
