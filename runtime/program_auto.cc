// The `auto` backend's timer (docs/design.md): where a node has two candidate backends, the
// Program prepares both on the bound node, times them and keeps the faster. Host only: the
// embedded profile has the reference backend alone, so nothing to time.
#include "runtime/program.h"

#ifndef PREFLIGHT_EMBEDDED
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#endif

namespace preflight {

#ifdef PREFLIGHT_EMBEDDED
// The embedded profile has one backend (the reference): no second candidate to time.
const Backend* Program::faster_of(const NodeInfo&, const PrepareArgs&, const Backend* first, const Backend*,
                                  PreparedKernel*) const {
  return first;
}
#else
namespace {

// What decides a kernel's speed: the op, its attributes, the shapes, a fused activation, the threads.
std::string signature(const Model& model, const NodeInfo& node, const PrepareArgs& args) {
  std::string key = node.op->name;
  char buffer[256];
  for (int t : node.inputs) {
    key += ' ';
    key += describe(model.tensors()[static_cast<size_t>(t)].desc, buffer, sizeof(buffer));
  }
  const OpAttrs& a = node.attrs;
  std::snprintf(buffer, sizeof(buffer), " t%d b%d c%d,%d,%d,%d,%d,%d,%d,%d,%d p%d,%d,%d,%d,%d,%d,%d,%d,%d a%d k%g,%g f%d %g,%g o%d",
                num_threads(), node.backward, a.conv.stride_h, a.conv.stride_w, a.conv.pad_top, a.conv.pad_left, a.conv.pad_bottom,
                a.conv.pad_right, a.conv.dilation_h, a.conv.dilation_w, a.conv.groups, a.pool.kernel_h, a.pool.kernel_w,
                a.pool.stride_h, a.pool.stride_w, a.pool.pad_top, a.pool.pad_left, a.pool.pad_bottom, a.pool.pad_right,
                a.pool.count_include_pad, a.axis.axis, static_cast<double>(a.clamp.min), static_cast<double>(a.clamp.max),
                args.fused_clamp, static_cast<double>(args.clamp_min), static_cast<double>(args.clamp_max),
                args.fused ? static_cast<int>(args.fused_op) : -1);
  return key + buffer;
}

// The fastest of `runs` runs, in seconds.
double fastest_run(const PreparedKernel& kernel, int runs) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    if (!kernel.run(kernel.state).is_ok()) return 1e30;
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

// Times `first` (already in *prepared) and `second` on the bound node and keeps the faster one's
// kernel in *prepared. The choice is remembered per node signature for the process, so every
// session of a model (and every check of the recipe) runs the same kernels.
const Backend* Program::faster_of(const NodeInfo& node, const PrepareArgs& args, const Backend* first, const Backend* second,
                                  PreparedKernel* prepared) const {
  static std::mutex mutex;
  static std::map<std::string, const Backend*> chosen;
  const std::string key = signature(*model_, node, args);
  const Backend* winner = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = chosen.find(key);
    if (it != chosen.end()) winner = it->second;
  }
  if (winner == first) return first;
  PreparedKernel other;
  if (!second->prepare(*model_, node, args, &other).is_ok()) {
    if (other.destroy) other.destroy(other.state);
    return first;
  }
  if (!winner) {
    // One run each to warm caches and JIT, then the fastest of 5. The second must be faster by
    // 10% to be taken: a node timed alone is timed on hot caches, and ties go to the first.
    fastest_run(*prepared, 1);
    fastest_run(other, 1);
    winner = fastest_run(other, 5) < 0.9 * fastest_run(*prepared, 5) ? second : first;
    std::lock_guard<std::mutex> lock(mutex);
    chosen.emplace(key, winner);
  }
  if (winner == second) std::swap(*prepared, other);
  if (other.destroy) other.destroy(other.state);
  return winner;
}

#endif

}  // namespace preflight
