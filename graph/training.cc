#include "graph/training.h"

#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "graph/autodiff.h"
#include "ops/registry.h"

namespace preflight {
namespace graph {
namespace {

std::string parameter_list(const Graph& graph, const std::vector<int>& forward_nodes) {
  std::string names;
  for (int n : forward_nodes) {
    for (int t : graph.nodes[static_cast<size_t>(n)].inputs) {
      if (graph.tensors[static_cast<size_t>(t)].role != fb::TensorRole::Parameter) continue;
      names += (names.empty() ? "" : ", ") + graph.tensors[static_cast<size_t>(t)].name;
    }
  }
  return names;
}

}  // namespace

Result<OptimizerKind> parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "adamw") return OptimizerKind::kAdamW;
  return Status::error(Error::kInvalidArgument, "unknown optimizer '%s' (known: sgd, adam, adamw)", name.c_str());
}

Result<LossKind> parse_loss(const std::string& name) {
  if (name == "cross_entropy") return LossKind::kCrossEntropy;
  if (name == "mse") return LossKind::kMse;
  return Status::error(Error::kInvalidArgument, "unknown loss '%s' (known: cross_entropy, mse)", name.c_str());
}

std::string exported_name(const std::string& name) {
  const size_t hash = name.rfind('#');
  if (hash == std::string::npos || hash + 1 == name.size()) return name;
  for (size_t i = hash + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return name;
  }
  return name.substr(0, hash);
}

const std::vector<std::string>& hyperparameter_names(OptimizerKind optimizer) {
  static const std::vector<std::string> sgd = {"lr", "momentum", "weight_decay"};
  static const std::vector<std::string> adam = {"lr", "beta1", "beta2", "eps", "weight_decay", "step"};
  return optimizer == OptimizerKind::kSgd ? sgd : adam;
}

Result<std::vector<int>> select_trainable(const Graph& graph, const std::string& spec) {
  const int m = graph.find_method("infer");
  PF_CHECK(m >= 0, Error::kInvalidArgument, "the model has no 'infer' method to train");
  const std::vector<int>& forward = graph.methods[static_cast<size_t>(m)].nodes;
  // Parameters in forward order, grouped by the node that reads them.
  std::vector<std::vector<int>> by_node;
  std::vector<uint8_t> seen(graph.tensors.size(), 0);
  for (int n : forward) {
    std::vector<int> params;
    for (int t : graph.nodes[static_cast<size_t>(n)].inputs) {
      if (graph.tensors[static_cast<size_t>(t)].role == fb::TensorRole::Parameter && !seen[static_cast<size_t>(t)]) {
        seen[static_cast<size_t>(t)] = 1;
        params.push_back(t);
      }
    }
    if (!params.empty()) by_node.push_back(params);
  }
  std::vector<int> selected;
  if (spec == "all") {
    for (const auto& params : by_node) selected.insert(selected.end(), params.begin(), params.end());
  } else if (spec.rfind("last:", 0) == 0) {
    const std::string count_text = spec.substr(5);
    char* end = nullptr;
    errno = 0;
    const long long count = std::strtoll(count_text.c_str(), &end, 10);
    PF_CHECK(!count_text.empty() && *end == '\0' && errno == 0 && count >= 1 &&
                 count <= static_cast<long long>(by_node.size()),
             Error::kInvalidArgument, "trainable '%s': last:N needs a whole number N from 1 to %zu (the layers with parameters)",
             spec.c_str(), by_node.size());
    const size_t first = by_node.size() - static_cast<size_t>(count);
    for (size_t i = first; i < by_node.size(); ++i) selected.insert(selected.end(), by_node[i].begin(), by_node[i].end());
  } else {
    // RE2: linear-time matching and a parser without recursion limits to overflow (a pattern nested
    // 20,000 deep made std::regex overflow its stack); the pattern is the user's, the names the file's.
    RE2::Options re2_options;
    re2_options.set_log_errors(false);
    const RE2 pattern(spec, re2_options);
    PF_CHECK(pattern.ok(), Error::kInvalidArgument, "trainable '%.200s%s' is not a valid regular expression: %s",
             spec.c_str(), spec.size() > 200 ? "..." : "", pattern.error().c_str());
    for (const auto& params : by_node) {
      for (int t : params) {
        if (RE2::PartialMatch(graph.tensors[static_cast<size_t>(t)].name, pattern)) selected.push_back(t);
      }
    }
  }
  PF_CHECK(!selected.empty(), Error::kInvalidArgument, "trainable '%s' selects no parameter (parameters: %s)",
           spec.c_str(), parameter_list(graph, forward).c_str());
  return Result<std::vector<int>>(std::move(selected));
}

Status set_final_bias(Graph* graph, const std::vector<float>& bias) {
  const int m = graph->find_method("infer");
  PF_CHECK(m >= 0 && graph->methods[static_cast<size_t>(m)].outputs.size() == 1, Error::kInvalidArgument,
           "the model has no 'infer' method with one output");
  const int prediction = graph->methods[static_cast<size_t>(m)].outputs[0];
  for (const Node& node : graph->nodes) {
    if (node.backward || node.outputs.empty() || node.outputs[0] != prediction) continue;
    PF_CHECK(node.op == OpType::Linear && node.inputs.size() == 3, Error::kInvalidArgument,
             "node '%s' produces the predictions; only a Linear with a bias can start from the prior", node.name.c_str());
    Tensor& target = graph->tensors[static_cast<size_t>(node.inputs[2])];
    PF_CHECK(target.desc.num_elements() == static_cast<int64_t>(bias.size()), Error::kInvalidArgument,
             "the final bias '%s' has %lld values, the prior has %zu", target.name.c_str(),
             static_cast<long long>(target.desc.num_elements()), bias.size());
    std::memcpy(target.data.data(), bias.data(), bias.size() * sizeof(float));
    return Status::ok();
  }
  return Status::error(Error::kInvalidArgument, "no node of the graph produces the predictions");
}

Status add_training_methods(Graph* graph, const TrainingOptions& options) {
  const int m = graph->find_method("infer");
  PF_CHECK(m >= 0, Error::kInvalidArgument, "the model has no 'infer' method to train");
  PF_CHECK(graph->find_method("train_step") < 0 && graph->find_method("eval") < 0, Error::kInvalidArgument,
           "the model already has training methods");
  const Method infer = graph->methods[static_cast<size_t>(m)];
  PF_CHECK(infer.inputs.size() == 1 && infer.outputs.size() == 1, Error::kInvalidArgument,
           "training needs an 'infer' method with one input and one output, it has %zu and %zu",
           infer.inputs.size(), infer.outputs.size());
  Result<std::vector<int>> trainable = select_trainable(*graph, options.trainable);
  if (!trainable.is_ok()) return trainable.status();
  // The tensors the export adds take their names ("y", "loss", "lr", ...) when the model has no
  // tensor of that name, else the name with "#2", "#3", ... (as autodiff does): a model whose
  // output is called "y" keeps it. The trainer finds its inputs by the name before the "#".
  std::set<std::string> names;
  for (const Tensor& tensor : graph->tensors) names.insert(tensor.name);
  const auto add_unique = [&](const std::string& name, const TensorDesc& desc, fb::TensorRole role) {
    std::string candidate = name;
    for (int k = 2; !names.insert(candidate).second; ++k) candidate = name + "#" + std::to_string(k);
    return add_tensor(graph, candidate, desc, role);
  };

  // The loss on the predictions and the labels.
  const int prediction = infer.outputs[0];
  const TensorDesc predicted = graph->tensors[static_cast<size_t>(prediction)].desc;
  TensorDesc labels_desc;
  Node loss_node;
  loss_node.attrs.kind = fb::Attrs::LossAttrs;
  if (options.loss == LossKind::kCrossEntropy) {
    PF_CHECK(predicted.rank == 2, Error::kInvalidArgument, "cross-entropy needs predictions [batch, classes], got rank %d",
             predicted.rank);
    labels_desc = make_desc(DType::I64, {predicted.dims[0]});
    loss_node.op = OpType::SoftmaxCrossEntropy;
    loss_node.name = "softmax_cross_entropy_loss";
  } else {
    labels_desc = predicted;
    loss_node.op = OpType::MseLoss;
    loss_node.name = "mse_loss";
  }
  const int labels = add_unique("y", labels_desc, fb::TensorRole::Input);
  const int loss = add_unique("loss", make_desc(DType::F32, {}), fb::TensorRole::Output);
  loss_node.inputs = {prediction, labels};
  loss_node.outputs = {loss};
  graph->nodes.push_back(loss_node);
  const int loss_node_index = static_cast<int>(graph->nodes.size()) - 1;
  std::vector<int> forward = infer.nodes;
  forward.push_back(loss_node_index);

  // train_step's forward: Dropout and BatchNorm in training mode, as copies of their nodes (the
  // inference nodes stay for infer and eval); running statistics updated at the end of the step.
  std::vector<int> train_forward;
  std::vector<int> statistics_updates;
  int dropout_seed = -1;
  for (int n : infer.nodes) {
    const Node node = graph->nodes[static_cast<size_t>(n)];
    if (node.op == OpType::Dropout) {
      if (dropout_seed < 0) dropout_seed = add_unique("dropout_seed", make_desc(DType::I64, {}), fb::TensorRole::Input);
      Node train = node;
      train.name += ".train";
      train.attrs.kind = fb::Attrs::DropoutAttrs;
      train.attrs.dropout.training = true;
      train.attrs.dropout.stream = static_cast<uint32_t>(n);
      train.inputs.push_back(dropout_seed);
      graph->nodes.push_back(std::move(train));
      train_forward.push_back(static_cast<int>(graph->nodes.size()) - 1);
    } else if (node.op == OpType::BatchNorm) {
      const TensorDesc channels = graph->tensors[static_cast<size_t>(node.inputs[1])].desc;
      const std::string base = graph->tensors[static_cast<size_t>(node.outputs[0])].name;
      const int mean = add_unique(base + ".batch_mean", channels, fb::TensorRole::Activation);
      const int var = add_unique(base + ".batch_var", channels, fb::TensorRole::Activation);
      Node train;
      train.name = node.name + ".train";
      train.op = OpType::BatchNormTrain;
      train.attrs = node.attrs;
      train.attrs.kind = fb::Attrs::NormAttrs;
      train.inputs = {node.inputs[0], node.inputs[1], node.inputs[2]};
      train.outputs = {node.outputs[0], mean, var};
      graph->nodes.push_back(std::move(train));
      train_forward.push_back(static_cast<int>(graph->nodes.size()) - 1);
      for (int k = 3; k <= 4; ++k) graph->tensors[static_cast<size_t>(node.inputs[static_cast<size_t>(k)])].role = fb::TensorRole::Buffer;
      Node update;
      update.name = node.name + ".running_stats_update";
      update.op = OpType::RunningStatsUpdate;
      update.attrs.kind = fb::Attrs::RunningStatsAttrs;
      update.inputs = {node.inputs[3], node.inputs[4], mean, var};
      graph->nodes.push_back(std::move(update));
      statistics_updates.push_back(static_cast<int>(graph->nodes.size()) - 1);
    } else {
      train_forward.push_back(n);
    }
  }
  train_forward.push_back(loss_node_index);

  Method eval;
  eval.name = "eval";
  eval.inputs = {infer.inputs[0], labels};
  eval.outputs = {loss, prediction};
  eval.nodes = forward;

  Result<BackwardGraph> backward = append_backward(graph, train_forward, loss, *trainable);
  if (!backward.is_ok()) return backward.status();

  Method train;
  train.name = "train_step";
  train.inputs = {infer.inputs[0], labels};
  train.outputs = {loss, prediction};  // predictions too: training accuracy costs nothing
  train.nodes = train_forward;
  train.nodes.insert(train.nodes.end(), backward->nodes.begin(), backward->nodes.end());
  train.nodes.insert(train.nodes.end(), statistics_updates.begin(), statistics_updates.end());
  std::vector<int> hyper;
  for (const std::string& name : hyperparameter_names(options.optimizer)) {
    hyper.push_back(add_unique(name, make_desc(DType::F32, {}), fb::TensorRole::Input));
  }
  train.inputs.insert(train.inputs.end(), hyper.begin(), hyper.end());
  int grad_scale = -1;
  if (options.clip_grad_norm) {
    // sum of squares per chunk of gradients, then the scale every update applies.
    const int max_norm = add_unique("max_grad_norm", make_desc(DType::F32, {}), fb::TensorRole::Input);
    train.inputs.push_back(max_norm);
    Node clip;
    clip.name = "clip_grad_norm";
    clip.op = OpType::ClipScale;
    clip.inputs = {max_norm};
    const size_t chunk = kMaxNodeInputs;
    for (size_t first = 0; first < backward->parameter_grads.size(); first += chunk) {
      Node squares;
      squares.name = "clip_grad_norm.squares." + std::to_string(first / chunk);
      squares.op = OpType::SquaredNorm;
      const auto begin = backward->parameter_grads.begin() + static_cast<std::ptrdiff_t>(first);
      squares.inputs.assign(begin, begin + static_cast<std::ptrdiff_t>(std::min(chunk, backward->parameter_grads.size() - first)));
      const int sum = add_unique(squares.name + ".out", make_desc(DType::F32, {}), fb::TensorRole::Activation);
      squares.outputs = {sum};
      clip.inputs.push_back(sum);
      graph->nodes.push_back(std::move(squares));
      train.nodes.push_back(static_cast<int>(graph->nodes.size()) - 1);
    }
    PF_CHECK(clip.inputs.size() <= static_cast<size_t>(kMaxNodeInputs), Error::kUnsupported,
             "too many gradients to clip (%zu)", backward->parameter_grads.size());
    grad_scale = add_unique("grad_scale", make_desc(DType::F32, {}), fb::TensorRole::Activation);
    clip.outputs = {grad_scale};
    graph->nodes.push_back(std::move(clip));
    train.nodes.push_back(static_cast<int>(graph->nodes.size()) - 1);
  }
  if (dropout_seed >= 0) train.inputs.push_back(dropout_seed);
  for (size_t i = 0; i < trainable->size(); ++i) {
    const int p = (*trainable)[i];
    const int grad = backward->parameter_grads[i];
    const std::string name = graph->tensors[static_cast<size_t>(p)].name;
    const TensorDesc desc = graph->tensors[static_cast<size_t>(p)].desc;
    Node update;
    if (options.optimizer == OptimizerKind::kSgd) {
      update.op = OpType::SgdUpdate;
      update.attrs.kind = fb::Attrs::SgdAttrs;
      update.attrs.sgd.nesterov = options.nesterov;
      const int velocity = add_unique(name + ".momentum_buffer", desc, fb::TensorRole::OptimizerState);
      update.inputs = {p, velocity, grad};
    } else {
      update.op = OpType::AdamUpdate;
      update.attrs.kind = fb::Attrs::AdamAttrs;
      update.attrs.adam.decoupled_weight_decay = options.optimizer == OptimizerKind::kAdamW;
      const int first = add_unique(name + ".exp_avg", desc, fb::TensorRole::OptimizerState);
      const int second = add_unique(name + ".exp_avg_sq", desc, fb::TensorRole::OptimizerState);
      update.inputs = {p, first, second, grad};
    }
    update.inputs.insert(update.inputs.end(), hyper.begin(), hyper.end());
    if (grad_scale >= 0) update.inputs.push_back(grad_scale);
    update.name = name + ".update";
    graph->nodes.push_back(std::move(update));
    train.nodes.push_back(static_cast<int>(graph->nodes.size()) - 1);
  }
  graph->methods.push_back(std::move(eval));
  graph->methods.push_back(std::move(train));
  graph->metadata.entries.emplace_back("optimizer", options.optimizer == OptimizerKind::kSgd ? "sgd"
                                                    : options.optimizer == OptimizerKind::kAdam ? "adam" : "adamw");
  graph->metadata.entries.emplace_back("trainable", options.trainable);
  return validate(*graph);
}

}  // namespace graph
}  // namespace preflight
