// Ahead-of-time reverse-mode autodiff: appends the backward graph of a loss to a Graph.
//
// Each forward node that lies between a trainable parameter and the loss gets one backward node
// (schemas/model.fbs, Node.backward) that runs the op's backward kernel and writes the gradients
// of exactly the inputs that need one (grad_mask). A tensor used by several nodes gets one
// gradient per use, summed with Add nodes. Pruning falls out of the masks: a node none of whose
// inputs depends on a trainable parameter gets no backward node, so fine-tuning the last layer
// never backpropagates through the frozen layers, and the network input never gets a gradient.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace preflight {
namespace graph {

struct BackwardGraph {
  std::vector<int> nodes;           // backward and summing nodes, in execution order
  std::vector<int> parameter_grads; // the gradient tensor of each parameter, in the given order
};

// `forward_nodes`: the forward order that computes `loss` (a scalar f32 tensor); `parameters`:
// the tensors to differentiate for. Adds tensors and nodes to `graph`; fails naming a parameter
// that does not affect the loss.
Result<BackwardGraph> append_backward(Graph* graph, const std::vector<int>& forward_nodes, int loss,
                                      const std::vector<int>& parameters);

}  // namespace graph
}  // namespace preflight
