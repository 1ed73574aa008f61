// Writing a Graph as a .pfb and reading one back from a verified Model.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "runtime/file_io.h"
#include "runtime/model.h"

namespace preflight {

// A byte vector whose storage is aligned to kBufferAlignment, so a serialized model can be
// loaded in place (Model::load_bytes needs kLoadAlignment; weights keep their 64-byte alignment).
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT
  T* allocate(size_t n) {
    const size_t bytes = (n * sizeof(T) + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
    void* p = std::aligned_alloc(kBufferAlignment, bytes ? bytes : kBufferAlignment);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};
using Bytes = std::vector<uint8_t, AlignedAllocator<uint8_t>>;

namespace graph {

struct SerializeOptions {
  // Buffers larger than this go to the weight segment after the FlatBuffer; smaller ones inline.
  size_t inline_limit = 64 * 1024;
};

// Writes the graph as a .pfb (size-prefixed FlatBuffer, then the weight segment). Does not
// validate: call validate() first, or load the result, which verifies it.
Bytes serialize(const Graph& graph, const SerializeOptions& options = SerializeOptions());

// Copies a verified model back into a Graph (weights included).
Graph read_graph(const Model& model);

// Reads a whole file into aligned memory. Errors name the path.
Result<Bytes> read_file(const std::string& path);

}  // namespace graph
}  // namespace preflight
