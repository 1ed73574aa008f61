#include "runtime/session.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace preflight {

void Session::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

Result<Session> Session::open(Model model, const SessionOptions& options) {
  const Backend& backend = options.backend ? *options.backend : reference_backend();
  Session session;
  session.model_.reset(new (std::nothrow) Model(std::move(model)));
  PF_CHECK(session.model_ != nullptr, Error::kOutOfMemory, "cannot allocate the session");
  const Model& loaded = *session.model_;
  for (size_t m = 0; m < loaded.methods().size(); ++m) {
    Result<Program> program = Program::prepare(loaded, static_cast<int>(m), backend);
    if (!program.is_ok()) return program.status();
    if (program->arena_bytes() > session.arena_bytes_) session.arena_bytes_ = program->arena_bytes();
    session.programs_.push_back(std::move(program).value());
  }
  // Persistent tensors that a node updates in place get writable copies, each 64-byte aligned.
  const auto& tensors = loaded.tensors();
  std::vector<uint8_t> updated(tensors.size(), 0);
  for (const NodeInfo& node : loaded.nodes()) {
    for (int i = 0; i < (node.backward ? 0 : node.op->num_updated_inputs); ++i) updated[static_cast<size_t>(node.inputs[i])] = 1;
  }
  if (options.writable_parameters) {
    for (size_t t = 0; t < tensors.size(); ++t) updated[t] = updated[t] || tensors[t].role == fb::TensorRole::Parameter;
  }
  size_t persistent_bytes = 0;
  std::vector<size_t> offsets(tensors.size(), 0);
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (!updated[t]) continue;
    offsets[t] = persistent_bytes;
    persistent_bytes += (tensors[t].desc.num_bytes() + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  }
  session.writable_.assign(tensors.size(), nullptr);
  // One block: the writable copies, then one arena for all methods (at least one alignment unit,
  // so the pointer is never null).
  const size_t arena = (session.arena_bytes_ + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  const size_t total = persistent_bytes + (arena ? arena : kBufferAlignment);
  session.memory_bytes_ = total;
  uint8_t* block = options.memory;
  if (block) {
    PF_CHECK(reinterpret_cast<uintptr_t>(block) % kBufferAlignment == 0, Error::kInvalidArgument,
             "SessionOptions::memory must be aligned to %zu bytes", kBufferAlignment);
    PF_CHECK(options.memory_bytes >= total, Error::kResourceLimit,
             "SessionOptions::memory holds %zu bytes; this model needs %zu (writable tensors %zu + arena %zu)",
             options.memory_bytes, total, persistent_bytes, total - persistent_bytes);
  } else {
    session.owned_.reset(static_cast<uint8_t*>(std::aligned_alloc(kBufferAlignment, total)));
    PF_CHECK(session.owned_ != nullptr, Error::kOutOfMemory, "cannot allocate %zu bytes (writable tensors %zu + arena %zu)",
             total, persistent_bytes, total - persistent_bytes);
    block = session.owned_.get();
  }
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (!updated[t]) continue;
    session.writable_[t] = block + offsets[t];
    if (tensors[t].desc.num_bytes()) std::memcpy(session.writable_[t], tensors[t].data, tensors[t].desc.num_bytes());
  }
  uint8_t* arena_start = block + persistent_bytes;
  // Zeros: `auto` times kernels on the arena at bind (no garbage NaN or denormal inputs).
  std::memset(arena_start, 0, total - persistent_bytes);
  for (Program& program : session.programs_) PF_RETURN_IF_ERROR(program.bind(arena_start, session.writable_));
  return Result<Session>(std::move(session));
}

const void* Session::persistent_data(int t) const {
  const size_t index = static_cast<size_t>(t);
  return writable_[index] ? writable_[index] : model_->tensors()[index].data;
}

namespace {

Status check_argument(const char* kind, size_t index, const TensorInfo& expected, const TensorView& actual) {
  char want[96], got[96];
  PF_CHECK(actual.desc == expected.desc, Error::kInvalidArgument, "%s %zu '%s': expected %s, got %s", kind, index,
           expected.name, describe(expected.desc, want, sizeof want), describe(actual.desc, got, sizeof got));
  PF_CHECK(actual.data != nullptr || expected.desc.num_bytes() == 0, Error::kInvalidArgument,
           "%s %zu '%s': data pointer is null", kind, index, expected.name);
  return Status::ok();
}

}  // namespace

Status Session::run(const char* method, const TensorView* inputs, int num_inputs, TensorView* outputs,
                    int num_outputs) {
  const int index = model_->find_method(method);
  PF_CHECK(index >= 0, Error::kNotFound, "the model has no method '%s'", method);
  const MethodInfo& info = model_->methods()[static_cast<size_t>(index)];
  Program& program = programs_[static_cast<size_t>(index)];
  PF_CHECK(num_inputs == static_cast<int>(info.inputs.size()) && num_outputs == static_cast<int>(info.outputs.size()),
           Error::kInvalidArgument, "method '%s' takes %zu inputs and %zu outputs, got %d and %d", method,
           info.inputs.size(), info.outputs.size(), num_inputs, num_outputs);
  for (size_t i = 0; i < info.inputs.size(); ++i) {
    const Status status = check_argument("input", i, model_->tensors()[static_cast<size_t>(info.inputs[i])], inputs[i]);
    if (!status.is_ok()) return status.with_context("method '%s': ", method);
  }
  for (size_t i = 0; i < info.outputs.size(); ++i) {
    const Status status =
        check_argument("output", i, model_->tensors()[static_cast<size_t>(info.outputs[i])], outputs[i]);
    if (!status.is_ok()) return status.with_context("method '%s': ", method);
  }
  for (size_t i = 0; i < info.inputs.size(); ++i) {
    const size_t bytes = inputs[i].desc.num_bytes();
    if (bytes) std::memcpy(program.tensor_data(info.inputs[i]), inputs[i].data, bytes);
  }
  PF_RETURN_IF_ERROR(program.run(check_numerics_));
  for (size_t i = 0; i < info.outputs.size(); ++i) {
    const size_t bytes = outputs[i].desc.num_bytes();
    if (bytes) std::memcpy(outputs[i].data, program.tensor_data(info.outputs[i]), bytes);
  }
  return Status::ok();
}

}  // namespace preflight
