#include "graph/serialize.h"

#include "runtime/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "flatbuffers/flatbuffers.h"

namespace preflight {
namespace graph {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

flatbuffers::Offset<void> write_attrs(FlatBufferBuilder& b, const OpAttrs& a) {
  switch (a.kind) {
    case fb::Attrs::NONE: return 0;
    case fb::Attrs::MatMulAttrs:
      return fb::CreateMatMulAttrs(b, a.matmul.transpose_a, a.matmul.transpose_b).Union();
    case fb::Attrs::Conv2dAttrs: {
      const Conv2dAttrs& c = a.conv;
      return fb::CreateConv2dAttrs(b, c.stride_h, c.stride_w, c.pad_top, c.pad_left, c.pad_bottom, c.pad_right,
                                   c.dilation_h, c.dilation_w, c.groups)
          .Union();
    }
    case fb::Attrs::Pool2dAttrs: {
      const Pool2dAttrs& p = a.pool;
      return fb::CreatePool2dAttrs(b, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left,
                                   p.pad_bottom, p.pad_right, p.count_include_pad)
          .Union();
    }
    case fb::Attrs::GlobalPoolAttrs: return fb::CreateGlobalPoolAttrs(b, a.global_pool.keep_dims).Union();
    case fb::Attrs::ClampAttrs: return fb::CreateClampAttrs(b, a.clamp.min, a.clamp.max).Union();
    case fb::Attrs::GeluAttrs: return fb::CreateGeluAttrs(b, a.gelu.tanh_approximation).Union();
    case fb::Attrs::HardSigmoidAttrs:
      return fb::CreateHardSigmoidAttrs(b, a.hard_sigmoid.alpha, a.hard_sigmoid.beta).Union();
    case fb::Attrs::ReduceAttrs: return fb::CreateReduceAttrs(b, a.reduce.axes, a.reduce.keep_dims).Union();
    case fb::Attrs::SliceAttrs: {
      const SliceAttrs& c = a.slice;
      return fb::CreateSliceAttrs(b, b.CreateVector(std::vector<int64_t>(c.start, c.start + c.rank)),
                                  b.CreateVector(std::vector<int64_t>(c.step, c.step + c.rank)),
                                  b.CreateVector(std::vector<int64_t>(c.size, c.size + c.rank)))
          .Union();
    }
    case fb::Attrs::AlphaAttrs: return fb::CreateAlphaAttrs(b, a.alpha.alpha).Union();
    case fb::Attrs::AxisAttrs: return fb::CreateAxisAttrs(b, a.axis.axis).Union();
    case fb::Attrs::ReshapeAttrs: {
      std::vector<int64_t> shape(a.reshape.shape, a.reshape.shape + a.reshape.rank);
      return fb::CreateReshapeAttrs(b, b.CreateVector(shape)).Union();
    }
    case fb::Attrs::TransposeAttrs: {
      std::vector<int32_t> perm(a.transpose.perm, a.transpose.perm + a.transpose.rank);
      return fb::CreateTransposeAttrs(b, b.CreateVector(perm)).Union();
    }
    case fb::Attrs::NormAttrs: return fb::CreateNormAttrs(b, a.norm.axis, a.norm.epsilon).Union();
    case fb::Attrs::DropoutAttrs:
      return fb::CreateDropoutAttrs(b, a.dropout.ratio, a.dropout.training, a.dropout.stream).Union();
    case fb::Attrs::RunningStatsAttrs: return fb::CreateRunningStatsAttrs(b, a.running_stats.momentum).Union();
    case fb::Attrs::LossAttrs: return fb::CreateLossAttrs(b, a.loss.reduction).Union();
    case fb::Attrs::SgdAttrs: return fb::CreateSgdAttrs(b, a.sgd.nesterov).Union();
    case fb::Attrs::AdamAttrs: return fb::CreateAdamAttrs(b, a.adam.decoupled_weight_decay).Union();
  }
  return 0;
}

size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

}  // namespace

// Every part of a table is made in a statement of its own, never as an argument of the call that
// makes the table: the order in which a call's arguments are evaluated is unspecified (g++
// evaluates them right to left on x86-64, left to right on aarch64), and the bytes would follow it.
Bytes serialize(const Graph& graph, const SerializeOptions& options) {
  FlatBufferBuilder b(1024);
  // Buffers: inline when small, else a slot in the segment at a 64-byte aligned offset.
  std::vector<Offset<fb::Buffer>> buffers;
  std::vector<int> buffer_of(graph.tensors.size(), -1);
  std::vector<const Tensor*> segment_tensors;
  std::vector<size_t> segment_offsets;
  size_t segment_size = 0;
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (tensor.role != fb::TensorRole::Parameter && tensor.role != fb::TensorRole::Constant &&
        tensor.role != fb::TensorRole::OptimizerState && tensor.role != fb::TensorRole::Buffer) {
      continue;
    }
    buffer_of[t] = static_cast<int>(buffers.size());
    if (tensor.data.size() > options.inline_limit) {
      segment_offsets.push_back(segment_size);
      segment_tensors.push_back(&tensor);
      buffers.push_back(fb::CreateBuffer(b, 0, segment_size, tensor.data.size()));
      segment_size = align_up(segment_size + tensor.data.size(), kBufferAlignment);
    } else {
      b.ForceVectorAlignment(tensor.data.size(), sizeof(uint8_t), kBufferAlignment);
      const auto data = b.CreateVector(tensor.data);
      buffers.push_back(fb::CreateBuffer(b, data));
    }
  }
  std::vector<Offset<fb::Tensor>> tensors;
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    std::vector<int64_t> shape(tensor.desc.dims, tensor.desc.dims + tensor.desc.rank);
    const auto name = b.CreateString(tensor.name);
    const auto dims = b.CreateVector(shape);
    tensors.push_back(fb::CreateTensor(b, name, tensor.desc.dtype, dims, tensor.role, buffer_of[t]));
  }
  std::vector<Offset<fb::Node>> nodes;
  for (const Node& node : graph.nodes) {
    const auto name = b.CreateString(node.name);
    const auto inputs = b.CreateVector(node.inputs);
    const auto outputs = b.CreateVector(node.outputs);
    const auto attrs = write_attrs(b, node.attrs);
    nodes.push_back(fb::CreateNode(b, name, node.op, inputs, outputs, node.attrs.kind, attrs, node.backward,
                                   node.grad_mask));
  }
  std::vector<Offset<fb::Method>> methods;
  for (const Method& method : graph.methods) {
    const auto name = b.CreateString(method.name);
    const auto inputs = b.CreateVector(method.inputs);
    const auto outputs = b.CreateVector(method.outputs);
    const auto method_nodes = b.CreateVector(method.nodes);
    methods.push_back(fb::CreateMethod(b, name, inputs, outputs, method_nodes));
  }
  auto entries = graph.metadata.entries;
  std::sort(entries.begin(), entries.end());
  std::vector<Offset<fb::KeyValue>> key_values;
  for (const auto& entry : entries) {
    const auto key = b.CreateString(entry.first);
    const auto value = b.CreateString(entry.second);
    key_values.push_back(fb::CreateKeyValue(b, key, value));
  }
  const auto producer = b.CreateString(graph.metadata.producer);
  const auto description = b.CreateString(graph.metadata.description);
  const auto key_value_vector = b.CreateVector(key_values);
  const auto metadata = fb::CreateMetadata(b, producer, description, key_value_vector);
  std::vector<Offset<fb::TestVector>> vectors;
  const auto test_tensors = [&b](const std::vector<TestTensor>& list) {
    std::vector<Offset<fb::TestTensor>> out;
    for (const TestTensor& t : list) {
      const auto name = b.CreateString(t.name);
      const auto dims = b.CreateVector(std::vector<int64_t>(t.desc.dims, t.desc.dims + t.desc.rank));
      const auto data = b.CreateVector(t.data);
      out.push_back(fb::CreateTestTensor(b, name, t.desc.dtype, dims, data));
    }
    return b.CreateVector(out);
  };
  for (const TestVector& v : graph.test_vectors) {
    const auto method = b.CreateString(v.method);
    const auto inputs = test_tensors(v.inputs);
    const auto expected = test_tensors(v.expected);
    vectors.push_back(fb::CreateTestVector(b, method, inputs, expected, v.rtol, v.atol));
  }
  const auto tensor_vector = b.CreateVector(tensors);
  const auto node_vector = b.CreateVector(nodes);
  const auto method_vector = b.CreateVector(methods);
  const auto buffer_vector = b.CreateVector(buffers);
  const auto test_vector_list = vectors.empty() ? 0 : b.CreateVector(vectors);
  const auto root = fb::CreateModel(b, kSchemaVersion, tensor_vector, node_vector, method_vector, buffer_vector, metadata,
                                    test_vector_list);
  fb::FinishSizePrefixedModelBuffer(b, root);

  const size_t segment_start = align_up(b.GetSize(), kBufferAlignment);
  Bytes bytes(segment_tensors.empty() ? b.GetSize() : segment_start + segment_size, 0);
  std::memcpy(bytes.data(), b.GetBufferPointer(), b.GetSize());
  for (size_t i = 0; i < segment_tensors.size(); ++i) {
    std::memcpy(bytes.data() + segment_start + segment_offsets[i], segment_tensors[i]->data.data(),
                segment_tensors[i]->data.size());
  }
  return bytes;
}

Graph read_graph(const Model& model) {
  Graph graph;
  for (const TensorInfo& info : model.tensors()) {
    Tensor tensor;
    tensor.name = info.name;
    tensor.desc = info.desc;
    tensor.role = info.role;
    if (info.data) {
      const auto* begin = static_cast<const uint8_t*>(info.data);
      tensor.data.assign(begin, begin + info.desc.num_bytes());
    }
    graph.tensors.push_back(std::move(tensor));
  }
  for (const NodeInfo& info : model.nodes()) {
    Node node;
    node.name = info.name;
    node.op = info.op->type;
    node.attrs = info.attrs;
    node.inputs = info.inputs;
    node.outputs = info.outputs;
    node.backward = info.backward;
    node.grad_mask = info.grad_mask;
    graph.nodes.push_back(std::move(node));
  }
  for (const MethodInfo& info : model.methods()) {
    graph.methods.push_back(Method{info.name, info.inputs, info.outputs, info.nodes});
  }
  for (const TestVectorInfo& info : model.test_vectors()) {
    TestVector vector;
    vector.method = info.method;
    vector.rtol = info.rtol, vector.atol = info.atol;
    for (int side = 0; side < 2; ++side) {
      for (const TestTensorInfo& t : side ? info.expected : info.inputs) {
        const auto* begin = static_cast<const uint8_t*>(t.data);
        (side ? vector.expected : vector.inputs).push_back(TestTensor{t.name, t.desc, std::vector<uint8_t>(begin, begin + t.desc.num_bytes())});
      }
    }
    graph.test_vectors.push_back(std::move(vector));
  }
  if (const fb::Metadata* metadata = model.flatbuffer().metadata()) {
    graph.metadata.producer = metadata->producer() ? metadata->producer()->str() : "";
    graph.metadata.description = metadata->description() ? metadata->description()->str() : "";
    if (metadata->entries()) {
      for (const fb::KeyValue* entry : *metadata->entries()) {
        graph.metadata.entries.emplace_back(entry->key() ? entry->key()->str() : "",
                                            entry->value() ? entry->value()->str() : "");
      }
    }
  }
  return graph;
}

Result<Bytes> read_file(const std::string& path) {
  Bytes bytes;
  PF_RETURN_IF_ERROR(read_regular_file(path.c_str(), &bytes));
  return Result<Bytes>(std::move(bytes));
}

}  // namespace graph
}  // namespace preflight
