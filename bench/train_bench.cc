// Training throughput of the workloads of docs/benchmarks.md on several backends, side by side in
// one run: the median of `steps` timed `train_step` calls (Adam) after a warm-up, as steps per
// second, the GFLOP/s that makes (the multiply-adds of every Linear and Conv2D node the step
// runs, forward and backward, counted from the model), and that as a fraction of this machine's
// sgemm peak, which the bench measures itself with oneDNN's sgemm (1024^3, the same thread count).
//
//   preflight_bench_train [--workloads W1,W2,W3,W5] [--backends reference,onednn,auto] [--threads T]
//                         [--steps S] [--batch N] [--rss]
//
// --batch N: every workload at batch N instead of its own (the GPU bench: W3 at 256, W5 at 1024).
// With the cuda backend among --backends, the bench also measures cuBLAS's SGEMM (4096^3) on the
// same GPU in the same run, and prints each cuda row's GFLOP/s as a fraction of it.
//
//   W1 mlp batch 32      W2 cnn8 batch 64      W3 cnn32 batch 32
//   W5 a 1024-1024-1024-10 MLP (input 1024, two hidden layers of 1024) batch 256
//
// --rss: also the peak resident memory the session added while training (VmHWM after the steps
// minus VmRSS before Session::open) against the analytic minimum: the persistent tensors the
// step writes (parameters, optimizer state) plus the planned arena (activations, gradients).
// Run one workload per process for it (the high-water mark is the process's).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "models/models.h"
#include "graph/builder.h"
#include "graph/serialize.h"
#include "graph/training.h"
#include "runtime/session.h"

#ifdef PREFLIGHT_BENCH_SGEMM
#include <dnnl.h>
#endif
#ifdef PREFLIGHT_BENCH_CUDA
#include "runtime/backends/cuda/cuda_backend.h"
#endif

namespace preflight {
namespace {

struct Workload {
  const char* id;
  const char* model;
  int64_t batch;
};
const Workload kWorkloads[] = {{"W1", "mlp", 32}, {"W2", "cnn8", 64}, {"W3", "cnn32", 32}, {"W5", "mlp1024", 256}};

Result<graph::Graph> build(const Workload& w) {
  if (std::string(w.model) != "mlp1024") return models::build_model(w.model, w.batch, 1);
  graph::GraphBuilder b(1);
  graph::Value x = b.input("x", DType::F32, {w.batch, 1024});
  graph::Value h = b.relu(b.linear(x, 1024));
  h = b.relu(b.linear(h, 1024));
  b.output(b.linear(h, 10), "logits");
  return b.finish();
}

// Multiply-adds x 2 of the Linear and Conv2D work of a method: a forward node once, a backward
// node once per gradient it writes of its input and of its weight.
double method_flops(const Model& model, const MethodInfo& method) {
  double flops = 0;
  for (int n : method.nodes) {
    const NodeInfo& node = model.nodes()[static_cast<size_t>(n)];
    if (node.op->type != OpType::Linear && node.op->type != OpType::Conv2D) continue;
    const TensorDesc& w = model.tensors()[static_cast<size_t>(node.inputs[1])].desc;
    // The forward output: a forward node's output 0, a backward node's forward output.
    const int y = node.backward ? node.inputs[static_cast<size_t>(node.num_forward_inputs)] : node.outputs[0];
    const TensorDesc& out = model.tensors()[static_cast<size_t>(y)].desc;
    double forward = 0;
    if (node.op->type == OpType::Linear) {
      forward = 2.0 * static_cast<double>(out.num_elements()) * static_cast<double>(w.dims[1]);
    } else {
      forward = 2.0 * static_cast<double>(out.num_elements()) * static_cast<double>(w.dims[1] * w.dims[2] * w.dims[3]);
    }
    if (!node.backward) {
      flops += forward;
    } else {
      flops += forward * ((node.grad_mask & 1u ? 1 : 0) + (node.grad_mask & 2u ? 1 : 0));
    }
  }
  return flops;
}

long status_kb(const char* field) {
  std::ifstream file("/proc/self/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.compare(0, std::strlen(field), field) == 0) return std::atol(line.c_str() + std::strlen(field) + 1);
  }
  return -1;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Single-precision GEMM peak of this machine as oneDNN's sgemm reaches it: GFLOP/s, the best of
// three medians of 9 calls (a peak: a shared machine only ever lowers it).
double sgemm_gflops() {
#ifdef PREFLIGHT_BENCH_SGEMM
  const int64_t n = 1024;
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(static_cast<size_t>(n * n), 0.25f), c(static_cast<size_t>(n * n));
  double best = 0.0;
  for (int round = 0; round < 3; ++round) {
    std::vector<double> times;
    for (int r = 0; r < 10; ++r) {
      const auto start = std::chrono::steady_clock::now();
      dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (r) times.push_back(seconds);
    }
    best = std::max(best, 2.0 * static_cast<double>(n * n * n) / median(times) / 1e9);
  }
  return best;
#else
  return 0.0;
#endif
}

int fail(const Status& status) {
  std::fprintf(stderr, "preflight_bench_train: error: %s\n", status.message());
  return 2;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream stream(list);
  std::string part;
  while (std::getline(stream, part, ',')) parts.push_back(part);
  return parts;
}

int main_impl(int argc, char** argv) {
  std::string workload_list = "W1,W2,W3,W5", backend_list = "reference,onednn,auto";
  int steps = 30;
  int64_t batch = 0;
  bool rss = false;
  const char* usage =
      "usage: preflight_bench_train [--workloads W1,W2,W3,W5] [--backends a,b] [--threads T] [--steps S] [--batch N] [--rss]\n";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--workloads" && has_value) workload_list = argv[++i];
    else if (arg == "--backends" && has_value) backend_list = argv[++i];
    else if (arg == "--threads" && has_value) set_num_threads(std::atoi(argv[++i]));
    else if (arg == "--steps" && has_value) steps = std::atoi(argv[++i]);
    else if (arg == "--batch" && has_value) batch = std::atoll(argv[++i]);
    else if (arg == "--rss") rss = true;
    else {
      std::fprintf(stderr, "%s", usage);
      return 2;
    }
  }
  if (steps < 1 || (batch < 1 && batch != 0)) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  double cublas_peak = 0.0;
  if (("," + backend_list + ",").find(",cuda,") != std::string::npos) {
#ifdef PREFLIGHT_BENCH_CUDA
    const Status measured = cuda::sgemm_gflops(4096, 10, &cublas_peak);
    if (!measured.is_ok()) return fail(measured);
    std::printf("cuBLAS sgemm 4096^3 on %s: %.1f GFLOP/s\n", cuda::device_info().description.c_str(), cublas_peak);
#endif
  }
  const double peak = sgemm_gflops();
  std::printf("sgemm peak (oneDNN sgemm 1024^3, %d thread%s): %.1f GFLOP/s\n", num_threads(), num_threads() == 1 ? "" : "s",
              peak);
  for (const std::string& id : split(workload_list)) {
    Workload chosen{nullptr, nullptr, 0};
    for (const Workload& w : kWorkloads) {
      if (id == w.id) chosen = w;
    }
    if (!chosen.id) return fail(Status::error(Error::kInvalidArgument, "unknown workload '%s' (W1, W2, W3, W5)", id.c_str()));
    if (batch > 0) chosen.batch = batch;
    const Workload* workload = &chosen;
    Result<graph::Graph> g = build(*workload);
    if (!g.is_ok()) return fail(g.status());
    const Status exported = graph::add_training_methods(&*g, graph::TrainingOptions());
    if (!exported.is_ok()) return fail(exported);
    const auto bytes = graph::serialize(*g);
    for (const std::string& backend_name : split(backend_list)) {
      const Backend* backend = find_backend(backend_name.c_str());
      if (!backend) {
        return fail(Status::error(Error::kInvalidArgument, "backend %s: unknown or not in this build (this build has: %s)",
                                  backend_name.c_str(), backend_names()));
      }
      Result<Model> model = Model::load_bytes(bytes.data(), bytes.size());
      if (!model.is_ok()) return fail(model.status());
      const Model& loaded = *model;
      const int method_index = loaded.find_method("train_step");
      const MethodInfo& loaded_method = loaded.methods()[static_cast<size_t>(method_index)];
      // Inputs: 8 batches of seeded uniform x and random labels, a different one each step as a
      // data loader gives them (one batch repeated is memorized within ~50 steps, and the tiny
      // gradients that follow are denormal floats, several times slower on x86); Adam's
      // hyper-parameters.
      constexpr int kBatches = 8;
      std::vector<std::vector<uint8_t>> x_batches, y_batches;
      int x_input = -1, y_input = -1;
      std::vector<std::vector<uint8_t>> storage;
      std::vector<TensorView> inputs;
      std::mt19937 rng(3);
      std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
      float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, decay = 0.0f, step = 1.0f;
      for (int t : loaded_method.inputs) {
        const TensorInfo& info = loaded.tensors()[static_cast<size_t>(t)];
        const std::string name = info.name;
        storage.emplace_back(info.desc.num_bytes());
        void* data = storage.back().data();
        if (name == "x" || name == "y") {
          (name == "x" ? x_input : y_input) = static_cast<int>(inputs.size());
          auto& batches = name == "x" ? x_batches : y_batches;
          for (int k = 0; k < kBatches; ++k) {
            batches.emplace_back(info.desc.num_bytes());
            for (int64_t i = 0; i < info.desc.num_elements(); ++i) {
              if (name == "x") reinterpret_cast<float*>(batches.back().data())[i] = uniform(rng);
              else reinterpret_cast<int64_t*>(batches.back().data())[i] = static_cast<int64_t>(rng() % 10);
            }
          }
        } else {
          const float value = name == "lr" ? lr : name == "beta1" ? beta1 : name == "beta2" ? beta2 : name == "eps" ? eps
                            : name == "weight_decay" ? decay : step;
          std::memcpy(data, &value, sizeof(float));
        }
        inputs.push_back(TensorView{info.desc, data});
      }
      std::vector<std::vector<uint8_t>> output_storage;
      std::vector<TensorView> outputs;
      for (int t : loaded_method.outputs) {
        const TensorInfo& info = loaded.tensors()[static_cast<size_t>(t)];
        output_storage.emplace_back(info.desc.num_bytes());
        outputs.push_back(TensorView{info.desc, output_storage.back().data()});
      }
      // The session's memory only: everything the bench itself holds is allocated above.
      const long rss_before = status_kb("VmRSS:");
      SessionOptions options;
      options.backend = backend;
      Result<Session> session = Session::open(std::move(*model), options);
      if (!session.is_ok()) return fail(session.status());
      const Model& m = session->model();
      const MethodInfo& method = m.methods()[static_cast<size_t>(method_index)];
      std::vector<double> times;
      const int warmup = 3;
      for (int r = 0; r < warmup + steps; ++r) {
        if (x_input >= 0) inputs[static_cast<size_t>(x_input)].data = x_batches[static_cast<size_t>(r % kBatches)].data();
        if (y_input >= 0) inputs[static_cast<size_t>(y_input)].data = y_batches[static_cast<size_t>(r % kBatches)].data();
        const auto start = std::chrono::steady_clock::now();
        const Status status = session->run("train_step", inputs.data(), static_cast<int>(inputs.size()), outputs.data(),
                                           static_cast<int>(outputs.size()));
        if (!status.is_ok()) return fail(status);
        if (r >= warmup) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      const double seconds = median(times);
      const double gflops = method_flops(m, method) / seconds / 1e9;
      int taken = 0;
      for (const char* b : session->program(method_index).step_backends()) taken += std::strcmp(b, "reference") != 0;
      std::printf("%s %-8s %-10s batch %-4lld threads %d  median %10.3f ms  %9.1f steps/s  %7.2f GFLOP/s", workload->id,
                  workload->model, backend->name, static_cast<long long>(workload->batch), num_threads(), seconds * 1e3,
                  1.0 / seconds, gflops);
      if (std::strcmp(backend->name, "cuda") == 0 && cublas_peak > 0) {
        std::printf("  %5.1f%% of cuBLAS sgemm", 100.0 * gflops / cublas_peak);
      } else if (peak > 0) {
        std::printf("  %5.1f%% of sgemm peak", 100.0 * gflops / peak);
      }
      std::printf("  (%d of %zu steps off the reference)\n", taken, method.nodes.size());
      if (rss) {
        size_t persistent = 0;
        for (size_t t = 0; t < m.tensors().size(); ++t) {
          if (session->writable_data(static_cast<int>(t))) persistent += m.tensors()[t].desc.num_bytes();
        }
        const double minimum_kb = static_cast<double>(persistent + session->program(method_index).arena_bytes()) / 1024.0;
        const long added_kb = status_kb("VmHWM:") - rss_before;
        std::printf("%s %-8s %-10s peak RSS added %ld KiB, analytic minimum %.0f KiB (persistent %zu KiB + arena %zu KiB): "
                    "ratio %.2f\n",
                    workload->id, workload->model, backend->name, added_kb, minimum_kb, persistent / 1024,
                    session->program(method_index).arena_bytes() / 1024, static_cast<double>(added_kb) / minimum_kb);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace preflight

int main(int argc, char** argv) { return preflight::main_impl(argc, argv); }
