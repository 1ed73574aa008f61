// The device example: everything a device needs to run and fine-tune a model, nothing else.
// The model's bytes are in the binary (targets/example/CMakeLists.txt embeds them); the arena and
// the trained weights live in one static buffer; no file system, no exceptions, no allocation
// after Session::open. It runs inference on 8 synthetic 8x8 digits-like images, then 5 training
// steps (Adam) on them, printing the loss of each; exit 0 when the loss fell.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "runtime/session.h"

extern const uint8_t kModel[];
extern const size_t kModelSize;

namespace {

alignas(64) uint8_t g_memory[PREFLIGHT_EXAMPLE_MEMORY];

int fail(const preflight::Status& status) {
  std::printf("error: %s\n", status.message());
  return 1;
}

}  // namespace

int main() {
  using namespace preflight;
  Result<Model> model = Model::load_bytes(kModel, kModelSize);
  if (!model.is_ok()) return fail(model.status());
  SessionOptions options;
  options.memory = g_memory;
  options.memory_bytes = sizeof(g_memory);
  Result<Session> session = Session::open(std::move(model).value(), options);
  if (!session.is_ok()) return fail(session.status());
  std::printf("model: %zu bytes in the image; static buffer: %zu of %zu bytes used\n", kModelSize,
              session->memory_bytes(), sizeof(g_memory));

  // Inputs: x [B, 8, 8, 1], a bar whose position is the class; labels y [B].
  const Model& m = session->model();
  const MethodInfo& infer = m.methods()[static_cast<size_t>(m.find_method("infer"))];
  const TensorDesc x_desc = m.tensors()[static_cast<size_t>(infer.inputs[0])].desc;
  const TensorDesc logits_desc = m.tensors()[static_cast<size_t>(infer.outputs[0])].desc;
  const int64_t batch = x_desc.dims[0], classes = logits_desc.dims[1];
  static float x[8 * 8 * 8 * 1];
  static int64_t y[8];
  static float logits[8 * 16];
  if (x_desc.num_elements() > static_cast<int64_t>(sizeof(x) / sizeof(x[0])) || batch > 8 || classes > 16) {
    std::printf("error: the example expects cnn8 with a batch of at most 8\n");
    return 1;
  }
  for (int64_t b = 0; b < batch; ++b) {
    y[b] = b % classes;
    for (int64_t i = 0; i < 64; ++i) x[b * 64 + i] = (i % 8 == y[b] % 8) ? 1.0f : 0.0f;
  }
  TensorView input{x_desc, x};
  TensorView output{logits_desc, logits};
  Status status = session->run("infer", &input, 1, &output, 1);
  if (!status.is_ok()) return fail(status);
  std::printf("infer: logits[0] = %.9g %.9g %.9g ...\n", static_cast<double>(logits[0]), static_cast<double>(logits[1]),
              static_cast<double>(logits[2]));

  const int train = m.find_method("train_step");
  if (train < 0) {
    std::printf("the model has no train_step: inference only\n");
    return 0;
  }
  const MethodInfo& step_method = m.methods()[static_cast<size_t>(train)];
  float lr = 3e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, decay = 0.0f, step = 0.0f;
  TensorView inputs[16];
  const int num_inputs = static_cast<int>(step_method.inputs.size());
  if (num_inputs > 16) return 1;
  for (int i = 0; i < num_inputs; ++i) {
    const TensorInfo& info = m.tensors()[static_cast<size_t>(step_method.inputs[static_cast<size_t>(i)])];
    void* data = std::strcmp(info.name, "x") == 0 ? static_cast<void*>(x) : std::strcmp(info.name, "y") == 0 ? static_cast<void*>(y)
               : std::strcmp(info.name, "lr") == 0 ? &lr : std::strcmp(info.name, "beta1") == 0 ? &beta1
               : std::strcmp(info.name, "beta2") == 0 ? &beta2 : std::strcmp(info.name, "eps") == 0 ? &eps
               : std::strcmp(info.name, "weight_decay") == 0 ? &decay : &step;
    inputs[i] = TensorView{info.desc, data};
  }
  float loss = 0.0f, first = 0.0f;
  static float predictions[8 * 16];
  TensorView outputs[2] = {{m.tensors()[static_cast<size_t>(step_method.outputs[0])].desc, &loss},
                           {m.tensors()[static_cast<size_t>(step_method.outputs[1])].desc, predictions}};
  for (int k = 1; k <= 5; ++k) {
    step = static_cast<float>(k);
    status = session->run("train_step", inputs, num_inputs, outputs, 2);
    if (!status.is_ok()) return fail(status);
    if (k == 1) first = loss;
    std::printf("train_step %d: loss %.9g\n", k, static_cast<double>(loss));
  }
  const bool fell = std::isfinite(loss) && loss < first;
  std::printf("%s\n", fell ? "ok: the loss fell" : "error: the loss did not fall");
  return fell ? 0 : 1;
}
