#include "runtime/session.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace preflight {

void Session::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

Session::Device& Session::Device::operator=(Device&& other) noexcept {
  if (this != &other) {
    if (handle) ops->close(handle);
    ops = other.ops;
    handle = other.handle;
    other.handle = nullptr;
  }
  return *this;
}

Session::Device::~Device() {
  if (handle) ops->close(handle);
}

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
  if (kDeviceBackends && backend.device) {
    // The device's copies: this block (writable tensors and arena) and the model's bytes.
    const void* hosts[2] = {block, loaded.bytes()};
    const size_t sizes[2] = {total, loaded.size()};
    session.device_.ops = backend.device;
    PF_RETURN_IF_ERROR(backend.device->open(hosts, sizes, 2, &session.device_.handle)
                           .with_context("backend %s: ", backend.name));
    session.device_newer_.assign(tensors.size(), 0);
    session.host_newer_.assign(tensors.size(), 0);
    for (const MethodInfo& method : loaded.methods()) {
      std::vector<int> changed;
      for (int n : method.nodes) {
        const NodeInfo& node = loaded.nodes()[static_cast<size_t>(n)];
        for (int i = 0; i < (node.backward ? 0 : node.op->num_updated_inputs); ++i) changed.push_back(node.inputs[static_cast<size_t>(i)]);
      }
      session.updated_by_method_.push_back(changed);
    }
  }
  for (Program& program : session.programs_) PF_RETURN_IF_ERROR(program.bind(arena_start, session.writable_, session.device_.handle));
  return Result<Session>(std::move(session));
}

void Session::fetch(int t) const {
  const size_t index = static_cast<size_t>(t);
  if (!on_device() || !device_newer_[index]) return;
  const Status status = device_.ops->download(device_.handle, writable_[index], model_->tensors()[index].desc.num_bytes());
  if (status.is_ok()) {
    device_newer_[index] = 0;
  } else if (fetch_error_.is_ok()) {
    fetch_error_ = status.with_context("fetching tensor %d '%s' from the device: ", t, model_->tensors()[index].name);
  }
}

const void* Session::persistent_data(int t) const {
  const size_t index = static_cast<size_t>(t);
  if (!writable_[index]) return model_->tensors()[index].data;
  fetch(t);
  return writable_[index];
}

void* Session::writable_data(int t) const {
  const size_t index = static_cast<size_t>(t);
  if (writable_[index] && on_device()) {
    fetch(t);
    host_newer_[index] = 1;
  }
  return writable_[index];
}

Status Session::fetch_output(int t, void* at, size_t bytes) const {
  const fb::TensorRole role = model_->tensors()[static_cast<size_t>(t)].role;
  if (role == fb::TensorRole::Activation || role == fb::TensorRole::Input || role == fb::TensorRole::Output) {
    return device_.ops->download(device_.handle, at, bytes);  // in the arena
  }
  if (writable_[static_cast<size_t>(t)]) {  // a persistent tensor a method changes
    fetch(t);
    return fetch_error_;
  }
  return Status::ok();  // read-only bytes: the same on the device
}

Status Session::sync_to_host() const {
  if (!on_device()) return Status::ok();
  for (size_t t = 0; t < writable_.size(); ++t) {
    if (writable_[t]) fetch(static_cast<int>(t));
  }
  return fetch_error_;
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
  const bool device = on_device();
  if (device) {
    PF_RETURN_IF_ERROR(fetch_error_);
    for (size_t t = 0; t < writable_.size(); ++t) {  // what the host may have written since
      if (!host_newer_[t]) continue;
      PF_RETURN_IF_ERROR(device_.ops->upload(device_.handle, writable_[t], model_->tensors()[t].desc.num_bytes()));
      host_newer_[t] = 0;
    }
  }
  for (size_t i = 0; i < info.inputs.size(); ++i) {
    const size_t bytes = inputs[i].desc.num_bytes();
    if (!bytes) continue;
    void* at = program.tensor_data(info.inputs[i]);
    std::memcpy(at, inputs[i].data, bytes);
    if (device) PF_RETURN_IF_ERROR(device_.ops->upload(device_.handle, at, bytes).with_context("method '%s': ", method));
  }
  if (device) {
    for (int t : updated_by_method_[static_cast<size_t>(index)]) device_newer_[static_cast<size_t>(t)] = 1;
  }
  PF_RETURN_IF_ERROR(program.run(check_numerics_));
  for (size_t i = 0; i < info.outputs.size(); ++i) {
    const size_t bytes = outputs[i].desc.num_bytes();
    if (!bytes) continue;
    void* at = program.tensor_data(info.outputs[i]);
    if (device) PF_RETURN_IF_ERROR(fetch_output(info.outputs[i], at, bytes).with_context("method '%s': ", method));
    std::memcpy(outputs[i].data, at, bytes);
  }
  return Status::ok();
}

}  // namespace preflight
