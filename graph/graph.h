// The host-side graph IR: a mutable mirror of the file format that passes and importers edit.
//
// A Graph is what GraphBuilder makes, what serialize() writes as a .pfb, and what read_graph()
// gets back from a verified Model. Indices (tensor, node) are positions in the vectors, as in the
// file. Host-only: the device library never sees this type.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/op.h"

namespace preflight {
namespace graph {

struct Tensor {
  std::string name;
  TensorDesc desc;
  fb::TensorRole role = fb::TensorRole::Activation;
  std::vector<uint8_t> data;  // the bytes of parameters, constants and optimizer state
};

struct Node {
  std::string name;
  OpType op = OpType::Relu;
  OpAttrs attrs;
  std::vector<int> inputs;
  std::vector<int> outputs;
  bool backward = false;   // runs op's backward kernel (schemas/model.fbs, Node.backward)
  uint32_t grad_mask = 0;  // backward: which forward inputs get a gradient
};

struct Method {
  std::string name;
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::vector<int> nodes;  // execution order
};

struct Metadata {
  std::string producer = "preflight";
  std::string description;
  std::vector<std::pair<std::string, std::string>> entries;  // written sorted by key
};

// Inputs and expected outputs of one run of a method (schemas/model.fbs, TestVector).
struct TestTensor {
  std::string name;
  TensorDesc desc;
  std::vector<uint8_t> data;
};
struct TestVector {
  std::string method;
  std::vector<TestTensor> inputs, expected;
  float rtol = 1e-4f, atol = 1e-5f;
};

struct Graph {
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;
  std::vector<Method> methods;
  Metadata metadata;
  std::vector<TestVector> test_vectors;

  int find_tensor(const std::string& name) const;  // -1 when absent
  int find_method(const std::string& name) const;
  // Parameters and their total bytes (inspect's summary).
  int64_t parameter_count() const;
  int64_t parameter_bytes() const;
};

// Appends a tensor and returns its index. Persistent roles get zero bytes of the shape's size.
int add_tensor(Graph* graph, const std::string& name, const TensorDesc& desc, fb::TensorRole role);

// Recomputes every node's output descriptions from its inputs, in each method's order (use after
// changing an input shape). Fails naming the node whose inference fails.
Status infer_shapes(Graph* graph);

// The batch dim of a method: dim 0 of its first input of rank >= 1 and of every other input whose
// dim 0 is the same (the labels of train_step); an input of another dim 0 (the second operand of a
// MatMul, [3, 4] beside [2, 3]) has no batch, nor has a scalar. True when input `i` of method `m`
// is batched.
bool is_batched_input(const Graph& graph, size_t m, size_t i);

// Sets the batch dim (is_batched_input) of every method's inputs to `batch` and re-infers all
// shapes. Fails naming the node when a shape depends on the old batch (a Reshape with a fixed batch).
Status set_batch(Graph* graph, int64_t batch);

// Checks a graph before it is written: names non-empty and unique (tensors, nodes, methods), then
// everything the runtime's loader checks (types, shapes, arity, attributes, dangling tensors,
// cycles), by serializing and verifying. Errors name the tensor, node or method.
Status validate(const Graph& graph);

}  // namespace graph
}  // namespace preflight
