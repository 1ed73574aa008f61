// Inference latency of one model on several backends, side by side in one run: the median (and
// 10th and 90th percentiles) of `runs` timed calls of `infer` after `warmup` untimed ones, and
// each backend's median as a ratio of the first's. Inputs are seeded random values.
//
//   preflight_bench_infer MODEL [--batch N] [--runs R] [--warmup W] [--backends reference,xnnpack]
//
// MODEL: a .pfb, a .onnx (converted in memory), or a reference model name (mlp, cnn8, cnn32,
// mbv2). Reports go to standard output; docs/benchmarks.md records them with the command.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "models/models.h"
#include "graph/import/onnx_import.h"
#include "graph/serialize.h"
#include "runtime/session.h"

namespace preflight {
namespace {

int fail(const Status& status) {
  std::fprintf(stderr, "preflight_bench_infer: error: %s\n", status.message());
  return 2;
}

Result<graph::Graph> load(const std::string& model, int64_t batch) {
  const std::vector<std::string>& names = models::model_names();
  if (std::find(names.begin(), names.end(), model) != names.end()) return models::build_model(model, batch, 1);
  graph::OnnxImportOptions onnx;
  onnx.default_batch = batch;
  if (graph::is_onnx_path(model)) return graph::import_onnx(model, onnx);
  Result<Model> loaded = Model::load_file(model.c_str());
  if (!loaded.is_ok()) return loaded.status();
  graph::Graph graph = graph::read_graph(*loaded);
  PF_RETURN_IF_ERROR(graph::set_batch(&graph, batch));
  return graph;
}

int main_impl(int argc, char** argv) {
  std::string model;
  int64_t batch = 1;
  int runs = 200, warmup = 20;
  std::string backend_list = "reference,xnnpack";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--batch" && has_value) batch = std::atoll(argv[++i]);
    else if (arg == "--runs" && has_value) runs = std::atoi(argv[++i]);
    else if (arg == "--warmup" && has_value) warmup = std::atoi(argv[++i]);
    else if (arg == "--backends" && has_value) backend_list = argv[++i];
    else if (arg == "--threads" && has_value) set_num_threads(std::atoi(argv[++i]));
    else if (arg[0] != '-' && model.empty()) model = arg;
    else {
      std::fprintf(stderr, "usage: preflight_bench_infer MODEL [--batch N] [--runs R] [--warmup W] [--backends a,b] [--threads T]\n");
      return 2;
    }
  }
  if (model.empty() || batch < 1 || runs < 1 || warmup < 0) {
    std::fprintf(stderr, "usage: preflight_bench_infer MODEL [--batch N] [--runs R] [--warmup W] [--backends a,b] [--threads T]\n");
    return 2;
  }
  Result<graph::Graph> graph = load(model, batch);
  if (!graph.is_ok()) return fail(graph.status());
  const Bytes bytes = graph::serialize(*graph);

  double first_median = 0.0;
  size_t start = 0;
  while (start <= backend_list.size()) {
    const size_t comma = std::min(backend_list.find(',', start), backend_list.size());
    const std::string name = backend_list.substr(start, comma - start);
    start = comma + 1;
    const Backend* backend = find_backend(name.c_str());
    if (!backend) return fail(Status::error(Error::kInvalidArgument, "no backend '%s' (this build: %s)", name.c_str(), backend_names()));
    Result<Model> loaded = Model::load_bytes(bytes.data(), bytes.size());
    if (!loaded.is_ok()) return fail(loaded.status());
    SessionOptions options;
    options.backend = backend;
    Result<Session> session = Session::open(std::move(loaded).value(), options);
    if (!session.is_ok()) return fail(session.status());
    const Model& m = session->model();
    const MethodInfo& method = m.methods()[static_cast<size_t>(m.find_method("infer"))];
    std::vector<std::vector<float>> inputs, outputs;
    std::vector<TensorView> in, out;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (int t : method.inputs) {
      const TensorDesc& desc = m.tensors()[static_cast<size_t>(t)].desc;
      inputs.emplace_back(static_cast<size_t>(desc.num_elements()));
      for (float& v : inputs.back()) v = uniform(rng);
    }
    for (int t : method.outputs) outputs.emplace_back(static_cast<size_t>(m.tensors()[static_cast<size_t>(t)].desc.num_elements()));
    for (size_t i = 0; i < method.inputs.size(); ++i) in.push_back(TensorView{m.tensors()[static_cast<size_t>(method.inputs[i])].desc, inputs[i].data()});
    for (size_t i = 0; i < method.outputs.size(); ++i) out.push_back(TensorView{m.tensors()[static_cast<size_t>(method.outputs[i])].desc, outputs[i].data()});
    int taken = 0;
    for (const char* b : session->program(m.find_method("infer")).step_backends()) taken += std::strcmp(b, "reference") != 0;
    std::vector<double> times;
    for (int r = 0; r < warmup + runs; ++r) {
      const auto begin = std::chrono::steady_clock::now();
      const Status status = session->run("infer", in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()));
      const auto end = std::chrono::steady_clock::now();
      if (!status.is_ok()) return fail(status);
      if (r >= warmup) times.push_back(std::chrono::duration<double, std::micro>(end - begin).count());
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    if (first_median == 0.0) first_median = median;
    std::printf("%-10s %-12s batch %-3lld median %10.1f us  p10 %10.1f  p90 %10.1f  (%d of %zu steps off the reference)  ratio %.3f\n",
                model.c_str(), backend->name, static_cast<long long>(batch), median, times[times.size() / 10],
                times[times.size() * 9 / 10], taken, method.nodes.size(), median / first_median);
  }
  return 0;
}

}  // namespace
}  // namespace preflight

int main(int argc, char** argv) { return preflight::main_impl(argc, argv); }
