// A loaded model re-planned for another batch (Model::set_batch, Model::batch_for): the runtime's
// reshape, as XNNPACK's create/reshape/setup/run has one. Shapes are re-inferred from the new
// input shapes with each op's own `infer`, the rule the verifier checked them by at load.
#include <cinttypes>
#include <utility>

#include "runtime/model.h"

namespace preflight {
namespace {

// Whether `desc` holds at most `limit` elements, its dims multiplied without int64 overflow.
bool within_elements(const TensorDesc& desc, int64_t limit) {
  int64_t elements = 1;
  for (int d = 0; d < desc.rank; ++d) {
    if (!checked_mul(elements, desc.dims[d], &elements)) return false;
  }
  return elements <= limit;
}

}  // namespace

bool Model::is_batched_input(int method, int input) const {
  const MethodInfo& info = methods_[static_cast<size_t>(method)];
  const TensorDesc& desc = tensors_[static_cast<size_t>(info.inputs[static_cast<size_t>(input)])].desc;
  // Scalars (hyper-parameters) have no batch; a ranked input makes batch() the first ranked one's.
  return desc.rank >= 1 && desc.dims[0] == batch(method);
}

int64_t Model::batch(int method) const {
  for (int t : methods_[static_cast<size_t>(method)].inputs) {
    const TensorDesc& desc = tensors_[static_cast<size_t>(t)].desc;
    if (desc.rank >= 1) return desc.dims[0];
  }
  return 0;
}

Result<int64_t> Model::batch_for(int method, const TensorDesc* inputs, size_t count) const {
  const MethodInfo& info = methods_[static_cast<size_t>(method)];
  PF_CHECK(count == info.inputs.size(), Error::kInvalidArgument, "method '%s' takes %zu inputs, got %zu", info.name,
           info.inputs.size(), count);
  int64_t new_batch = -1;
  size_t batch_from = 0;
  for (size_t i = 0; i < count; ++i) {
    const TensorInfo& want_tensor = tensors_[static_cast<size_t>(info.inputs[i])];
    const TensorDesc& want = want_tensor.desc;
    const TensorDesc& got = inputs[i];
    if (got == want) continue;
    // An input that differs may differ only in its batch dim.
    const bool batched = is_batched_input(method, static_cast<int>(i));
    bool same_but_batch = batched && want.dtype == got.dtype && want.rank == got.rank && got.dims[0] >= 1;
    for (int d = 1; same_but_batch && d < want.rank; ++d) same_but_batch = want.dims[d] == got.dims[d];
    char want_text[96], got_text[96];
    PF_CHECK(same_but_batch, Error::kInvalidArgument, "input %zu '%s': the model expects %s%s, the file holds %s", i,
             want_tensor.name, describe(want, want_text, sizeof want_text), batched ? " (any batch)" : "",
             describe(got, got_text, sizeof got_text));
    if (new_batch < 0) new_batch = got.dims[0], batch_from = i;
    PF_CHECK(got.dims[0] == new_batch, Error::kInvalidArgument, "input %zu has batch %lld, input %zu has batch %lld", i,
             static_cast<long long>(got.dims[0]), batch_from, static_cast<long long>(new_batch));
  }
  if (new_batch < 0) return batch(method);  // every input has the model's shape
  // A batched input given at the model's batch beside one at a new batch disagrees too.
  for (size_t i = 0; i < count; ++i) {
    PF_CHECK(!is_batched_input(method, static_cast<int>(i)) || inputs[i].dims[0] == new_batch, Error::kInvalidArgument,
             "input %zu has batch %lld, input %zu has batch %lld", i, static_cast<long long>(inputs[i].dims[0]),
             batch_from, static_cast<long long>(new_batch));
  }
  return new_batch;
}

Status Model::set_batch(int64_t batch) {
  PF_CHECK(batch >= 1, Error::kInvalidArgument, "batch must be >= 1, got %lld", static_cast<long long>(batch));
  // Worked on a copy, kept only when every shape infers: a failed reshape leaves the model as it was.
  std::vector<TensorInfo> tensors = tensors_;
  // Decided on the shapes as they are, then set: one tensor may be an input of several methods.
  std::vector<int> batched;
  for (size_t m = 0; m < methods_.size(); ++m) {
    for (size_t i = 0; i < methods_[m].inputs.size(); ++i) {
      if (is_batched_input(static_cast<int>(m), static_cast<int>(i))) batched.push_back(methods_[m].inputs[i]);
    }
  }
  for (int t : batched) {
    TensorInfo& tensor = tensors[static_cast<size_t>(t)];
    PF_CHECK(tensor.data == nullptr, Error::kInvalidModel,
             "tensor %d '%s' is a method input with stored bytes: its shape cannot change", t, tensor.name);
    tensor.desc.dims[0] = batch;
    // Checked before any op multiplies these dims: no int64 overflow in shape inference.
    PF_CHECK(within_elements(tensor.desc, limits_.max_tensor_elements), Error::kResourceLimit,
             "batch %lld: input tensor %d '%s' is above the limit max_tensor_elements = %lld",
             static_cast<long long>(batch), t, tensor.name, static_cast<long long>(limits_.max_tensor_elements));
  }
  for (const MethodInfo& method : methods_) {
    for (int n : method.nodes) {
      const NodeInfo& node = nodes_[static_cast<size_t>(n)];
      TensorDesc in_descs[kMaxNodeInputs], out_descs[kMaxNodeOutputs];
      for (int i = 0; i < node.num_forward_inputs; ++i) in_descs[i] = tensors[static_cast<size_t>(node.inputs[static_cast<size_t>(i)])].desc;
      const Status inferred = node.op->infer(node.attrs, in_descs, node.num_forward_inputs, out_descs);
      if (!inferred.is_ok()) {
        return inferred.with_context("batch %lld: method '%s', node %d (%s '%s'): ", static_cast<long long>(batch),
                                     method.name, n, node.op->name, node.name);
      }
      // A backward node writes the gradients of the forward inputs grad_mask names: their shapes.
      size_t output = 0;
      for (int i = 0; node.backward && i < node.num_forward_inputs; ++i) {
        if (node.grad_mask >> i & 1u) tensors[static_cast<size_t>(node.outputs[output++])].desc = in_descs[i];
      }
      for (size_t i = 0; !node.backward && i < node.outputs.size(); ++i) {
        tensors[static_cast<size_t>(node.outputs[i])].desc = out_descs[i];
      }
    }
  }
  for (size_t t = 0; t < tensors.size(); ++t) {
    PF_CHECK(within_elements(tensors[t].desc, limits_.max_tensor_elements), Error::kResourceLimit,
             "batch %lld: tensor %zu '%s' is above the limit max_tensor_elements = %lld", static_cast<long long>(batch), t,
             tensors[t].name, static_cast<long long>(limits_.max_tensor_elements));
  }
  tensors_ = std::move(tensors);
  return Status::ok();
}

}  // namespace preflight
