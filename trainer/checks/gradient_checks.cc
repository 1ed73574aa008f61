#include "trainer/checks/gradient_checks.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "graph/autodiff.h"
#include "graph/random.h"
#include "graph/serialize.h"

namespace preflight {
namespace {

// A verified session for `graph` (kept alive with its bytes).
struct OpenedGraph {
  std::unique_ptr<Bytes> bytes;
  std::unique_ptr<Session> session;
};

Result<OpenedGraph> open_graph(const graph::Graph& graph, const SessionOptions& options) {
  PF_RETURN_IF_ERROR(graph::validate(graph));
  OpenedGraph opened;
  opened.bytes.reset(new Bytes(graph::serialize(graph)));
  Result<Model> model = Model::load_bytes(opened.bytes->data(), opened.bytes->size());
  if (!model.is_ok()) return model.status();
  Result<Session> session = Session::open(std::move(model).value(), options);
  if (!session.is_ok()) return session.status();
  opened.session.reset(new Session(std::move(session).value()));
  return Result<OpenedGraph>(std::move(opened));
}

// Runs `method` with the given input buffers; outputs land in `outputs` (resized to fit).
Status run(Session& session, const char* method, const std::vector<const void*>& inputs,
           std::vector<std::vector<float>>* outputs) {
  const Model& model = session.model();
  const MethodInfo& info = model.methods()[static_cast<size_t>(model.find_method(method))];
  std::vector<TensorView> in(info.inputs.size()), out(info.outputs.size());
  for (size_t i = 0; i < in.size(); ++i) {
    in[i] = TensorView{model.tensors()[static_cast<size_t>(info.inputs[i])].desc, const_cast<void*>(inputs[i])};
  }
  outputs->resize(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const TensorDesc& desc = model.tensors()[static_cast<size_t>(info.outputs[i])].desc;
    (*outputs)[i].resize(static_cast<size_t>(desc.num_elements()));
    out[i] = TensorView{desc, (*outputs)[i].data()};
  }
  return session.run(method, in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()));
}

bool is_update(OpType op) {
  return op == OpType::SgdUpdate || op == OpType::AdamUpdate || op == OpType::RunningStatsUpdate ||
         op == OpType::SquaredNorm || op == OpType::ClipScale;
}

}  // namespace

CheckResult check_batch_independence(const graph::Graph& original, const Dataset& data, const GradientCheckConfig& config) {
  const char* id = "skeleton.batch_independence";
  const int m = original.find_method("infer");
  if (m < 0) return make_result(id, Verdict::kSkipped, 0, 0, "the model has no infer method");
  graph::Graph g = original;
  const graph::Method infer = g.methods[static_cast<size_t>(m)];
  if (infer.inputs.size() != 1 || infer.outputs.size() != 1) {
    return make_result(id, Verdict::kSkipped, 0, 0, "infer must have one input and one output");
  }
  const int x = infer.inputs[0], prediction = infer.outputs[0];
  const TensorDesc x_desc = g.tensors[static_cast<size_t>(x)].desc, p_desc = g.tensors[static_cast<size_t>(prediction)].desc;
  const int64_t batch = x_desc.dims[0];
  if (batch < 2 || x_desc.dtype != DType::F32 || p_desc.dtype != DType::F32 || p_desc.rank < 1 || p_desc.dims[0] != batch) {
    return make_result(id, Verdict::kSkipped, 0, 0, "needs f32 inputs and predictions with a batch of at least 2");
  }
  // loss = sum((prediction * mask)^2), mask selecting the outputs of one sample; backward to x.
  const int mask = graph::add_tensor(&g, "independence_mask", p_desc, fb::TensorRole::Input);
  const int masked = graph::add_tensor(&g, "independence_masked", p_desc, fb::TensorRole::Activation);
  const int zero = graph::add_tensor(&g, "independence_zero", p_desc, fb::TensorRole::Constant);
  const int loss = graph::add_tensor(&g, "independence_loss", make_desc(DType::F32, {}), fb::TensorRole::Output);
  graph::Node mul;
  mul.name = "independence_mul";
  mul.op = OpType::Mul;
  mul.inputs = {prediction, mask};
  mul.outputs = {masked};
  g.nodes.push_back(mul);
  graph::Node mse;
  mse.name = "independence_sum_of_squares";
  mse.op = OpType::MseLoss;
  mse.attrs.kind = fb::Attrs::LossAttrs;
  mse.attrs.loss.reduction = fb::Reduction::Sum;
  mse.inputs = {masked, zero};
  mse.outputs = {loss};
  g.nodes.push_back(mse);
  std::vector<int> forward = infer.nodes;
  forward.push_back(static_cast<int>(g.nodes.size()) - 2);
  forward.push_back(static_cast<int>(g.nodes.size()) - 1);
  Result<graph::BackwardGraph> backward = graph::append_backward(&g, forward, loss, {x});
  if (!backward.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, backward.status().message());
  graph::Method method;
  method.name = "input_gradient";
  method.inputs = {x, mask};
  method.outputs = {backward->parameter_grads[0]};
  g.tensors[static_cast<size_t>(backward->parameter_grads[0])].role = fb::TensorRole::Output;
  method.nodes = forward;
  method.nodes.insert(method.nodes.end(), backward->nodes.begin(), backward->nodes.end());
  g.methods = {method};
  Result<OpenedGraph> opened = open_graph(g, config.session);
  if (!opened.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, opened.status().message());

  const int64_t row = x_desc.num_elements() / batch, classes = p_desc.num_elements() / batch;
  std::vector<float> inputs(static_cast<size_t>(x_desc.num_elements()), 0.0f);
  const size_t available = std::min(inputs.size(), data.features.size());
  std::copy(data.features.begin(), data.features.begin() + static_cast<std::ptrdiff_t>(available), inputs.begin());
  std::vector<std::vector<float>> outputs;
  const int64_t candidates[] = {0, batch / 2, batch - 1};
  double worst = 0.0;
  std::string leaks;
  for (int s = 0; s < config.samples && s < 3; ++s) {
    const int64_t sample = candidates[s];
    std::vector<float> selector(static_cast<size_t>(p_desc.num_elements()), 0.0f);
    std::fill(selector.begin() + sample * classes, selector.begin() + (sample + 1) * classes, 1.0f);
    const Status status = run(*opened->session, "input_gradient", {inputs.data(), selector.data()}, &outputs);
    if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
    const std::vector<float>& grad = outputs[0];
    double own = 0.0;
    for (int64_t k = 0; k < row; ++k) own = std::max(own, std::fabs(static_cast<double>(grad[static_cast<size_t>(sample * row + k)])));
    for (int64_t other = 0; other < batch; ++other) {
      if (other == sample) continue;
      double largest = 0.0;
      for (int64_t k = 0; k < row; ++k) largest = std::max(largest, std::fabs(static_cast<double>(grad[static_cast<size_t>(other * row + k)])));
      if (largest > 0.0) {
        if (leaks.size() < 200) leaks += format_text("%s%lld -> %lld (max |grad| %.3g)", leaks.empty() ? "" : ", ",
                                                static_cast<long long>(sample), static_cast<long long>(other), largest);
        worst = std::max(worst, largest);
      }
    }
    if (own == 0.0 && leaks.empty()) {
      return make_result(id, Verdict::kFail, 0, 0,
                    format_text("the outputs of sample %lld give its own input no gradient at all: the input does not reach "
                           "the outputs", static_cast<long long>(sample)));
    }
  }
  if (!leaks.empty()) {
    return make_result(id, Verdict::kFail, worst, 0,
                  format_text("the gradient of one sample's outputs reaches other samples' inputs (sample -> other: %s): "
                         "something mixes the batch, such as a reshape where a transpose was meant",
                         leaks.c_str()));
  }
  return make_result(id, Verdict::kPass, 0, 0,
                format_text("the outputs of samples 0, %lld and %lld have gradients on their own inputs only",
                       static_cast<long long>(batch / 2), static_cast<long long>(batch - 1)));
}

CheckResult check_gradients(const graph::Graph& original, const Dataset& data, const GradientCheckConfig& config) {
  const char* id = "skeleton.gradients";
  const int t = original.find_method("train_step");
  if (t < 0) return make_result(id, Verdict::kSkipped, 0, 0, "the model has no train_step");
  graph::Graph g = original;
  const graph::Method train = g.methods[static_cast<size_t>(t)];
  // train_step without its updates: the loss and the gradient of every trainable tensor.
  graph::Method method;
  method.name = "gradients";
  std::vector<int> parameters;
  for (int n : train.nodes) {
    const graph::Node& node = g.nodes[static_cast<size_t>(n)];
    if (!is_update(node.op)) {
      method.nodes.push_back(n);
    } else if (node.op == OpType::SgdUpdate || node.op == OpType::AdamUpdate) {
      parameters.push_back(node.inputs[0]);
      method.outputs.push_back(node.inputs[node.op == OpType::SgdUpdate ? 2 : 3]);
    }
  }
  const int loss = train.outputs[0];
  method.outputs.insert(method.outputs.begin(), loss);
  for (int input : train.inputs) {
    bool read = false;
    for (int n : method.nodes) {
      for (int i : g.nodes[static_cast<size_t>(n)].inputs) read = read || i == input;
    }
    if (read) method.inputs.push_back(input);
  }
  for (size_t o = 1; o < method.outputs.size(); ++o) g.tensors[static_cast<size_t>(method.outputs[o])].role = fb::TensorRole::Output;
  g.methods = {method};
  SessionOptions options = config.session;
  options.writable_parameters = true;
  Result<OpenedGraph> opened = open_graph(g, options);
  if (!opened.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, opened.status().message());
  Session& session = *opened->session;

  // The first batch, its labels, and a fixed dropout seed.
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<const void*> inputs;
  for (int input : method.inputs) {
    const graph::Tensor& tensor = g.tensors[static_cast<size_t>(input)];
    buffers.emplace_back(tensor.desc.num_bytes(), 0);
    std::vector<uint8_t>& buffer = buffers.back();
    if (input == method.inputs[0]) {
      std::memcpy(buffer.data(), data.features.data(), std::min(buffer.size(), data.features.size() * sizeof(float)));
    } else if (tensor.name == "y") {
      if (data.classification) std::memcpy(buffer.data(), data.labels.data(), std::min(buffer.size(), data.labels.size() * sizeof(int64_t)));
      else std::memcpy(buffer.data(), data.targets.data(), std::min(buffer.size(), data.targets.size() * sizeof(float)));
    } else if (tensor.name == "dropout_seed") {
      const int64_t seed = static_cast<int64_t>(config.seed) + 1;
      std::memcpy(buffer.data(), &seed, sizeof seed);
    }
    inputs.push_back(buffer.data());
  }
  std::vector<std::vector<float>> outputs;
  Status status = run(session, "gradients", inputs, &outputs);
  if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
  const std::vector<std::vector<float>> analytic(outputs.begin() + 1, outputs.end());

  SplitMix64 rng(config.seed);
  double worst = 0.0;
  std::string failures;
  int checked = 0;
  for (size_t p = 0; p < parameters.size(); ++p) {
    const int tensor = parameters[p];
    auto* values = static_cast<float*>(session.writable_data(tensor));
    const int64_t count = g.tensors[static_cast<size_t>(tensor)].desc.num_elements();
    for (int k = 0; k < config.elements_per_tensor && count > 0; ++k) {
      const int64_t element = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(count));
      const float saved = values[element];
      double loss_at[2];
      for (int side = 0; side < 2; ++side) {
        values[element] = static_cast<float>(saved + (side ? -config.step : config.step));
        status = run(session, "gradients", inputs, &outputs);
        if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
        loss_at[side] = outputs[0][0];
      }
      values[element] = saved;
      const double numeric = (loss_at[0] - loss_at[1]) / (2.0 * config.step);
      const double exact = analytic[p][static_cast<size_t>(element)];
      const double error = std::fabs(numeric - exact);
      const double allowed = config.absolute_tolerance + config.relative_tolerance * std::max(std::fabs(numeric), std::fabs(exact));
      ++checked;
      if (error > allowed) {
        if (failures.size() < 300) {
          failures += format_text("%stensor '%s' element %lld: analytic %.4g, numeric %.4g", failures.empty() ? "" : "; ",
                             g.tensors[static_cast<size_t>(tensor)].name.c_str(), static_cast<long long>(element), exact,
                             numeric);
        }
        worst = std::max(worst, error / std::max(allowed, 1e-30));
      }
    }
  }
  if (!failures.empty()) {
    return make_result(id, Verdict::kFail, worst, 1.0,
                  format_text("analytic and numeric gradients disagree: %s. A backward is wrong for an op feeding that tensor",
                         failures.c_str()));
  }
  return make_result(id, Verdict::kPass, 0, 1.0,
                format_text("%d elements of %zu trainable tensors agree with central differences (step %g)", checked,
                       parameters.size(), config.step));
}

}  // namespace preflight
