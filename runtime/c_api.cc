// The C API (runtime/include/preflight.h) over Model and Session.
#include <cstring>
#include <new>
#include <vector>

#include "preflight.h"
#include "runtime/session.h"

struct pf_session {
  preflight::Session session;
  preflight::Status last_error;
  std::vector<preflight::TensorView> inputs;   // reserved at open: run allocates nothing
  std::vector<preflight::TensorView> outputs;
};

namespace {

using preflight::Status;

pf_status to_c(const Status& status) { return static_cast<pf_status>(status.code()); }

void copy_message(const Status& status, char* error, size_t capacity) {
  if (error && capacity) {
    std::strncpy(error, status.message(), capacity - 1);
    error[capacity - 1] = '\0';
  }
}

pf_status open_session(preflight::Result<preflight::Model> model, pf_session** session, char* error,
                       size_t capacity) {
  *session = nullptr;
  if (!model.is_ok()) {
    copy_message(model.status(), error, capacity);
    return to_c(model.status());
  }
  preflight::Result<preflight::Session> opened = preflight::Session::open(std::move(model).value());
  if (!opened.is_ok()) {
    copy_message(opened.status(), error, capacity);
    return to_c(opened.status());
  }
  size_t max_inputs = 0, max_outputs = 0;
  for (const auto& method : opened->model().methods()) {
    if (method.inputs.size() > max_inputs) max_inputs = method.inputs.size();
    if (method.outputs.size() > max_outputs) max_outputs = method.outputs.size();
  }
  auto* created = new (std::nothrow) pf_session{std::move(opened).value(), Status::ok(), {}, {}};
  if (!created) {
    copy_message(Status::error(preflight::Error::kOutOfMemory, "cannot allocate the session"), error, capacity);
    return PF_OUT_OF_MEMORY;
  }
  created->inputs.resize(max_inputs);
  created->outputs.resize(max_outputs);
  *session = created;
  return PF_OK;
}

preflight::TensorView to_view(const pf_tensor& tensor) {
  preflight::TensorView view;
  view.desc.dtype = static_cast<preflight::DType>(tensor.dtype);
  view.desc.rank = tensor.rank < 0 ? 0 : (tensor.rank > preflight::kMaxRank ? preflight::kMaxRank : tensor.rank);
  for (int i = 0; i < view.desc.rank; ++i) view.desc.dims[i] = tensor.dims[i];
  view.data = tensor.data;
  return view;
}

pf_status argument_info(pf_session* session, const char* method, int index, bool input, pf_tensor* info) {
  const auto& model = session->session.model();
  const int m = method ? model.find_method(method) : -1;
  if (m < 0) {
    session->last_error = Status::error(preflight::Error::kNotFound, "the model has no method '%s'", method ? method : "(null)");
    return PF_NOT_FOUND;
  }
  const auto& list = input ? model.methods()[m].inputs : model.methods()[m].outputs;
  if (index < 0 || static_cast<size_t>(index) >= list.size() || info == nullptr) {
    session->last_error = Status::error(preflight::Error::kInvalidArgument, "method '%s' has no %s %d", method,
                                        input ? "input" : "output", index);
    return PF_INVALID_ARGUMENT;
  }
  const preflight::TensorDesc& desc = model.tensors()[static_cast<size_t>(list[static_cast<size_t>(index)])].desc;
  std::memset(info, 0, sizeof *info);
  info->dtype = static_cast<pf_dtype>(desc.dtype);
  info->rank = desc.rank;
  for (int i = 0; i < desc.rank; ++i) info->dims[i] = desc.dims[i];
  return PF_OK;
}

int argument_count(const pf_session* session, const char* method, bool input) {
  if (!session || !method) return -1;
  const auto& model = session->session.model();
  const int m = model.find_method(method);
  if (m < 0) return -1;
  return static_cast<int>(input ? model.methods()[m].inputs.size() : model.methods()[m].outputs.size());
}

}  // namespace

extern "C" {

pf_status pf_session_open_file(const char* path, pf_session** session, char* error, size_t error_capacity) {
  if (!session || !path) return PF_INVALID_ARGUMENT;
  return open_session(preflight::Model::load_file(path), session, error, error_capacity);
}

pf_status pf_session_open_bytes(const void* bytes, size_t size, pf_session** session, char* error,
                                size_t error_capacity) {
  if (!session) return PF_INVALID_ARGUMENT;
  return open_session(preflight::Model::load_bytes(bytes, size), session, error, error_capacity);
}

void pf_session_close(pf_session* session) { delete session; }

int pf_session_num_inputs(const pf_session* session, const char* method) { return argument_count(session, method, true); }
int pf_session_num_outputs(const pf_session* session, const char* method) { return argument_count(session, method, false); }

pf_status pf_session_input_info(pf_session* session, const char* method, int index, pf_tensor* info) {
  return session ? argument_info(session, method, index, true, info) : PF_INVALID_ARGUMENT;
}

pf_status pf_session_output_info(pf_session* session, const char* method, int index, pf_tensor* info) {
  return session ? argument_info(session, method, index, false, info) : PF_INVALID_ARGUMENT;
}

pf_status pf_session_run(pf_session* session, const char* method, const pf_tensor* inputs, int num_inputs,
                         pf_tensor* outputs, int num_outputs) {
  if (!session) return PF_INVALID_ARGUMENT;
  if (!method || num_inputs < 0 || num_outputs < 0 || static_cast<size_t>(num_inputs) > session->inputs.size() ||
      static_cast<size_t>(num_outputs) > session->outputs.size() || (num_inputs && !inputs) ||
      (num_outputs && !outputs)) {
    session->last_error = Status::error(preflight::Error::kInvalidArgument,
                                        "pf_session_run: method is null or the argument counts (%d inputs, %d "
                                        "outputs) do not fit any method of the model",
                                        num_inputs, num_outputs);
    return PF_INVALID_ARGUMENT;
  }
  for (int i = 0; i < num_inputs; ++i) session->inputs[static_cast<size_t>(i)] = to_view(inputs[i]);
  for (int i = 0; i < num_outputs; ++i) session->outputs[static_cast<size_t>(i)] = to_view(outputs[i]);
  session->last_error =
      session->session.run(method, session->inputs.data(), num_inputs, session->outputs.data(), num_outputs);
  return to_c(session->last_error);
}

const char* pf_session_last_error(const pf_session* session) {
  return session ? session->last_error.message() : "no session";
}

}  // extern "C"
