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

Status infer_shapes(Graph* graph) {
  for (const Method& method : graph->methods) {
    for (int n : method.nodes) {
      PF_CHECK(n >= 0 && static_cast<size_t>(n) < graph->nodes.size(), Error::kInvalidModel,
               "method '%s': node index %d is out of range", method.name.c_str(), n);
      Node& node = graph->nodes[static_cast<size_t>(n)];
      const OpDef* op = find_op(node.op);
      PF_CHECK(op != nullptr, Error::kInvalidModel, "node %d '%s': unknown op %d", n, node.name.c_str(),
               static_cast<int>(node.op));
      const int num_inputs = static_cast<int>(node.inputs.size());
      PF_CHECK(num_inputs >= op->min_inputs && num_inputs <= op->max_inputs &&
                   static_cast<int>(node.outputs.size()) == op->num_outputs,
               Error::kInvalidModel, "node %d '%s' (%s): wrong number of inputs or outputs", n, node.name.c_str(),
               op->name);
      std::vector<TensorDesc> inputs;
      for (int t : node.inputs) {
        PF_CHECK(t >= 0 && static_cast<size_t>(t) < graph->tensors.size(), Error::kInvalidModel,
                 "node %d '%s': tensor index %d is out of range", n, node.name.c_str(), t);
        inputs.push_back(graph->tensors[static_cast<size_t>(t)].desc);
      }
      TensorDesc outputs[kMaxNodeOutputs];
      const Status status = op->infer(node.attrs, inputs.data(), num_inputs, outputs);
      if (!status.is_ok()) return status.with_context("node %d (%s '%s'): ", n, op->name, node.name.c_str());
      for (size_t i = 0; i < node.outputs.size(); ++i) {
        PF_CHECK(node.outputs[i] >= 0 && static_cast<size_t>(node.outputs[i]) < graph->tensors.size(),
                 Error::kInvalidModel, "node %d '%s': tensor index %d is out of range", n, node.name.c_str(),
                 node.outputs[i]);
        graph->tensors[static_cast<size_t>(node.outputs[i])].desc = outputs[i];
      }
    }
  }
  return Status::ok();
}

Status set_batch(Graph* graph, int64_t batch) {
  PF_CHECK(batch >= 1, Error::kInvalidArgument, "batch must be >= 1, got %lld", static_cast<long long>(batch));
  for (const Method& method : graph->methods) {
    for (int t : method.inputs) {
      Tensor& tensor = graph->tensors[static_cast<size_t>(t)];
      PF_CHECK(tensor.desc.rank >= 1, Error::kInvalidArgument, "input '%s' is a scalar: it has no batch dim",
               tensor.name.c_str());
      tensor.desc.dims[0] = batch;
    }
  }
  return infer_shapes(graph);
}

}  // namespace graph
}  // namespace preflight
