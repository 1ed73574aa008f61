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

// Appends `prefix`_sum_of_squares: loss = sum((a - b)^2), an MseLoss with Sum reduction, whose
// output is the new tensor `prefix`_loss. Returns that tensor; the node is the graph's last.
int add_sum_of_squares(graph::Graph* g, const std::string& prefix, int a, int b) {
  const int loss = graph::add_tensor(g, prefix + "_loss", make_desc(DType::F32, {}), fb::TensorRole::Output);
  graph::Node mse;
  mse.name = prefix + "_sum_of_squares";
  mse.op = OpType::MseLoss;
  mse.attrs.kind = fb::Attrs::LossAttrs;
  mse.attrs.loss.reduction = fb::Reduction::Sum;
  mse.inputs = {a, b};
  mse.outputs = {loss};
  g->nodes.push_back(mse);
  return loss;
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
  graph::Node mul;
  mul.name = "independence_mul";
  mul.op = OpType::Mul;
  mul.inputs = {prediction, mask};
  mul.outputs = {masked};
  g.nodes.push_back(mul);
  const int loss = add_sum_of_squares(&g, "independence", masked, zero);
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
  const int t = original.find_method("train_step"), m = original.find_method("infer");
  if (t < 0 || m < 0) return make_result(id, Verdict::kSkipped, 0, 0, "the model has no train_step or no infer");
  graph::Graph g = original;
  const graph::Method infer = g.methods[static_cast<size_t>(m)];
  if (infer.inputs.size() != 1 || infer.outputs.size() != 1) {
    return make_result(id, Verdict::kSkipped, 0, 0, "infer must have one input and one output");
  }
  // The trainable tensors: the ones train_step updates.
  std::vector<int> parameters;
  for (int n : g.methods[static_cast<size_t>(t)].nodes) {
    const graph::Node& node = g.nodes[static_cast<size_t>(n)];
    if (node.op == OpType::SgdUpdate || node.op == OpType::AdamUpdate) parameters.push_back(node.inputs[0]);
  }
  if (parameters.empty()) return make_result(id, Verdict::kSkipped, 0, 0, "train_step updates no tensor");
  // The loss differentiated: L = sum((prediction - target)^2) with target = p0 - u/2, p0 the
  // predictions at the current weights and u uniform in [-1, 1], so dL/dprediction = u there: a
  // random projection of the outputs. Unlike the model's own loss it is not near a flat spot
  // (where the terms of the gradient cancel and float32 rounding swamps central differences),
  // and its value stays small whatever the scale of the targets. The loss ops' own backward is
  // covered by the op tests.
  const int x = infer.inputs[0], prediction = infer.outputs[0];
  const TensorDesc p_desc = g.tensors[static_cast<size_t>(prediction)].desc;
  if (p_desc.dtype != DType::F32) return make_result(id, Verdict::kSkipped, 0, 0, "the predictions are not f32");
  const int target = graph::add_tensor(&g, "gradient_check_target", p_desc, fb::TensorRole::Input);
  const int loss = add_sum_of_squares(&g, "gradient_check", prediction, target);
  std::vector<int> forward = infer.nodes;
  forward.push_back(static_cast<int>(g.nodes.size()) - 1);
  Result<graph::BackwardGraph> backward = graph::append_backward(&g, forward, loss, parameters);
  if (!backward.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, backward.status().message());
  graph::Method method;
  method.name = "gradients";
  method.inputs = {x, target};
  method.outputs = {loss, prediction};
  g.tensors[static_cast<size_t>(prediction)].role = fb::TensorRole::Output;
  for (int grad : backward->parameter_grads) {
    method.outputs.push_back(grad);
    g.tensors[static_cast<size_t>(grad)].role = fb::TensorRole::Output;
  }
  method.nodes = forward;
  method.nodes.insert(method.nodes.end(), backward->nodes.begin(), backward->nodes.end());
  g.methods = {method};
  SessionOptions options = config.session;
  options.writable_parameters = true;
  Result<OpenedGraph> opened = open_graph(g, options);
  if (!opened.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, opened.status().message());
  Session& session = *opened->session;

  // The first batch; a first run for p0, then the target.
  const TensorDesc x_desc = g.tensors[static_cast<size_t>(x)].desc;
  std::vector<float> features(static_cast<size_t>(x_desc.num_elements()), 0.0f);
  std::copy(data.features.begin(), data.features.begin() + static_cast<std::ptrdiff_t>(std::min(features.size(), data.features.size())),
            features.begin());
  std::vector<float> targets(static_cast<size_t>(p_desc.num_elements()), 0.0f);
  std::vector<std::vector<float>> outputs;
  Status status = run(session, "gradients", {features.data(), targets.data()}, &outputs);
  if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
  // u on the first rows only: the fewer rows carry weight, the fewer ReLU kinks a step can cross.
  SplitMix64 rng(config.seed);
  const int64_t rows = p_desc.dims[0], per_row = rows ? p_desc.num_elements() / rows : 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const double u = 2.0 * static_cast<double>(rng.next() >> 11) / 9007199254740992.0 - 1.0;
    const bool weighted = static_cast<int64_t>(i) < std::min<int64_t>(rows, config.rows) * per_row;
    targets[i] = static_cast<float>(outputs[1][i] - (weighted ? 0.5 * u : 0.0));
  }
  status = run(session, "gradients", {features.data(), targets.data()}, &outputs);
  if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
  const std::vector<std::vector<float>> analytic(outputs.begin() + 2, outputs.end());

  // Central differences at steps h and h/2: where they disagree, the step crosses a kink (a ReLU
  // or a max pool changing its choice) and the element is replaced by another.
  // The host copy of a weight is written before each run through a pointer asked for anew: on a
  // device backend a run sends what the host wrote since the last one (Session::writable_data).
  const auto set = [&](int tensor, int64_t element, float value) {
    static_cast<float*>(session.writable_data(tensor))[element] = value;
  };
  const auto difference = [&](int tensor, int64_t element, float saved, double step, double* out) -> Status {
    double at[2];
    for (int side = 0; side < 2; ++side) {
      set(tensor, element, static_cast<float>(saved + (side ? -step : step)));
      PF_RETURN_IF_ERROR(run(session, "gradients", {features.data(), targets.data()}, &outputs));
      at[side] = outputs[0][0];
    }
    set(tensor, element, saved);
    *out = (at[0] - at[1]) / (2.0 * step);
    return Status::ok();
  };
  // Per tensor: the probed elements as vectors, compared by ||analytic - numeric|| / (||analytic||
  // + ||numeric||), so that one element whose step meets a kink at the current point (where
  // both step sizes agree, on the average of the two sides) does not fail a healthy tensor,
  // while a wrong backward, which changes every element, does.
  // float32 rounding of the predictions bounds how well a difference can resolve a gradient:
  // each weighted output is off by up to half an ulp of its size (large for regression targets
  // in the hundreds), so the numeric gradient is off by up to sum(|u| * ulp / 2) / step.
  double rounding = 0.0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const double weight = std::fabs(static_cast<double>(outputs[1][i]) - targets[i]) * 2.0;  // |u|
    rounding += weight * 0.5 * std::ldexp(1.0, std::ilogb(std::max(std::fabs(static_cast<double>(outputs[1][i])), 1e-30)) - 23);
  }
  const double noise = 2.0 * rounding / config.step;  // of the half step
  const auto allowed = [&](double a, double b) {
    return config.absolute_tolerance + noise + config.relative_tolerance * std::max(std::fabs(a), std::fabs(b));
  };
  double worst = 0.0;
  std::string failures;
  int checked = 0, kinks = 0;
  for (size_t p = 0; p < parameters.size(); ++p) {
    const int tensor = parameters[p];
    const int64_t count = g.tensors[static_cast<size_t>(tensor)].desc.num_elements();
    double difference_squares = 0.0, analytic_squares = 0.0, numeric_squares = 0.0, largest = -1.0;
    int64_t largest_element = 0;
    double largest_exact = 0.0, largest_numeric = 0.0;
    for (int k = 0; k < config.elements_per_tensor && count > 0; ++k) {
      for (int attempt = 0; attempt < 4; ++attempt) {
        const int64_t element = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(count));
        const float saved = static_cast<const float*>(session.persistent_data(tensor))[element];
        double coarse = 0.0, fine = 0.0;
        status = difference(tensor, element, saved, config.step, &coarse);
        if (status.is_ok()) status = difference(tensor, element, saved, 0.5 * config.step, &fine);
        if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
        if (std::fabs(coarse - fine) > allowed(coarse, fine) && attempt < 3) {
          ++kinks;  // the step crosses a kink near this element: take another
          continue;
        }
        const double exact = analytic[p][static_cast<size_t>(element)];
        difference_squares += (fine - exact) * (fine - exact);
        analytic_squares += exact * exact;
        numeric_squares += fine * fine;
        if (std::fabs(fine - exact) > largest) {
          largest = std::fabs(fine - exact), largest_element = element, largest_exact = exact, largest_numeric = fine;
        }
        ++checked;
        break;
      }
    }
    const double error = std::sqrt(difference_squares);
    const double scale = std::sqrt(analytic_squares) + std::sqrt(numeric_squares);
    const double limit = config.absolute_tolerance + noise + config.relative_tolerance * scale;
    if (error > limit) {
      if (failures.size() < 300) {
        failures += format_text("%stensor '%s' (relative error %.2f; element %lld: analytic %.4g, numeric %.4g)",
                                failures.empty() ? "" : "; ", g.tensors[static_cast<size_t>(tensor)].name.c_str(),
                                scale > 0 ? error / scale : 0.0, static_cast<long long>(largest_element), largest_exact,
                                largest_numeric);
      }
      worst = std::max(worst, error / std::max(limit, 1e-30));
    }
  }
  if (!failures.empty()) {
    return make_result(id, Verdict::kFail, worst, 1.0,
                  format_text("analytic and numeric gradients disagree: %s. A backward is wrong for an op feeding that tensor",
                         failures.c_str()));
  }
  if (checked == 0) {
    return make_result(id, Verdict::kFail, 0, 1.0,
                       format_text("no element could be checked: every probe crossed a kink (%d); lower gradients.step", kinks));
  }
  return make_result(id, Verdict::kPass, 0, 1.0,
                format_text("%d elements of %zu trainable tensors agree with central differences (steps %g and %g; %d "
                            "elements near a kink replaced; rounding allowance %.2g)",
                            checked, parameters.size(), config.step, 0.5 * config.step, kinks, noise));
}

}  // namespace preflight
