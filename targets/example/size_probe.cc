// What a device program links of preflight, for targets/size_report.sh: load a model from bytes
// (read from standard input into a static buffer), open a session in static memory, run `infer`
// and, when the model has it, `train_step`, on zeros. Built with -DPREFLIGHT_SIZE_BASELINE it
// does the same input and output without preflight: the report subtracts that binary's size, so
// the C library's share is not counted as preflight's.
#include <cstdio>
#include <cstring>

#ifndef PREFLIGHT_SIZE_BASELINE
#include "runtime/session.h"
#endif

namespace {

alignas(64) unsigned char g_model[1 << 20];
alignas(64) unsigned char g_memory[1 << 20];
alignas(64) unsigned char g_values[1 << 16];

}  // namespace

int main() {
  const size_t size = std::fread(g_model, 1, sizeof(g_model), stdin);
#ifdef PREFLIGHT_SIZE_BASELINE
  std::printf("read %zu bytes; %d\n", size, std::strcmp(reinterpret_cast<const char*>(g_model), "x"));
  return g_memory[0] + g_values[0];
#else
  using namespace preflight;
  Result<Model> model = Model::load_bytes(g_model, size);
  if (!model.is_ok()) {
    std::printf("error: %s\n", model.status().message());
    return 1;
  }
  SessionOptions options;
  options.memory = g_memory;
  options.memory_bytes = sizeof(g_memory);
  Result<Session> session = Session::open(std::move(model).value(), options);
  if (!session.is_ok()) {
    std::printf("error: %s\n", session.status().message());
    return 1;
  }
  for (const char* name : {"infer", "train_step"}) {
    const int m = session->model().find_method(name);
    if (m < 0) continue;
    const MethodInfo& method = session->model().methods()[static_cast<size_t>(m)];
    TensorView inputs[16], outputs[4];
    size_t used = 0;
    std::memset(g_values, 0, sizeof(g_values));
    for (size_t i = 0; i < method.inputs.size() && i < 16; ++i) {
      inputs[i] = TensorView{session->model().tensors()[static_cast<size_t>(method.inputs[i])].desc, g_values + used};
      // Scalar hyper-parameters 0.5 (Adam's step must be at least 1: 1.0 for it), the rest zeros.
      if (inputs[i].desc.rank == 0 && inputs[i].desc.dtype == DType::F32) {
        *inputs[i].f32() = std::strcmp(session->model().tensors()[static_cast<size_t>(method.inputs[i])].name, "step") == 0
                               ? 1.0f : 0.5f;
      }
      used += (inputs[i].desc.num_bytes() + 63) / 64 * 64;
    }
    for (size_t i = 0; i < method.outputs.size() && i < 4; ++i) {
      outputs[i] = TensorView{session->model().tensors()[static_cast<size_t>(method.outputs[i])].desc, g_values + used};
      used += (outputs[i].desc.num_bytes() + 63) / 64 * 64;
    }
    if (used > sizeof(g_values)) return 1;
    const Status status = session->run(name, inputs, static_cast<int>(method.inputs.size()), outputs,
                                       static_cast<int>(method.outputs.size()));
    std::printf("%s: %s\n", name, status.is_ok() ? "ok" : status.message());
  }
  return 0;
#endif
}
