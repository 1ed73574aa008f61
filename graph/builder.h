// GraphBuilder: build a model in C++ the way one writes it in PyTorch.
//
//   GraphBuilder b(/*seed=*/42);
//   Value x = b.input("x", DType::F32, {1, 64});
//   Value logits = b.linear(b.relu(b.linear(x, 128)), 10);
//   b.output(logits, "logits");
//   Result<Graph> graph = b.finish();           // one method, "infer", inputs -> outputs
//
// Parameters are initialised from the seed as PyTorch does for nn.Linear and nn.Conv2d
// (Kaiming-uniform with a = sqrt(5): weights and biases uniform in +-1/sqrt(fan_in)).
// Shapes are inferred as nodes are added; the first error is kept and returned by finish(), so a
// chain of calls needs no checks in between (later calls on an invalid Value do nothing).
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/random.h"

namespace preflight {
namespace graph {

struct Value {
  int id = -1;  // tensor index; -1 after an error
  bool valid() const { return id >= 0; }
};

struct ConvOptions {
  int stride = 1;
  int padding = 0;  // the same on all four sides
  int dilation = 1;
  int groups = 1;
  bool bias = true;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(uint64_t seed = 0) : rng_(seed) {}

  Value input(const std::string& name, DType dtype, std::initializer_list<int64_t> dims);
  Value input(const std::string& name, const TensorDesc& desc);
  // A persistent tensor with the given bytes (role Parameter or Constant).
  Value parameter(const std::string& name, const TensorDesc& desc, const std::vector<float>& values);
  Value constant(const std::string& name, const TensorDesc& desc, const std::vector<float>& values);
  // A constant of any dtype from its little-endian bytes (exactly the shape's size).
  Value constant_bytes(const std::string& name, const TensorDesc& desc, const std::vector<uint8_t>& bytes);
  // A Buffer: persistent, not trained, updated by training-mode running statistics (batch norm's
  // running mean and variance).
  Value buffer(const std::string& name, const TensorDesc& desc, const std::vector<float>& values);

  Value linear(Value x, int64_t out_features, bool bias = true);
  Value matmul(Value a, Value b, bool transpose_a = false, bool transpose_b = false);
  Value conv2d(Value x, int64_t out_channels, int kernel, const ConvOptions& options = ConvOptions());
  Value depthwise_conv2d(Value x, int kernel, const ConvOptions& options = ConvOptions());
  Value max_pool2d(Value x, int kernel, int stride, int padding = 0);
  Value avg_pool2d(Value x, int kernel, int stride, int padding = 0, bool count_include_pad = false);
  Value global_avg_pool(Value x, bool keep_dims = false);
  Value relu(Value x);
  Value clamp(Value x, float min, float max);
  Value relu6(Value x) { return clamp(x, 0.0f, 6.0f); }
  Value sigmoid(Value x);
  Value tanh(Value x);
  Value gelu(Value x, bool tanh_approximation = false);
  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  Value div(Value a, Value b);
  Value reshape(Value x, std::initializer_list<int64_t> shape);
  Value flatten(Value x, int axis = 1);
  Value transpose(Value x, std::initializer_list<int> perm);
  Value concat(const std::vector<Value>& values, int axis);
  Value softmax(Value x, int axis = -1);
  Value log_softmax(Value x, int axis = -1);
  // Batch norm over the last axis; parameters start as the identity (scale 1, bias 0, running
  // mean 0, running var 1). Inference form; train_step uses batch statistics (graph/training.h).
  Value batch_norm(Value x, float epsilon = 1e-5f);
  Value layer_norm(Value x, int axis = -1, float epsilon = 1e-5f, bool affine = true);
  Value dropout(Value x, float ratio = 0.5f);
  Value softmax_cross_entropy(Value logits, Value labels, fb::Reduction reduction = fb::Reduction::Mean);
  Value mse_loss(Value prediction, Value target, fb::Reduction reduction = fb::Reduction::Mean);

  // Adds any node from its op and attributes: the general form the helpers above use. `name`
  // names the node (and its output, name + ".out"); empty: op_N.
  Value node(OpType op, const OpAttrs& attrs, const std::vector<Value>& inputs, const std::string& name = "");

  // Marks `value` as a model output named `name`.
  void output(Value value, const std::string& name);

  const TensorDesc& desc(Value value) const { return graph_.tensors[static_cast<size_t>(value.id)].desc; }
  bool is_constant(Value value) const { return value.valid() && graph_.tensors[static_cast<size_t>(value.id)].role == fb::TensorRole::Constant; }
  bool is_input(Value value) const { return value.valid() && graph_.tensors[static_cast<size_t>(value.id)].role == fb::TensorRole::Input; }
  const Status& status() const { return status_; }

  // The graph with one method, `method_name`, from every input to every output, its nodes in the
  // order they were added (only those the outputs need). Validates before returning.
  Result<Graph> finish(const std::string& method_name = "infer");

 private:
  Value add_tensor(const std::string& name, const TensorDesc& desc, fb::TensorRole role);
  Value add_uniform_parameter(const std::string& name, const TensorDesc& desc, float bound);
  std::string next_name(const char* op);
  bool fail(const Status& status);

  Graph graph_;
  SplitMix64 rng_;
  Status status_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;
  int counter_ = 0;
};

}  // namespace graph
}  // namespace preflight
