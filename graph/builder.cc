#include "graph/builder.h"

#include <cctype>
#include <cmath>
#include <cstring>

#include "ops/registry.h"
#include "runtime/model.h"

namespace preflight {
namespace graph {
namespace {

std::vector<uint8_t> to_bytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

OpAttrs attrs_of(fb::Attrs kind) {
  OpAttrs attrs;
  attrs.kind = kind;
  return attrs;
}

// Square window, equal strides and padding on all four sides.
OpAttrs pool_attrs(int kernel, int stride, int padding) {
  OpAttrs attrs = attrs_of(fb::Attrs::Pool2dAttrs);
  attrs.pool.kernel_h = attrs.pool.kernel_w = kernel;
  attrs.pool.stride_h = attrs.pool.stride_w = stride;
  attrs.pool.pad_top = attrs.pool.pad_left = attrs.pool.pad_bottom = attrs.pool.pad_right = padding;
  return attrs;
}

}  // namespace

bool GraphBuilder::fail(const Status& status) {
  if (status_.is_ok()) status_ = status;
  return false;
}

std::string GraphBuilder::next_name(const char* op) {
  std::string name;
  for (const char* c = op; *c; ++c) {
    // CamelCase -> snake_case: "SoftmaxCrossEntropy" -> "softmax_cross_entropy", "Conv2D" -> "conv2d".
    if (std::isupper(static_cast<unsigned char>(*c)) && c != op && std::islower(static_cast<unsigned char>(c[-1]))) {
      name += '_';
    }
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
  }
  return name + "_" + std::to_string(counter_++);
}

Value GraphBuilder::add_tensor(const std::string& name, const TensorDesc& desc, fb::TensorRole role) {
  return Value{graph::add_tensor(&graph_, name, desc, role)};
}

Value GraphBuilder::input(const std::string& name, DType dtype, std::initializer_list<int64_t> dims) {
  return input(name, make_desc(dtype, dims));
}

Value GraphBuilder::input(const std::string& name, const TensorDesc& desc) {
  const Value value = add_tensor(name, desc, fb::TensorRole::Input);
  inputs_.push_back(value.id);
  return value;
}

Value GraphBuilder::parameter(const std::string& name, const TensorDesc& desc, const std::vector<float>& values) {
  if (desc.dtype != DType::F32 || static_cast<int64_t>(values.size()) != desc.num_elements()) {
    fail(Status::error(Error::kInvalidArgument, "parameter '%s': %zu values for %lld f32 elements", name.c_str(),
                       values.size(), static_cast<long long>(desc.num_elements())));
    return Value{};
  }
  const Value value = add_tensor(name, desc, fb::TensorRole::Parameter);
  graph_.tensors.back().data = to_bytes(values);
  return value;
}

Value GraphBuilder::constant(const std::string& name, const TensorDesc& desc, const std::vector<float>& values) {
  const Value value = parameter(name, desc, values);
  if (value.valid()) graph_.tensors[static_cast<size_t>(value.id)].role = fb::TensorRole::Constant;
  return value;
}

Value GraphBuilder::constant_bytes(const std::string& name, const TensorDesc& desc, const std::vector<uint8_t>& bytes) {
  if (bytes.size() != desc.num_bytes()) {
    fail(Status::error(Error::kInvalidArgument, "constant '%s': %zu bytes for %llu", name.c_str(), bytes.size(),
                       static_cast<unsigned long long>(desc.num_bytes())));
    return Value{};
  }
  const Value value = add_tensor(name, desc, fb::TensorRole::Constant);
  graph_.tensors.back().data = bytes;
  return value;
}

Value GraphBuilder::buffer(const std::string& name, const TensorDesc& desc, const std::vector<float>& values) {
  const Value value = parameter(name, desc, values);
  if (value.valid()) graph_.tensors[static_cast<size_t>(value.id)].role = fb::TensorRole::Buffer;
  return value;
}

Value GraphBuilder::add_uniform_parameter(const std::string& name, const TensorDesc& desc, float bound) {
  std::vector<float> values(static_cast<size_t>(desc.num_elements()));
  for (float& v : values) v = rng_.uniform(-bound, bound);
  return parameter(name, desc, values);
}

Value GraphBuilder::node(OpType op, const OpAttrs& attrs, const std::vector<Value>& inputs, const std::string& name) {
  if (!status_.is_ok()) return Value{};
  const OpDef* def = find_op(op);
  if (!def) {
    fail(Status::error(Error::kInvalidArgument, "unknown op %d", static_cast<int>(op)));
    return Value{};
  }
  std::vector<TensorDesc> descs;
  Node node;
  node.name = name.empty() ? next_name(def->name) : name;
  node.op = op;
  node.attrs = attrs;
  for (const Value& v : inputs) {
    if (!v.valid()) {
      fail(Status::error(Error::kInvalidArgument, "node '%s' (%s): an input is invalid", node.name.c_str(), def->name));
      return Value{};
    }
    descs.push_back(desc(v));
    node.inputs.push_back(v.id);
  }
  const int num_inputs = static_cast<int>(descs.size());
  if (num_inputs < def->min_inputs || num_inputs > def->max_inputs) {
    fail(Status::error(Error::kInvalidArgument, "node '%s' (%s): takes %d to %d inputs, got %d", node.name.c_str(),
                       def->name, def->min_inputs, def->max_inputs, num_inputs));
    return Value{};
  }
  TensorDesc outputs[kMaxNodeOutputs];
  const Status status = def->infer(attrs, descs.data(), num_inputs, outputs);
  if (!status.is_ok()) {
    fail(status.with_context("node '%s' (%s): ", node.name.c_str(), def->name));
    return Value{};
  }
  const Value out = add_tensor(node.name + ".out", outputs[0], fb::TensorRole::Activation);
  node.outputs.push_back(out.id);
  graph_.nodes.push_back(std::move(node));
  return out;
}

Value GraphBuilder::linear(Value x, int64_t out_features, bool bias) {
  if (!x.valid() || !status_.is_ok()) return Value{};
  const int64_t in_features = desc(x).rank ? desc(x).dims[desc(x).rank - 1] : 0;
  const std::string name = "linear_" + std::to_string(counter_);
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_features > 0 ? in_features : 1));
  std::vector<Value> inputs = {x, add_uniform_parameter(name + ".weight", make_desc(DType::F32, {out_features, in_features}), bound)};
  if (bias) inputs.push_back(add_uniform_parameter(name + ".bias", make_desc(DType::F32, {out_features}), bound));
  return node(OpType::Linear, OpAttrs(), inputs);
}

Value GraphBuilder::matmul(Value a, Value b, bool transpose_a, bool transpose_b) {
  OpAttrs attrs = attrs_of(fb::Attrs::MatMulAttrs);
  attrs.matmul.transpose_a = transpose_a;
  attrs.matmul.transpose_b = transpose_b;
  return node(OpType::MatMul, attrs, {a, b});
}

Value GraphBuilder::conv2d(Value x, int64_t out_channels, int kernel, const ConvOptions& options) {
  if (!x.valid() || !status_.is_ok()) return Value{};
  const int64_t channels = desc(x).rank == 4 ? desc(x).dims[3] : 0;
  const int groups = options.groups > 0 ? options.groups : 1;
  const int64_t group_in = channels / groups;
  const std::string name = "conv2d_" + std::to_string(counter_);
  const float fan_in = static_cast<float>(group_in * kernel * kernel);
  const float bound = 1.0f / std::sqrt(fan_in > 0 ? fan_in : 1.0f);
  OpAttrs attrs = attrs_of(fb::Attrs::Conv2dAttrs);
  attrs.conv.stride_h = attrs.conv.stride_w = options.stride;
  attrs.conv.pad_top = attrs.conv.pad_left = attrs.conv.pad_bottom = attrs.conv.pad_right = options.padding;
  attrs.conv.dilation_h = attrs.conv.dilation_w = options.dilation;
  attrs.conv.groups = options.groups;
  std::vector<Value> inputs = {
      x, add_uniform_parameter(name + ".weight", make_desc(DType::F32, {out_channels, kernel, kernel, group_in}), bound)};
  if (options.bias) inputs.push_back(add_uniform_parameter(name + ".bias", make_desc(DType::F32, {out_channels}), bound));
  return node(OpType::Conv2D, attrs, inputs);
}

Value GraphBuilder::depthwise_conv2d(Value x, int kernel, const ConvOptions& options) {
  if (!x.valid() || !status_.is_ok()) return Value{};
  ConvOptions depthwise = options;
  depthwise.groups = static_cast<int>(desc(x).rank == 4 ? desc(x).dims[3] : 1);
  return conv2d(x, depthwise.groups, kernel, depthwise);
}

Value GraphBuilder::max_pool2d(Value x, int kernel, int stride, int padding) {
  return node(OpType::MaxPool2D, pool_attrs(kernel, stride, padding), {x});
}

Value GraphBuilder::avg_pool2d(Value x, int kernel, int stride, int padding, bool count_include_pad) {
  OpAttrs attrs = pool_attrs(kernel, stride, padding);
  attrs.pool.count_include_pad = count_include_pad;
  return node(OpType::AvgPool2D, attrs, {x});
}

Value GraphBuilder::global_avg_pool(Value x, bool keep_dims) {
  OpAttrs attrs = attrs_of(fb::Attrs::GlobalPoolAttrs);
  attrs.global_pool.keep_dims = keep_dims;
  return node(OpType::GlobalAvgPool, attrs, {x});
}

Value GraphBuilder::relu(Value x) { return node(OpType::Relu, OpAttrs(), {x}); }
Value GraphBuilder::sigmoid(Value x) { return node(OpType::Sigmoid, OpAttrs(), {x}); }
Value GraphBuilder::tanh(Value x) { return node(OpType::Tanh, OpAttrs(), {x}); }

Value GraphBuilder::clamp(Value x, float min, float max) {
  OpAttrs attrs = attrs_of(fb::Attrs::ClampAttrs);
  attrs.clamp.min = min;
  attrs.clamp.max = max;
  return node(OpType::Clamp, attrs, {x});
}

Value GraphBuilder::gelu(Value x, bool tanh_approximation) {
  OpAttrs attrs = attrs_of(fb::Attrs::GeluAttrs);
  attrs.gelu.tanh_approximation = tanh_approximation;
  return node(OpType::Gelu, attrs, {x});
}

Value GraphBuilder::add(Value a, Value b) { return node(OpType::Add, OpAttrs(), {a, b}); }
Value GraphBuilder::sub(Value a, Value b) { return node(OpType::Sub, OpAttrs(), {a, b}); }
Value GraphBuilder::mul(Value a, Value b) { return node(OpType::Mul, OpAttrs(), {a, b}); }
Value GraphBuilder::div(Value a, Value b) { return node(OpType::Div, OpAttrs(), {a, b}); }

Value GraphBuilder::reshape(Value x, std::initializer_list<int64_t> shape) {
  OpAttrs attrs = attrs_of(fb::Attrs::ReshapeAttrs);
  for (int64_t dim : shape) {
    if (attrs.reshape.rank < kMaxRank) attrs.reshape.shape[attrs.reshape.rank++] = dim;
  }
  return node(OpType::Reshape, attrs, {x});
}

Value GraphBuilder::flatten(Value x, int axis) {
  OpAttrs attrs = attrs_of(fb::Attrs::AxisAttrs);
  attrs.axis.axis = axis;
  return node(OpType::Flatten, attrs, {x});
}

Value GraphBuilder::transpose(Value x, std::initializer_list<int> perm) {
  OpAttrs attrs = attrs_of(fb::Attrs::TransposeAttrs);
  for (int axis : perm) {
    if (attrs.transpose.rank < kMaxRank) attrs.transpose.perm[attrs.transpose.rank++] = axis;
  }
  return node(OpType::Transpose, attrs, {x});
}

Value GraphBuilder::concat(const std::vector<Value>& values, int axis) {
  OpAttrs attrs = attrs_of(fb::Attrs::AxisAttrs);
  attrs.axis.axis = axis;
  return node(OpType::Concat, attrs, values);
}

Value GraphBuilder::softmax(Value x, int axis) {
  OpAttrs attrs = attrs_of(fb::Attrs::AxisAttrs);
  attrs.axis.axis = axis;
  return node(OpType::Softmax, attrs, {x});
}

Value GraphBuilder::log_softmax(Value x, int axis) {
  OpAttrs attrs = attrs_of(fb::Attrs::AxisAttrs);
  attrs.axis.axis = axis;
  return node(OpType::LogSoftmax, attrs, {x});
}

Value GraphBuilder::batch_norm(Value x, float epsilon) {
  if (!x.valid() || !status_.is_ok()) return Value{};
  const int64_t channels = desc(x).rank ? desc(x).dims[desc(x).rank - 1] : 0;
  const std::string name = "batch_norm_" + std::to_string(counter_);
  const TensorDesc vector = make_desc(DType::F32, {channels});
  const std::vector<float> ones(static_cast<size_t>(channels), 1.0f), zeros(static_cast<size_t>(channels), 0.0f);
  OpAttrs attrs = attrs_of(fb::Attrs::NormAttrs);
  attrs.norm.axis = -1;
  attrs.norm.epsilon = epsilon;
  return node(OpType::BatchNorm, attrs,
              {x, parameter(name + ".scale", vector, ones), parameter(name + ".bias", vector, zeros),
               buffer(name + ".running_mean", vector, zeros),
               buffer(name + ".running_var", vector, ones)});
}

Value GraphBuilder::layer_norm(Value x, int axis, float epsilon, bool affine) {
  if (!x.valid() || !status_.is_ok()) return Value{};
  OpAttrs attrs = attrs_of(fb::Attrs::NormAttrs);
  attrs.norm.axis = axis;
  attrs.norm.epsilon = epsilon;
  std::vector<Value> inputs = {x};
  int first = 0;
  if (affine && normalize_axis(axis, desc(x).rank, &first)) {
    TensorDesc normalized;
    normalized.rank = desc(x).rank - first;
    for (int d = 0; d < normalized.rank; ++d) normalized.dims[d] = desc(x).dims[first + d];
    const std::string name = "layer_norm_" + std::to_string(counter_);
    const size_t count = static_cast<size_t>(normalized.num_elements());
    inputs.push_back(parameter(name + ".weight", normalized, std::vector<float>(count, 1.0f)));
    inputs.push_back(parameter(name + ".bias", normalized, std::vector<float>(count, 0.0f)));
  }
  return node(OpType::LayerNorm, attrs, inputs);
}

Value GraphBuilder::dropout(Value x, float ratio) {
  OpAttrs attrs = attrs_of(fb::Attrs::DropoutAttrs);
  attrs.dropout.ratio = ratio;
  return node(OpType::Dropout, attrs, {x});
}

Value GraphBuilder::softmax_cross_entropy(Value logits, Value labels, fb::Reduction reduction) {
  OpAttrs attrs = attrs_of(fb::Attrs::LossAttrs);
  attrs.loss.reduction = reduction;
  return node(OpType::SoftmaxCrossEntropy, attrs, {logits, labels});
}

Value GraphBuilder::mse_loss(Value prediction, Value target, fb::Reduction reduction) {
  OpAttrs attrs = attrs_of(fb::Attrs::LossAttrs);
  attrs.loss.reduction = reduction;
  return node(OpType::MseLoss, attrs, {prediction, target});
}

void GraphBuilder::output(Value value, const std::string& name) {
  if (!value.valid() || !status_.is_ok()) {
    fail(Status::error(Error::kInvalidArgument, "output '%s' is invalid", name.c_str()));
    return;
  }
  Tensor& tensor = graph_.tensors[static_cast<size_t>(value.id)];
  if (tensor.role != fb::TensorRole::Activation) {
    fail(Status::error(Error::kInvalidArgument, "output '%s': tensor '%s' is a %s, not a node's result", name.c_str(),
                       tensor.name.c_str(), role_name(tensor.role)));
    return;
  }
  tensor.role = fb::TensorRole::Output;
  tensor.name = name;
  outputs_.push_back(value.id);
}

Result<Graph> GraphBuilder::finish(const std::string& method_name) {
  if (!status_.is_ok()) return status_;
  PF_CHECK(!outputs_.empty(), Error::kInvalidArgument, "the graph has no outputs: call output() first");
  // Keep only the nodes the outputs need, in the order they were added (a topological order).
  std::vector<uint8_t> needed(graph_.tensors.size(), 0);
  for (int t : outputs_) needed[static_cast<size_t>(t)] = 1;
  std::vector<int> order;
  for (int n = static_cast<int>(graph_.nodes.size()) - 1; n >= 0; --n) {
    const Node& node = graph_.nodes[static_cast<size_t>(n)];
    bool used = false;
    for (int t : node.outputs) used = used || needed[static_cast<size_t>(t)];
    if (!used) continue;
    order.insert(order.begin(), n);
    for (int t : node.inputs) needed[static_cast<size_t>(t)] = 1;
  }
  Method method;
  method.name = method_name;
  method.inputs = inputs_;
  method.outputs = outputs_;
  method.nodes = order;
  graph_.methods.push_back(method);
  PF_RETURN_IF_ERROR(validate(graph_));
  return Result<Graph>(std::move(graph_));
}

}  // namespace graph
}  // namespace preflight
