// Export for training: adds the `train_step` and `eval` methods to a model with an `infer` method.
//
//   infer       x -> predictions                                  (unchanged)
//   eval        x, y -> loss, predictions                          (no update)
//   train_step  x, y, hyper-parameters -> loss, predictions        (updates parameters and state)
//
// train_step = the forward nodes, the loss, the backward graph (graph/autodiff.h) pruned to the
// trainable parameters, then one optimizer update per trainable parameter. Hyper-parameters are
// scalar f32 inputs so that schedules and checks change them without re-export:
//   SGD:          lr, momentum, weight_decay
//   Adam / AdamW: lr, beta1, beta2, eps, weight_decay, step (1-based, for bias correction)
// With Dropout, train_step also takes "dropout_seed" (i64 scalar, after the hyper-parameters): its
// Dropout nodes run in training mode with a counter-based mask. BatchNorm runs on batch statistics
// in train_step and updates the running statistics (Buffer tensors) at the end of the step; infer
// and eval keep the inference forms.
// Optimizer state tensors (momentum buffers, first and second moments) are OptimizerState tensors,
// zero at export, written back by train_step; checkpoints save them.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace preflight {
namespace graph {

enum class LossKind { kCrossEntropy, kMse };
enum class OptimizerKind { kSgd, kAdam, kAdamW };

struct TrainingOptions {
  LossKind loss = LossKind::kCrossEntropy;  // cross-entropy: labels "y" are i64 [batch]
  OptimizerKind optimizer = OptimizerKind::kAdam;
  bool nesterov = false;                    // SGD only
  // Clip the gradients to a global norm given at run time (input "max_grad_norm", after the
  // optimizer's hyper-parameters), as torch.nn.utils.clip_grad_norm_.
  bool clip_grad_norm = false;
  // "all", "last:N" (the parameters of the last N forward nodes that have any), or a regular
  // expression (ECMAScript) searched in parameter names.
  std::string trainable = "all";
};

// Parses the optimizer and loss names of the command line ("sgd", "adam", "adamw"; "cross_entropy", "mse").
Result<OptimizerKind> parse_optimizer(const std::string& name);
Result<LossKind> parse_loss(const std::string& name);

// The hyper-parameter inputs of train_step for an optimizer, in call order after x and y.
const std::vector<std::string>& hyperparameter_names(OptimizerKind optimizer);
// The name the training export gave a tensor before it was made unique ("lr#2" -> "lr"; names
// without a "#N" suffix are returned as they are): how the trainer finds its inputs.
std::string exported_name(const std::string& name);

// The Parameter tensors `spec` selects among those the `infer` method reads, in forward order.
// Fails for an unknown form or a selection that is empty, listing the parameter names.
Result<std::vector<int>> select_trainable(const Graph& graph, const std::string& spec);

// "Init well": sets the bias of the Linear that produces infer's predictions to `bias` (the log
// class priors for classification, the target mean for regression). Fails when the predictions
// do not come from a Linear with a bias of that size.
Status set_final_bias(Graph* graph, const std::vector<float>& bias);

// Adds eval and train_step. Fails when the graph has no `infer` method with one input and one
// output, already has the methods, or the options select nothing.
Status add_training_methods(Graph* graph, const TrainingOptions& options);

}  // namespace graph
}  // namespace preflight
