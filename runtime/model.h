// A loaded, verified model: the bytes of a .pfb plus what verification derived from them.
//
// Loading never trusts the file (runtime/verify.cc): the FlatBuffers Verifier runs first, then the
// semantic checks (indices in range, shapes non-negative and consistent with each op's shape
// inference, buffer sizes equal shape x dtype size, no cycles, limits). There is no unverified load
// path. The weights stay where they are (zero-copy): a Model borrows the caller's bytes or owns a
// read-only mmap of the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ops/op.h"
#include "core/status.h"

namespace preflight {

// The schema version this build reads and writes (schemas/model.fbs, Model.schema_version).
constexpr uint32_t kSchemaVersion = 1;
// Inline buffers and segment offsets are aligned to this many bytes.
constexpr size_t kBufferAlignment = 64;
// Byte spans handed to Model::load_bytes must start at an address aligned to this.
constexpr size_t kLoadAlignment = 16;

// Limits checked before anything is allocated for a model; a model over one is refused with an
// error that names the limit and the value. Defaults suit every bundled model with ample margin.
struct LoadLimits {
  uint64_t max_file_bytes = uint64_t{1} << 31;       // 2 GiB
  uint32_t max_tensors = 1u << 16;
  uint32_t max_nodes = 1u << 16;
  uint32_t max_methods = 64;
  int64_t max_tensor_elements = int64_t{1} << 32;
  uint64_t max_arena_bytes = uint64_t{1} << 31;      // checked when a Session plans its arena
  uint32_t max_flatbuffer_depth = 64;                // FlatBuffers Verifier nesting depth
};

struct TensorInfo {
  const char* name = "";   // points into the model bytes; never null
  fb::TensorRole role = fb::TensorRole::Activation;
  TensorDesc desc;
  const void* data = nullptr;  // parameters, constants, optimizer state: their bytes in the file
};

struct NodeInfo {
  const char* name = "";
  const OpDef* op = nullptr;
  OpAttrs attrs;
  std::vector<int> inputs;
  std::vector<int> outputs;
  // A backward node (schemas/model.fbs, Node.backward): inputs are the forward inputs, outputs and
  // output gradients; outputs are the gradients of the forward inputs set in grad_mask.
  bool backward = false;
  uint32_t grad_mask = 0;
  int num_forward_inputs = 0;  // inputs of the forward op (all inputs for a forward node)
};

struct MethodInfo {
  const char* name = "";
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::vector<int> nodes;  // execution order
};

// A stored test vector (schemas/model.fbs, TestVector), verified: every tensor's data has exactly
// its shape's bytes; data points into the model bytes (unaligned: copy before reading).
struct TestTensorInfo {
  const char* name = "";
  TensorDesc desc;
  const void* data = nullptr;
};
struct TestVectorInfo {
  const char* method = "";
  std::vector<TestTensorInfo> inputs, expected;
  float rtol = 0.0f, atol = 0.0f;
};

class Model {
 public:
  // Verifies `size` bytes at `data`, which must stay alive and unchanged while the Model is used.
  // `data` must be aligned to kLoadAlignment.
  static Result<Model> load_bytes(const void* data, size_t size, const LoadLimits& limits = LoadLimits());
  // Maps the file read-only and verifies it. Errors name the path.
  static Result<Model> load_file(const char* path, const LoadLimits& limits = LoadLimits());

  Model(Model&& other) noexcept;
  Model& operator=(Model&& other) noexcept;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();

  const fb::Model& flatbuffer() const { return *root_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  const std::vector<MethodInfo>& methods() const { return methods_; }
  const std::vector<TestVectorInfo>& test_vectors() const { return test_vectors_; }
  const LoadLimits& limits() const { return limits_; }
  // Index of the method called `name`, or -1.
  int find_method(const char* name) const;
  // Reshape (runtime/reshape.cc). Input `input` of method `method` carries the batch dim when it
  // has rank >= 1 and its dim 0 equals that of the method's first input of rank >= 1 (scalars such
  // as hyper-parameters have none); graph::is_batched_input is the same rule on a graph.
  bool is_batched_input(int method, int input) const;
  // The method's batch: dim 0 of its first input of rank >= 1, or 0 when it has none.
  int64_t batch(int method) const;
  // The batch that inputs of these shapes ask for: the model's own when they match its shapes, a
  // new one when they differ only in the batch dim of the batched inputs, all by the same batch.
  // Anything else is an error naming the input and both shapes.
  Result<int64_t> batch_for(int method, const TensorDesc* inputs, size_t count) const;
  // Re-plans the model for another batch: dim 0 of every method's batched inputs becomes `batch`,
  // and every node's outputs are re-inferred from them in each method's order by the op's own
  // shape rule. Open a Session afterwards (it plans the arena and prepares the kernels). On an
  // error (a shape tied to the old batch, such as a Reshape to [1, 64]; a tensor over
  // max_tensor_elements) the error names the node or tensor and the model is unchanged. The
  // weights stay where they are.
  Status set_batch(int64_t batch);

  // The whole file, and the weight segment (empty when there is none).
  const uint8_t* bytes() const { return bytes_; }
  size_t size() const { return size_; }

 private:
  Model() = default;
  friend Status verify_model(Model* model);

  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  void unmap();
  void* mapping_ = nullptr;  // owned mmap of load_file, unmapped by the destructor
  size_t mapping_size_ = 0;
  const fb::Model* root_ = nullptr;
  LoadLimits limits_;
  std::vector<TensorInfo> tensors_;
  std::vector<NodeInfo> nodes_;
  std::vector<MethodInfo> methods_;
  std::vector<TestVectorInfo> test_vectors_;
};

// Runs every check on model->bytes_ and fills the derived tables (runtime/verify.cc).
Status verify_model(Model* model);

const char* role_name(fb::TensorRole role);

}  // namespace preflight
