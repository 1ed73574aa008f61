#include "graph/autodiff.h"

#include <cstring>
#include <set>

#include "ops/registry.h"

namespace preflight {
namespace graph {
namespace {

int add_node(Graph* graph, Node node) {
  graph->nodes.push_back(std::move(node));
  return static_cast<int>(graph->nodes.size()) - 1;
}

}  // namespace

Result<BackwardGraph> append_backward(Graph* graph, const std::vector<int>& forward_nodes, int loss,
                                      const std::vector<int>& parameters) {
  const TensorDesc scalar = make_desc(DType::F32, {});
  PF_CHECK(loss >= 0 && static_cast<size_t>(loss) < graph->tensors.size() &&
               graph->tensors[static_cast<size_t>(loss)].desc == scalar,
           Error::kInvalidArgument, "the loss must be an f32 scalar tensor");
  // Which tensors depend on a parameter (and so may need a gradient).
  std::vector<uint8_t> requires_grad(graph->tensors.size(), 0);
  for (int p : parameters) requires_grad[static_cast<size_t>(p)] = 1;
  for (int n : forward_nodes) {
    const Node& node = graph->nodes[static_cast<size_t>(n)];
    bool any = false;
    for (int t : node.inputs) any = any || requires_grad[static_cast<size_t>(t)];
    for (int t : node.outputs) requires_grad[static_cast<size_t>(t)] = any;
  }

  BackwardGraph result;
  // contributions[t]: the partial gradients of t, one per use, summed when t's gradient is needed.
  std::vector<std::vector<int>> contributions(graph->tensors.size());
  std::vector<int> gradient(graph->tensors.size(), -1);
  // Names stay unique when the graph already holds another backward pass (a training export).
  std::set<std::string> names;
  for (const Tensor& tensor : graph->tensors) names.insert(tensor.name);
  for (const Node& node : graph->nodes) names.insert(node.name);
  const auto unique = [&names](const std::string& name) {
    std::string candidate = name;
    for (int k = 2; !names.insert(candidate).second; ++k) candidate = name + "#" + std::to_string(k);
    return candidate;
  };
  // Every tensor the pass adds takes a slot in the bookkeeping too.
  const auto new_tensor = [&](const std::string& name, const TensorDesc& desc, fb::TensorRole role) {
    const int t = add_tensor(graph, unique(name), desc, role);
    requires_grad.push_back(0);
    contributions.emplace_back();
    gradient.push_back(-1);
    return t;
  };
  const auto gradient_of = [&](int t) {
    if (gradient[static_cast<size_t>(t)] >= 0 || contributions[static_cast<size_t>(t)].empty()) {
      return gradient[static_cast<size_t>(t)];
    }
    const std::vector<int> parts = contributions[static_cast<size_t>(t)];
    int sum = parts[0];
    for (size_t k = 1; k < parts.size(); ++k) {
      const std::string name = graph->tensors[static_cast<size_t>(t)].name + ".grad" + (k + 1 == parts.size() ? "" : ".sum" + std::to_string(k));
      const int next = new_tensor(name, graph->tensors[static_cast<size_t>(t)].desc, fb::TensorRole::Activation);
      Node add;
      add.name = unique(name + ".add");
      add.op = OpType::Add;
      add.inputs = {sum, parts[k]};
      add.outputs = {next};
      result.nodes.push_back(add_node(graph, std::move(add)));
      sum = next;
    }
    gradient[static_cast<size_t>(t)] = sum;
    return sum;
  };

  // d loss / d loss = 1.
  const int seed = new_tensor(graph->tensors[static_cast<size_t>(loss)].name + ".grad_seed", scalar, fb::TensorRole::Constant);
  const float one = 1.0f;
  std::memcpy(graph->tensors[static_cast<size_t>(seed)].data.data(), &one, sizeof one);
  gradient[static_cast<size_t>(loss)] = seed;

  for (auto it = forward_nodes.rbegin(); it != forward_nodes.rend(); ++it) {
    const Node forward = graph->nodes[static_cast<size_t>(*it)];  // a copy: add_node may reallocate
    const OpDef* op = find_op(forward.op);
    PF_CHECK(op != nullptr, Error::kInvalidModel, "node %d '%s': unknown op", *it, forward.name.c_str());
    std::vector<int> output_grads;
    bool needed = false;
    for (int t : forward.outputs) {
      const int g = gradient_of(t);
      output_grads.push_back(g);
      needed = needed || g >= 0;
    }
    if (!needed) continue;
    uint32_t mask = 0;
    for (size_t i = 0; i < forward.inputs.size(); ++i) {
      const Tensor& input = graph->tensors[static_cast<size_t>(forward.inputs[i])];
      if (requires_grad[static_cast<size_t>(forward.inputs[i])] && input.desc.dtype == DType::F32) mask |= 1u << i;
    }
    if (mask == 0) continue;  // pruned: nothing upstream trains
    PF_CHECK(op->backward != nullptr, Error::kUnsupported, "node %d '%s': %s has no backward", *it,
             forward.name.c_str(), op->name);
    for (size_t j = 0; j < output_grads.size(); ++j) {
      if (output_grads[j] >= 0) continue;
      // An output that does not reach the loss: its gradient is zero.
      const Tensor& out = graph->tensors[static_cast<size_t>(forward.outputs[j])];
      output_grads[j] = new_tensor(out.name + ".grad_zero", out.desc, fb::TensorRole::Constant);
    }
    Node backward;
    backward.name = unique(forward.name + ".backward");
    backward.op = forward.op;
    backward.attrs = forward.attrs;
    backward.backward = true;
    backward.grad_mask = mask;
    backward.inputs = forward.inputs;
    backward.inputs.insert(backward.inputs.end(), forward.outputs.begin(), forward.outputs.end());
    backward.inputs.insert(backward.inputs.end(), output_grads.begin(), output_grads.end());
    for (size_t i = 0; i < forward.inputs.size(); ++i) {
      if (!(mask >> i & 1u)) continue;
      const int t = forward.inputs[i];
      const std::string name = graph->tensors[static_cast<size_t>(t)].name + ".grad." + forward.name;
      const int g = new_tensor(name + (i ? "." + std::to_string(i) : ""), graph->tensors[static_cast<size_t>(t)].desc,
                               fb::TensorRole::Activation);
      backward.outputs.push_back(g);
      contributions[static_cast<size_t>(t)].push_back(g);
    }
    result.nodes.push_back(add_node(graph, std::move(backward)));
  }
  for (int p : parameters) {
    const int g = gradient_of(p);
    PF_CHECK(g >= 0, Error::kInvalidArgument, "parameter '%s' does not affect the loss",
             graph->tensors[static_cast<size_t>(p)].name.c_str());
    result.parameter_grads.push_back(g);
  }
  return Result<BackwardGraph>(std::move(result));
}

}  // namespace graph
}  // namespace preflight
