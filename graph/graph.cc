#include "graph/graph.h"

#include "ops/registry.h"

namespace preflight {
namespace graph {

int Graph::find_tensor(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Graph::find_method(const std::string& name) const {
  for (size_t i = 0; i < methods.size(); ++i) {
    if (methods[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int64_t Graph::parameter_count() const {
  int64_t count = 0;
  for (const Tensor& t : tensors) {
    if (t.role == fb::TensorRole::Parameter) count += t.desc.num_elements();
  }
  return count;
}

int64_t Graph::parameter_bytes() const {
  int64_t bytes = 0;
  for (const Tensor& t : tensors) {
    if (t.role == fb::TensorRole::Parameter) bytes += static_cast<int64_t>(t.desc.num_bytes());
  }
  return bytes;
}

int add_tensor(Graph* graph, const std::string& name, const TensorDesc& desc, fb::TensorRole role) {
  Tensor tensor;
  tensor.name = name;
  tensor.desc = desc;
  tensor.role = role;
  if (role == fb::TensorRole::Parameter || role == fb::TensorRole::Constant || role == fb::TensorRole::OptimizerState ||
      role == fb::TensorRole::Buffer) {
    tensor.data.assign(desc.num_bytes(), 0);
  }
  graph->tensors.push_back(std::move(tensor));
  return static_cast<int>(graph->tensors.size()) - 1;
}

Status infer_shapes(Graph* graph) {
  for (const Method& method : graph->methods) {
    for (int n : method.nodes) {
      PF_CHECK(n >= 0 && static_cast<size_t>(n) < graph->nodes.size(), Error::kInvalidModel,
               "method '%s': node index %d is out of range", method.name.c_str(), n);
      Node& node = graph->nodes[static_cast<size_t>(n)];
      const OpDef* op = find_op(node.op);
      PF_CHECK(op != nullptr, Error::kInvalidModel, "node %d '%s': unknown op %d", n, node.name.c_str(),
               static_cast<int>(node.op));
      for (int t : node.inputs) {
        PF_CHECK(t >= 0 && static_cast<size_t>(t) < graph->tensors.size(), Error::kInvalidModel,
                 "node %d '%s': tensor index %d is out of range", n, node.name.c_str(), t);
      }
      for (int t : node.outputs) {
        PF_CHECK(t >= 0 && static_cast<size_t>(t) < graph->tensors.size(), Error::kInvalidModel,
                 "node %d '%s': tensor index %d is out of range", n, node.name.c_str(), t);
      }
      const int num_inputs = static_cast<int>(node.inputs.size());
      // A backward node: the forward op's inference checks its first inputs; each gradient takes
      // the shape of its forward input.
      const int forward_inputs = node.backward ? num_inputs - 2 * op->num_outputs : num_inputs;
      PF_CHECK(forward_inputs >= op->min_inputs && forward_inputs <= op->max_inputs &&
                   (node.backward || static_cast<int>(node.outputs.size()) == op->num_outputs),
               Error::kInvalidModel, "node %d '%s' (%s): wrong number of inputs or outputs", n, node.name.c_str(),
               op->name);
      std::vector<TensorDesc> inputs;
      for (int i = 0; i < forward_inputs; ++i) inputs.push_back(graph->tensors[static_cast<size_t>(node.inputs[i])].desc);
      TensorDesc outputs[kMaxNodeOutputs];
      const Status status = op->infer(node.attrs, inputs.data(), forward_inputs, outputs);
      if (!status.is_ok()) return status.with_context("node %d (%s '%s'): ", n, op->name, node.name.c_str());
      if (node.backward) {
        size_t output = 0;
        for (int i = 0; i < forward_inputs && output < node.outputs.size(); ++i) {
          if (node.grad_mask >> i & 1u) graph->tensors[static_cast<size_t>(node.outputs[output++])].desc = inputs[static_cast<size_t>(i)];
        }
      } else {
        for (size_t i = 0; i < node.outputs.size(); ++i) graph->tensors[static_cast<size_t>(node.outputs[i])].desc = outputs[i];
      }
    }
  }
  return Status::ok();
}

bool is_batched_input(const Graph& graph, size_t m, size_t i) {
  const Method& method = graph.methods[m];
  const TensorDesc& desc = graph.tensors[static_cast<size_t>(method.inputs[i])].desc;
  if (desc.rank < 1) return false;  // scalars (hyper-parameters) have no batch
  for (int t : method.inputs) {
    const TensorDesc& first = graph.tensors[static_cast<size_t>(t)].desc;
    if (first.rank >= 1) return first.dims[0] == desc.dims[0];
  }
  return false;
}

Status set_batch(Graph* graph, int64_t batch) {
  PF_CHECK(batch >= 1, Error::kInvalidArgument, "batch must be >= 1, got %lld", static_cast<long long>(batch));
  // Decided on the shapes as they are, then set: one tensor may be an input of several methods.
  std::vector<int> batched;
  for (size_t m = 0; m < graph->methods.size(); ++m) {
    for (size_t i = 0; i < graph->methods[m].inputs.size(); ++i) {
      if (is_batched_input(*graph, m, i)) batched.push_back(graph->methods[m].inputs[i]);
    }
  }
  for (int t : batched) graph->tensors[static_cast<size_t>(t)].desc.dims[0] = batch;
  return infer_shapes(graph);
}

}  // namespace graph
}  // namespace preflight
