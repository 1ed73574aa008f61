// Model verification: the FlatBuffers Verifier, then semantic checks. Every message names where
// the problem is (tensor, node, method, with index and name) and what was expected.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "flatbuffers/flatbuffers.h"
#include "core/flatbuffers_read.h"
#include "ops/registry.h"
#include "runtime/model.h"

namespace preflight {
namespace {

const char* name_or_empty(const flatbuffers::String* name) { return name ? name->c_str() : ""; }

uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// Fills tensor.desc and checks dtype, rank, dims, size; `where` is "tensor 3 'x'".
Status read_tensor_desc(const fb::Tensor& tensor, const LoadLimits& limits, TensorDesc* desc) {
  PF_CHECK(dtype_size(tensor.dtype()) != 0, Error::kInvalidModel, "unknown dtype %d",
           static_cast<int>(tensor.dtype()));
  desc->dtype = tensor.dtype();
  const auto* shape = tensor.shape();
  const uint32_t rank = shape ? shape->size() : 0;
  PF_CHECK(rank <= static_cast<uint32_t>(kMaxRank), Error::kInvalidModel, "rank %u is above the limit %d",
           rank, kMaxRank);
  desc->rank = static_cast<int>(rank);
  int64_t elements = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    const int64_t dim = read_unaligned(*shape, i);
    PF_CHECK(dim >= 0, Error::kInvalidModel, "dim %u is negative (%lld)", i, static_cast<long long>(dim));
    desc->dims[i] = dim;
    PF_CHECK(checked_mul(elements, dim, &elements) && elements <= limits.max_tensor_elements,
             Error::kResourceLimit, "element count exceeds the limit max_tensor_elements = %lld",
             static_cast<long long>(limits.max_tensor_elements));
  }
  return Status::ok();
}

bool role_is_persistent(fb::TensorRole role) {
  return role == fb::TensorRole::Parameter || role == fb::TensorRole::Constant ||
         role == fb::TensorRole::OptimizerState || role == fb::TensorRole::Buffer;
}

// Resolves a tensor's buffer to a pointer into the file, checking size, bounds and alignment.
Status resolve_buffer(const fb::Model& root, const uint8_t* bytes, size_t size, uint64_t segment_start,
                      int index, const TensorDesc& desc, const void** data) {
  const auto* buffers = root.buffers();
  const uint32_t count = buffers ? buffers->size() : 0;
  PF_CHECK(index >= 0 && static_cast<uint32_t>(index) < count, Error::kInvalidModel,
           "buffer index %d is out of range [0, %u)", index, count);
  const fb::Buffer* buffer = buffers->Get(static_cast<uint32_t>(index));
  PF_CHECK(buffer != nullptr, Error::kInvalidModel, "buffer %d is null", index);
  const uint64_t expected = desc.num_bytes();
  if (buffer->data() && buffer->data()->size() > 0) {
    PF_CHECK(buffer->data()->size() == expected, Error::kInvalidModel,
             "buffer %d holds %u bytes, the shape needs %llu", index, buffer->data()->size(),
             static_cast<unsigned long long>(expected));
    *data = buffer->data()->data();
  } else {
    const uint64_t offset = buffer->offset(), length = buffer->size();
    PF_CHECK(length == expected, Error::kInvalidModel, "buffer %d holds %llu bytes, the shape needs %llu", index,
             static_cast<unsigned long long>(length), static_cast<unsigned long long>(expected));
    if (length == 0) {
      *data = nullptr;
      return Status::ok();
    }
    PF_CHECK(offset % kBufferAlignment == 0, Error::kInvalidModel,
             "buffer %d: segment offset %llu is not a multiple of %zu", index,
             static_cast<unsigned long long>(offset), kBufferAlignment);
    uint64_t end = 0;
    PF_CHECK(!__builtin_add_overflow(segment_start, offset, &end) && !__builtin_add_overflow(end, length, &end) &&
                 end <= size,
             Error::kInvalidModel, "buffer %d: segment bytes [%llu, +%llu) run past the end of the file (%zu bytes)",
             index, static_cast<unsigned long long>(offset), static_cast<unsigned long long>(length), size);
    *data = bytes + segment_start + offset;
  }
  PF_CHECK(reinterpret_cast<uintptr_t>(*data) % dtype_size(desc.dtype) == 0, Error::kInvalidModel,
           "buffer %d is not aligned for %s", index, dtype_name(desc.dtype));
  return Status::ok();
}

Status read_index_list(const flatbuffers::Vector<int32_t>* list, int limit, const char* what,
                       std::vector<int>* out) {
  out->clear();
  if (!list) return Status::ok();
  out->reserve(list->size());
  for (uint32_t i = 0; i < list->size(); ++i) {
    const int value = list->Get(i);
    PF_CHECK(value >= 0 && value < limit, Error::kInvalidModel, "%s %u: index %d is out of range [0, %d)", what, i,
             value, limit);
    out->push_back(value);
  }
  return Status::ok();
}

// Checks a backward node against its forward op: arity, grad_mask, and that every forward output,
// output gradient and input gradient has the shape the forward op's inference gives.
Status verify_backward_node(const Model& model, const OpDef& op, NodeInfo* info) {
#ifdef PREFLIGHT_NO_TRAINING
  PF_CHECK(op.backward != nullptr, Error::kUnsupported,
           "%s backward: this build runs inference only (PREFLIGHT_TRAINING=OFF); export the model without training",
           op.name);
#endif
  PF_CHECK(op.backward != nullptr, Error::kInvalidModel, "%s has no backward kernel", op.name);
  const int num_inputs = static_cast<int>(info->inputs.size());
  const int forward_outputs = op.num_outputs;
  const int forward_inputs = num_inputs - 2 * forward_outputs;
  PF_CHECK(forward_inputs >= op.min_inputs && forward_inputs <= op.max_inputs, Error::kInvalidModel,
           "backward of %s takes its %d to %d inputs, %d outputs and %d output gradients; the node has %d inputs",
           op.name, op.min_inputs, op.max_inputs, forward_outputs, forward_outputs, num_inputs);
  info->num_forward_inputs = forward_inputs;
  const uint32_t mask = info->grad_mask;
  PF_CHECK(mask != 0 && (forward_inputs >= 32 || (mask >> forward_inputs) == 0), Error::kInvalidModel,
           "grad_mask 0x%x must name at least one of the %d forward inputs and no other", mask, forward_inputs);
  const int wanted = __builtin_popcount(mask);
  PF_CHECK(static_cast<int>(info->outputs.size()) == wanted, Error::kInvalidModel,
           "grad_mask 0x%x asks for %d gradients, the node has %zu outputs", mask, wanted, info->outputs.size());
  TensorDesc in_descs[kMaxNodeInputs], out_descs[kMaxNodeOutputs];
  for (int i = 0; i < forward_inputs; ++i) in_descs[i] = model.tensors()[info->inputs[i]].desc;
  PF_RETURN_IF_ERROR(op.infer(info->attrs, in_descs, forward_inputs, out_descs));
  char expected[96], actual[96];
  for (int j = 0; j < forward_outputs; ++j) {
    for (int copy = 0; copy < 2; ++copy) {  // the forward output, then its gradient
      const int index = forward_inputs + copy * forward_outputs + j;
      const TensorInfo& given = model.tensors()[info->inputs[index]];
      const TensorDesc want = copy ? make_desc(DType::F32, {}) : out_descs[j];
      const bool matches = copy ? (given.desc.dtype == DType::F32 && given.desc.same_shape(out_descs[j]))
                                : given.desc == want;
      PF_CHECK(matches, Error::kInvalidModel, "input %d tensor %d '%s' (the %s of forward output %d) is %s, expected %s",
               index, info->inputs[index], given.name, copy ? "gradient" : "value", j,
               describe(given.desc, actual, sizeof actual), describe(out_descs[j], expected, sizeof expected));
    }
  }
  int output = 0;
  for (int i = 0; i < forward_inputs; ++i) {
    if (!(mask >> i & 1u)) continue;
    const TensorInfo& input = model.tensors()[info->inputs[i]];
    const TensorInfo& grad = model.tensors()[info->outputs[output]];
    PF_CHECK(input.desc.dtype == DType::F32 && grad.desc == input.desc, Error::kInvalidModel,
             "output %d tensor %d '%s' (the gradient of input %d '%s') is %s, expected f32 %s", output,
             info->outputs[output], grad.name, i, input.name, describe(grad.desc, actual, sizeof actual),
             describe(input.desc, expected, sizeof expected));
    ++output;
  }
  return Status::ok();
}

Status verify_node(const Model& model, const fb::Node& node, NodeInfo* info) {
  const OpDef* op = find_op(node.op());
  if (op == nullptr) {
    // A known op left out of a selective build, or a value outside the enum.
    const bool known = node.op() >= fb::OpType::MIN && node.op() <= fb::OpType::MAX;
    PF_CHECK(!known, Error::kUnsupported, "op %s is not in this build (a selective build: add it to PREFLIGHT_OPS)",
             fb::EnumNameOpType(node.op()));
    return Status::error(Error::kInvalidModel, "unknown op %u", static_cast<unsigned>(node.op()));
  }
  info->op = op;
  info->backward = node.backward();
  info->grad_mask = node.grad_mask();
  const int tensor_count = static_cast<int>(model.tensors().size());
  PF_RETURN_IF_ERROR(read_index_list(node.inputs(), tensor_count, "input", &info->inputs));
  PF_RETURN_IF_ERROR(read_index_list(node.outputs(), tensor_count, "output", &info->outputs));
  const int num_inputs = static_cast<int>(info->inputs.size());
  const int num_outputs = static_cast<int>(info->outputs.size());
  PF_CHECK(num_inputs <= kMaxNodeInputs + 2 * kMaxNodeOutputs && num_outputs <= kMaxNodeInputs, Error::kInvalidModel,
           "%d inputs and %d outputs are above the limits of any op", num_inputs, num_outputs);
  if (!info->backward) {
    PF_CHECK(info->grad_mask == 0, Error::kInvalidModel, "grad_mask is set on a forward node");
    PF_CHECK(num_inputs >= op->min_inputs && num_inputs <= op->max_inputs, Error::kInvalidModel,
             "%s takes %d to %d inputs, the node has %d", op->name, op->min_inputs, op->max_inputs, num_inputs);
    PF_CHECK(num_outputs == op->num_outputs, Error::kInvalidModel, "%s has %d outputs, the node has %d", op->name,
             op->num_outputs, num_outputs);
    info->num_forward_inputs = num_inputs;
  }
  for (int out : info->outputs) {
    for (int in : info->inputs) {
      PF_CHECK(in != out, Error::kInvalidModel, "tensor %d '%s' is both an input and an output of the node", in,
               model.tensors()[in].name);
    }
    const fb::TensorRole role = model.tensors()[out].role;
    PF_CHECK(role == fb::TensorRole::Activation || role == fb::TensorRole::Output, Error::kInvalidModel,
             "output tensor %d '%s' has role %s; nodes write only Activation or Output tensors", out,
             model.tensors()[out].name, role_name(role));
  }
  for (int i = 0; i < num_outputs; ++i) {
    for (int j = i + 1; j < num_outputs; ++j) {
      PF_CHECK(info->outputs[i] != info->outputs[j], Error::kInvalidModel, "outputs %d and %d are the same tensor", i, j);
    }
  }
  // Optimizer updates write their first inputs in place: persistent, writable, distinct.
  for (int i = 0; i < (info->backward ? 0 : op->num_updated_inputs); ++i) {
    const TensorInfo& updated = model.tensors()[info->inputs[i]];
    PF_CHECK(updated.role == fb::TensorRole::Parameter || updated.role == fb::TensorRole::OptimizerState ||
                 updated.role == fb::TensorRole::Buffer,
             Error::kInvalidModel, "input %d tensor %d '%s' is updated in place, so it must be a Parameter, "
             "OptimizerState or Buffer, not %s", i, info->inputs[i], updated.name, role_name(updated.role));
    for (int j = 0; j < i; ++j) {
      PF_CHECK(info->inputs[j] != info->inputs[i], Error::kInvalidModel,
               "inputs %d and %d are updated in place and are the same tensor", j, i);
    }
  }
  PF_RETURN_IF_ERROR(read_attrs(*op, node, &info->attrs));
  if (info->backward) return verify_backward_node(model, *op, info);
  // Shape inference from the declared input shapes must reproduce the declared output shapes.
  TensorDesc in_descs[kMaxNodeInputs], out_descs[kMaxNodeOutputs];
  for (int i = 0; i < num_inputs; ++i) in_descs[i] = model.tensors()[info->inputs[i]].desc;
  PF_RETURN_IF_ERROR(op->infer(info->attrs, in_descs, num_inputs, out_descs));
  for (int i = 0; i < num_outputs; ++i) {
    const TensorInfo& declared = model.tensors()[info->outputs[i]];
    char expected[96], actual[96];
    PF_CHECK(declared.desc == out_descs[i], Error::kInvalidModel,
             "output %d tensor %d '%s' is declared %s, shape inference gives %s", i, info->outputs[i], declared.name,
             describe(declared.desc, actual, sizeof actual), describe(out_descs[i], expected, sizeof expected));
  }
  return Status::ok();
}

// What callers index without looking: every method returns something, and train_step and eval
// (the trainer's methods, docs/format.md) take the features, the labels and scalars, and return the
// loss and the predictions of the batch.
// An inference-only build (PREFLIGHT_TRAINING=OFF, the embedded core within its 50 KB) checks the
// first rule only: the trainer that reads train_step and eval is not in it.
Status verify_method_contract(const Model& model, const MethodInfo& info) {
  PF_CHECK(!info.outputs.empty(), Error::kInvalidModel, "the method has no outputs (every method returns a tensor)");
#ifdef PREFLIGHT_NO_TRAINING
  (void)model;
  return Status::ok();
#else
  if (std::strcmp(info.name, "train_step") != 0 && std::strcmp(info.name, "eval") != 0) return Status::ok();
  char have[96];
  PF_CHECK(info.inputs.size() >= 2, Error::kInvalidModel,
           "the method has %zu inputs; a training method takes the features [batch, ...] and the labels first",
           info.inputs.size());
  const TensorInfo& x = model.tensors()[static_cast<size_t>(info.inputs[0])];
  PF_CHECK(x.desc.dtype == DType::F32 && x.desc.rank >= 1 && x.desc.dims[0] >= 1, Error::kInvalidModel,
           "input 0 tensor %d '%s' is %s; a training method's input 0 is the features, f32 [batch >= 1, ...]",
           info.inputs[0], x.name, describe(x.desc, have, sizeof have));
  const int64_t batch = x.desc.dims[0];
  const TensorInfo& labels = model.tensors()[static_cast<size_t>(info.inputs[1])];
  const bool classes = labels.desc.dtype == DType::I64 && labels.desc.rank == 1 && labels.desc.dims[0] == batch;
  const bool targets = labels.desc.dtype == DType::F32 && labels.desc.rank >= 1 && labels.desc.dims[0] == batch;
  PF_CHECK(classes || targets, Error::kInvalidModel,
           "input 1 tensor %d '%s' is %s; a training method's input 1 is the labels, i64 [%lld] (classes) or f32 [%lld, ...] "
           "(targets)", info.inputs[1], labels.name, describe(labels.desc, have, sizeof have), static_cast<long long>(batch),
           static_cast<long long>(batch));
  for (size_t i = 2; i < info.inputs.size(); ++i) {
    const TensorInfo& scalar = model.tensors()[static_cast<size_t>(info.inputs[i])];
    PF_CHECK(scalar.desc.rank == 0 && (scalar.desc.dtype == DType::F32 || scalar.desc.dtype == DType::I64),
             Error::kInvalidModel, "input %zu tensor %d '%s' is %s; a training method's inputs after the labels are "
             "f32 or i64 scalars (hyperparameters, the dropout seed)", i, info.inputs[i], scalar.name,
             describe(scalar.desc, have, sizeof have));
  }
  PF_CHECK(info.outputs.size() >= 2, Error::kInvalidModel,
           "the method has %zu output; a training method returns the loss and the predictions", info.outputs.size());
  const TensorInfo& loss = model.tensors()[static_cast<size_t>(info.outputs[0])];
  PF_CHECK(loss.desc.dtype == DType::F32 && loss.desc.rank == 0, Error::kInvalidModel,
           "output 0 tensor %d '%s' is %s; a training method's output 0 is the loss, f32[]", info.outputs[0], loss.name,
           describe(loss.desc, have, sizeof have));
  const TensorInfo& predictions = model.tensors()[static_cast<size_t>(info.outputs[1])];
  PF_CHECK(predictions.desc.dtype == DType::F32 && predictions.desc.rank >= 1 && predictions.desc.dims[0] == batch,
           Error::kInvalidModel, "output 1 tensor %d '%s' is %s; a training method's output 1 is the predictions, "
           "f32 [%lld, ...]", info.outputs[1], predictions.name, describe(predictions.desc, have, sizeof have),
           static_cast<long long>(batch));
  return Status::ok();
#endif
}

Status verify_method(const Model& model, const fb::Method& method, MethodInfo* info) {
  const int tensor_count = static_cast<int>(model.tensors().size());
  const int node_count = static_cast<int>(model.nodes().size());
  PF_RETURN_IF_ERROR(read_index_list(method.inputs(), tensor_count, "input", &info->inputs));
  PF_RETURN_IF_ERROR(read_index_list(method.outputs(), tensor_count, "output", &info->outputs));
  PF_RETURN_IF_ERROR(read_index_list(method.nodes(), node_count, "step", &info->nodes));
  // 0: not available; 1: method input or persistent; 2: produced by a step of this method.
  std::vector<uint8_t> available(static_cast<size_t>(tensor_count), 0);
  std::vector<uint8_t> node_seen(static_cast<size_t>(node_count), 0);
  for (int t = 0; t < tensor_count; ++t) {
    if (role_is_persistent(model.tensors()[t].role)) available[t] = 1;
  }
  for (size_t i = 0; i < info->inputs.size(); ++i) {
    const int t = info->inputs[i];
    const TensorInfo& tensor = model.tensors()[t];
    PF_CHECK(tensor.role == fb::TensorRole::Input, Error::kInvalidModel,
             "input %zu tensor %d '%s' has role %s, expected Input", i, t, tensor.name, role_name(tensor.role));
    PF_CHECK(available[t] == 0, Error::kInvalidModel, "input %zu tensor %d '%s' is listed twice", i, t, tensor.name);
    available[t] = 1;
  }
  std::vector<uint8_t> updated(static_cast<size_t>(tensor_count), 0);
  for (size_t step = 0; step < info->nodes.size(); ++step) {
    const int n = info->nodes[step];
    const NodeInfo& node = model.nodes()[n];
    PF_CHECK(!node_seen[n], Error::kInvalidModel, "step %zu: node %d '%s' appears twice in the order", step, n,
             node.name);
    node_seen[n] = 1;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int t = node.inputs[i];
      PF_CHECK(available[t] != 0, Error::kInvalidModel,
               "step %zu node %d (%s '%s'): input %zu tensor %d '%s' is read before any step writes it "
               "(a cycle, a dangling tensor, or an order that is not topological)",
               step, n, node.op->name, node.name, i, t, model.tensors()[t].name);
      PF_CHECK(!updated[t], Error::kInvalidModel,
               "step %zu node %d (%s '%s'): input %zu tensor %d '%s' was updated in place by an earlier step; "
               "updates come after every read",
               step, n, node.op->name, node.name, i, t, model.tensors()[t].name);
    }
    for (int i = 0; i < (node.backward ? 0 : node.op->num_updated_inputs); ++i) updated[node.inputs[i]] = 1;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const int t = node.outputs[i];
      PF_CHECK(available[t] == 0, Error::kInvalidModel,
               "step %zu node %d (%s '%s'): output %zu tensor %d '%s' is already written by an earlier step or is "
               "a method input",
               step, n, node.op->name, node.name, i, t, model.tensors()[t].name);
      available[t] = 2;
    }
  }
  for (size_t i = 0; i < info->outputs.size(); ++i) {
    const int t = info->outputs[i];
    PF_CHECK(available[t] != 0, Error::kInvalidModel, "output %zu tensor %d '%s' is never written", i, t,
             model.tensors()[t].name);
  }
  return verify_method_contract(model, *info);
}

#ifndef PREFLIGHT_EMBEDDED
// Where the FlatBuffers Verifier failed (it says only yes or no): the root table and each of its
// fields are verified again one by one, each vector of tables element by element, each with a fresh
// Verifier of the same limits, and the first that fails is named: "tensors[5]", "the root table".
template <typename T>
bool first_bad_element(const flatbuffers::Vector<flatbuffers::Offset<T>>* vector, const uint8_t* bytes, size_t size,
                       const LoadLimits& limits, uint32_t* index) {
  for (uint32_t i = 0; vector && i < vector->size(); ++i) {
    flatbuffers::Verifier verifier(bytes, size, limits.max_flatbuffer_depth, 1000000);
    if (!verifier.VerifyTable(vector->Get(i))) {
      *index = i;
      return true;
    }
  }
  return false;
}

void locate_verification_failure(const uint8_t* bytes, size_t size, const LoadLimits& limits, char* out, size_t capacity) {
  const auto fresh = [&]() { return flatbuffers::Verifier(bytes, size, limits.max_flatbuffer_depth, 1000000); };
  uint32_t root_offset = 0;
  std::memcpy(&root_offset, bytes + 4, sizeof root_offset);
  root_offset = flatbuffers::EndianScalar(root_offset);
  if (static_cast<uint64_t>(root_offset) + 4 + 4 > size) {
    std::snprintf(out, capacity, "the root table's offset %u points past the end", root_offset);
    return;
  }
  const fb::Model* root = fb::GetSizePrefixedModel(bytes);
  const flatbuffers::Table* table = flatbuffers::GetSizePrefixedRoot<flatbuffers::Table>(bytes);  // its untyped view
  {
    flatbuffers::Verifier verifier = fresh();
    if (!table->VerifyTableStart(verifier)) {
      std::snprintf(out, capacity, "the root table (its vtable is out of bounds or misaligned)");
      return;
    }
  }
  struct Field {
    const char* name;
    flatbuffers::voffset_t slot;
  };
  const Field offsets[] = {{"tensors", fb::Model::VT_TENSORS}, {"nodes", fb::Model::VT_NODES},
                           {"methods", fb::Model::VT_METHODS}, {"buffers", fb::Model::VT_BUFFERS},
                           {"metadata", fb::Model::VT_METADATA}, {"test_vectors", fb::Model::VT_TEST_VECTORS}};
  for (const Field& field : offsets) {
    flatbuffers::Verifier verifier = fresh();
    table->VerifyTableStart(verifier);
    if (!table->VerifyOffset(verifier, field.slot)) {
      std::snprintf(out, capacity, "field %s (its offset)", field.name);
      return;
    }
  }
  uint32_t index = 0;
  const auto vector_bad = [&](const auto* vector) {
    flatbuffers::Verifier verifier = fresh();
    return vector && !verifier.VerifyVector(vector);
  };
  const char* bad_vector = vector_bad(root->tensors())        ? "tensors"
                           : vector_bad(root->nodes())        ? "nodes"
                           : vector_bad(root->methods())      ? "methods"
                           : vector_bad(root->buffers())      ? "buffers"
                           : vector_bad(root->test_vectors()) ? "test_vectors"
                                                              : nullptr;
  if (bad_vector) {
    std::snprintf(out, capacity, "the vector %s (its length runs past the end)", bad_vector);
    return;
  }
  if (first_bad_element(root->tensors(), bytes, size, limits, &index)) {
    std::snprintf(out, capacity, "tensors[%u] (the table of tensor %u)", index, index);
  } else if (first_bad_element(root->nodes(), bytes, size, limits, &index)) {
    std::snprintf(out, capacity, "nodes[%u] (the table of node %u, its inputs, outputs or attributes)", index, index);
  } else if (first_bad_element(root->methods(), bytes, size, limits, &index)) {
    std::snprintf(out, capacity, "methods[%u] (the table of method %u)", index, index);
  } else if (first_bad_element(root->buffers(), bytes, size, limits, &index)) {
    std::snprintf(out, capacity, "buffers[%u] (the table of buffer %u)", index, index);
  } else if (first_bad_element(root->test_vectors(), bytes, size, limits, &index)) {
    std::snprintf(out, capacity, "test_vectors[%u] (the table of test vector %u)", index, index);
  } else {
    flatbuffers::Verifier verifier = fresh();
    std::snprintf(out, capacity, "%s", root->metadata() && !verifier.VerifyTable(root->metadata())
                                           ? "metadata (its table)"
                                           : "the root table (its fields, or the nesting depth or table count limits)");
  }
}
#else
// The embedded profile keeps its core small: the Verifier's verdict without the place.
void locate_verification_failure(const uint8_t*, size_t, const LoadLimits&, char* out, size_t capacity) {
  std::snprintf(out, capacity, "some table");
}
#endif

}  // namespace

Status verify_model(Model* model) {
  const uint8_t* bytes = model->bytes_;
  const size_t size = model->size_;
  const LoadLimits& limits = model->limits_;
  PF_CHECK(size <= limits.max_file_bytes, Error::kResourceLimit,
           "model size %zu is above the limit max_file_bytes = %llu", size,
           static_cast<unsigned long long>(limits.max_file_bytes));
  PF_CHECK(size >= 12, Error::kInvalidModel, "model is truncated: %zu bytes, a .pfb file has at least 12", size);
  if (!flatbuffers::BufferHasIdentifier(bytes, fb::ModelIdentifier(), /*size_prefixed=*/true)) {
    char found[5] = {0};
    for (int i = 0; i < 4; ++i) {
      const char c = static_cast<char>(bytes[8 + i]);
      found[i] = (c >= 32 && c < 127) ? c : '?';
    }
    return Status::error(Error::kInvalidModel, "wrong file identifier: expected '%s', found '%s' (not a .pfb file)",
                         fb::ModelIdentifier(), found);
  }
  uint32_t flatbuffer_size = 0;
  std::memcpy(&flatbuffer_size, bytes, sizeof flatbuffer_size);
  flatbuffer_size = flatbuffers::EndianScalar(flatbuffer_size);
  PF_CHECK(static_cast<uint64_t>(flatbuffer_size) + 4 <= size, Error::kInvalidModel,
           "model is truncated: the size prefix says %u bytes, the file has %zu after it", flatbuffer_size, size - 4);
  flatbuffers::Verifier verifier(bytes, static_cast<size_t>(flatbuffer_size) + 4, limits.max_flatbuffer_depth,
                                 /*max_tables=*/1000000);
  if (!fb::VerifySizePrefixedModelBuffer(verifier)) {
    char where[160];
    locate_verification_failure(bytes, static_cast<size_t>(flatbuffer_size) + 4, limits, where, sizeof where);
    return Status::error(Error::kInvalidModel, "FlatBuffers verification failed at %s: the file is truncated or corrupt there",
                         where);
  }
  const fb::Model* root = fb::GetSizePrefixedModel(bytes);
  model->root_ = root;
  PF_CHECK(root->schema_version() == kSchemaVersion, Error::kInvalidModel,
           "schema version %u is not supported (this build reads version %u)", root->schema_version(),
           kSchemaVersion);
  const uint32_t tensor_count = root->tensors() ? root->tensors()->size() : 0;
  const uint32_t node_count = root->nodes() ? root->nodes()->size() : 0;
  const uint32_t method_count = root->methods() ? root->methods()->size() : 0;
  PF_CHECK(tensor_count <= limits.max_tensors, Error::kResourceLimit,
           "tensor count %u is above the limit max_tensors = %u", tensor_count, limits.max_tensors);
  PF_CHECK(node_count <= limits.max_nodes, Error::kResourceLimit, "node count %u is above the limit max_nodes = %u",
           node_count, limits.max_nodes);
  PF_CHECK(method_count <= limits.max_methods, Error::kResourceLimit,
           "method count %u is above the limit max_methods = %u", method_count, limits.max_methods);
  PF_CHECK(method_count >= 1, Error::kInvalidModel, "model has no methods");

  const uint64_t segment_start = align_up(static_cast<uint64_t>(flatbuffer_size) + 4, kBufferAlignment);
  model->tensors_.assign(tensor_count, TensorInfo());
  for (uint32_t t = 0; t < tensor_count; ++t) {
    const fb::Tensor* tensor = root->tensors()->Get(t);
    TensorInfo& info = model->tensors_[t];
    PF_CHECK(tensor != nullptr, Error::kInvalidModel, "tensor %u is null", t);
    info.name = name_or_empty(tensor->name());
    info.role = tensor->role();
    PF_CHECK(fb::EnumNameTensorRole(info.role)[0] != '\0', Error::kInvalidModel, "tensor %u '%s': unknown role %d", t, info.name,
             static_cast<int>(info.role));
    Status status = read_tensor_desc(*tensor, limits, &info.desc);
    if (!status.is_ok()) return status.with_context("tensor %u '%s': ", t, info.name);
    const bool persistent = role_is_persistent(info.role);
    if (persistent) {
      PF_CHECK(tensor->buffer() >= 0, Error::kInvalidModel, "tensor %u '%s' (%s) has no buffer", t, info.name,
               role_name(info.role));
      status = resolve_buffer(*root, bytes, size, segment_start, tensor->buffer(), info.desc, &info.data);
      if (!status.is_ok()) return status.with_context("tensor %u '%s': ", t, info.name);
    } else {
      PF_CHECK(tensor->buffer() == -1, Error::kInvalidModel,
               "tensor %u '%s' (%s) must not have a buffer (only parameters, constants and optimizer state do)", t,
               info.name, role_name(info.role));
    }
  }

  model->nodes_.assign(node_count, NodeInfo());
  for (uint32_t n = 0; n < node_count; ++n) {
    const fb::Node* node = root->nodes()->Get(n);
    PF_CHECK(node != nullptr, Error::kInvalidModel, "node %u is null", n);
    NodeInfo& info = model->nodes_[n];
    info.name = name_or_empty(node->name());
    const Status status = verify_node(*model, *node, &info);
    if (!status.is_ok()) {
      const char* op_name = fb::EnumNameOpType(node->op());
      return status.with_context("node %u (%s '%s'): ", n, op_name[0] ? op_name : "unknown op", info.name);
    }
  }

  model->methods_.assign(method_count, MethodInfo());
  for (uint32_t m = 0; m < method_count; ++m) {
    const fb::Method* method = root->methods()->Get(m);
    PF_CHECK(method != nullptr, Error::kInvalidModel, "method %u is null", m);
    MethodInfo& info = model->methods_[m];
    info.name = name_or_empty(method->name());
    PF_CHECK(info.name[0] != '\0', Error::kInvalidModel, "method %u has no name", m);
    for (uint32_t other = 0; other < m; ++other) {
      PF_CHECK(std::strcmp(model->methods_[other].name, info.name) != 0, Error::kInvalidModel,
               "methods %u and %u are both called '%s'", other, m, info.name);
    }
    const Status status = verify_method(*model, *method, &info);
    if (!status.is_ok()) return status.with_context("method '%s': ", info.name);
  }

  // Test vectors: a method of the model, and data of exactly each tensor's size.
  const uint32_t vector_count = root->test_vectors() ? root->test_vectors()->size() : 0;
  PF_CHECK(vector_count <= limits.max_methods * 16u, Error::kResourceLimit, "%u test vectors", vector_count);
  model->test_vectors_.assign(vector_count, TestVectorInfo());
  for (uint32_t v = 0; v < vector_count; ++v) {
    const fb::TestVector* vector = root->test_vectors()->Get(v);
    PF_CHECK(vector != nullptr, Error::kInvalidModel, "test vector %u is null", v);
    TestVectorInfo& info = model->test_vectors_[v];
    info.method = name_or_empty(vector->method());
    info.rtol = vector->rtol(), info.atol = vector->atol();
    PF_CHECK(model->find_method(info.method) >= 0, Error::kInvalidModel, "test vector %u: no method '%s'", v, info.method);
    PF_CHECK(std::isfinite(info.rtol) && std::isfinite(info.atol) && info.rtol >= 0 && info.atol >= 0, Error::kInvalidModel,
             "test vector %u: tolerances must be finite and >= 0", v);
    for (int side = 0; side < 2; ++side) {
      const auto* list = side ? vector->expected() : vector->inputs();
      std::vector<TestTensorInfo>& out = side ? info.expected : info.inputs;
      for (uint32_t t = 0; list && t < list->size(); ++t) {
        const fb::TestTensor* tensor = list->Get(t);
        PF_CHECK(tensor != nullptr, Error::kInvalidModel, "test vector %u: tensor %u is null", v, t);
        TestTensorInfo entry;
        entry.name = name_or_empty(tensor->name());
        PF_CHECK(dtype_size(tensor->dtype()) != 0, Error::kInvalidModel, "test vector %u '%s': unknown dtype %d", v, entry.name,
                 static_cast<int>(tensor->dtype()));
        entry.desc.dtype = tensor->dtype();
        const uint32_t rank = tensor->dims() ? tensor->dims()->size() : 0;
        PF_CHECK(rank <= static_cast<uint32_t>(kMaxRank), Error::kInvalidModel, "test vector %u '%s': rank %u", v, entry.name, rank);
        entry.desc.rank = static_cast<int>(rank);
        int64_t elements = 1;
        for (uint32_t d = 0; d < rank; ++d) {
          const int64_t dim = read_unaligned(*tensor->dims(), d);
          PF_CHECK(dim >= 0 && checked_mul(elements, dim, &elements) && elements <= limits.max_tensor_elements,
                   Error::kInvalidModel, "test vector %u '%s': dim %u is %lld", v, entry.name, d, static_cast<long long>(dim));
          entry.desc.dims[d] = dim;
        }
        const uint32_t bytes_given = tensor->data() ? tensor->data()->size() : 0;
        PF_CHECK(static_cast<uint64_t>(bytes_given) == entry.desc.num_bytes(), Error::kInvalidModel,
                 "test vector %u '%s': %u bytes of data for %llu", v, entry.name, bytes_given,
                 static_cast<unsigned long long>(entry.desc.num_bytes()));
        entry.data = tensor->data() ? tensor->data()->data() : nullptr;
        out.push_back(entry);
      }
    }
  }
  return Status::ok();
}

}  // namespace preflight
