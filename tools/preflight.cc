// The preflight command line. Thin by design: it parses flags and calls the libraries the tests
// also call. Exit codes: 0 ok, 1 the job failed, 2 bad usage or bad input.
#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "models/models.h"
#include "graph/import/onnx_import.h"
#include "graph/training.h"
#include "graph/json.h"
#include "graph/serialize.h"
#include "runtime/file_io.h"
#include "runtime/session.h"
#include "runtime/test_vectors.h"
#include "trainer/checks/check_model.h"
#include "trainer/checks/recipe.h"
#include "trainer/checks/report_html.h"
#include "trainer/npy.h"
#include "trainer/run_data.h"
#include "trainer/trainer.h"

namespace {

using namespace preflight;  // NOLINT: a program, not a header

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

// The ONNX nodes the importer refused (OnnxImportOptions::unsupported of every command), listed
// in full after the error, which summarises them.
std::vector<graph::UnsupportedNodes> refused_onnx_nodes;

// Bad input (a model, an argument, a file) is 2; anything else that failed is 1.
int report(const Status& status) {
  if (status.is_ok()) return kExitOk;
  // Names in a message come from files: printed escaped (docs/reliability.md).
  std::fprintf(stderr, "preflight: error: %s\n", printable(status.message()).c_str());
  if (status.code() == Error::kUnsupported && !refused_onnx_nodes.empty()) {
    std::fprintf(stderr, "preflight: every node the importer refuses, by kind:\n");
    for (const graph::UnsupportedNodes& nodes : refused_onnx_nodes) {
      std::fprintf(stderr, "preflight:   %s\n", printable(graph::describe(nodes)).c_str());
    }
    refused_onnx_nodes.clear();
  }
  switch (status.code()) {
    case Error::kInvalidArgument:
    case Error::kNotFound:
    case Error::kInvalidModel:
    case Error::kUnsupported:
    case Error::kResourceLimit:
      return kExitBadInput;
    default:
      return kExitFailed;
  }
}

// printable() line by line: the newlines stay.
std::string printable_lines(const std::string& text) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    out += printable(text.data() + at, end - at);
    if (end < text.size()) out += '\n';
    at = end + 1;
  }
  return out;
}

std::string describe_desc(const TensorDesc& desc) {
  char buffer[128];
  return describe(desc, buffer, sizeof buffer);
}

std::string human_bytes(uint64_t bytes) {
  char buffer[32];
  if (bytes >= (1u << 20)) std::snprintf(buffer, sizeof buffer, "%.2f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buffer, sizeof buffer, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buffer, sizeof buffer, "%" PRIu64 " B", bytes);
  return buffer;
}

// ---- inspect ----
int inspect(const std::string& path, bool list_tensors, bool print_plan) {
  Result<Model> loaded = Model::load_file(path.c_str());
  if (!loaded.is_ok()) return report(loaded.status());
  Result<Session> session = Session::open(std::move(loaded).value());
  if (!session.is_ok()) return report(session.status().with_context("%s: ", path.c_str()));
  const Model& model = session->model();
  // Every name and text from the file is printed escaped (printable: no control bytes reach the terminal).
  const auto text = [](const flatbuffers::String* string) {
    return string ? printable(string->data(), string->size()) : std::string();
  };
  std::printf("model: %s (%s)\n", printable(path).c_str(), human_bytes(model.size()).c_str());
  if (const fb::Metadata* metadata = model.flatbuffer().metadata()) {
    if (metadata->producer()) std::printf("producer: %s\n", text(metadata->producer()).c_str());
    if (metadata->description() && metadata->description()->size())
      std::printf("description: %s\n", text(metadata->description()).c_str());
    if (metadata->entries()) {
      for (const fb::KeyValue* entry : *metadata->entries()) {
        std::printf("  %s = %s\n", text(entry->key()).c_str(), text(entry->value()).c_str());
      }
    }
  }
  int64_t parameters = 0;
  uint64_t parameter_bytes = 0;
  for (const TensorInfo& tensor : model.tensors()) {
    if (tensor.role == fb::TensorRole::Parameter) {
      parameters += tensor.desc.num_elements();
      parameter_bytes += tensor.desc.num_bytes();
    }
  }
  std::printf("tensors: %zu, nodes: %zu, parameters: %" PRId64 " (%s)\n", model.tensors().size(), model.nodes().size(),
              parameters, human_bytes(parameter_bytes).c_str());
  for (size_t m = 0; m < model.methods().size(); ++m) {
    const MethodInfo& method = model.methods()[m];
    const Program& program = session->program(static_cast<int>(m));
    std::printf("\nmethod '%s': %zu steps\n", printable(method.name).c_str(), method.nodes.size());
    for (int t : method.inputs) {
      std::printf("  input  %-16s %s\n", printable(model.tensors()[t].name).c_str(), describe_desc(model.tensors()[t].desc).c_str());
    }
    for (int t : method.outputs) {
      std::printf("  output %-16s %s\n", printable(model.tensors()[t].name).c_str(), describe_desc(model.tensors()[t].desc).c_str());
    }
    const double ratio = program.lower_bound_bytes()
                             ? static_cast<double>(program.arena_bytes()) / static_cast<double>(program.lower_bound_bytes())
                             : 1.0;
    std::printf("  memory plan: arena %s (%zu bytes), lower bound %zu bytes, ratio %.3f\n",
                human_bytes(program.arena_bytes()).c_str(), program.arena_bytes(), program.lower_bound_bytes(), ratio);
    if (print_plan) print_memory_plan(program.plan(), stdout);
  }
  if (list_tensors) {
    std::printf("\ntensors:\n");
    for (size_t t = 0; t < model.tensors().size(); ++t) {
      const TensorInfo& tensor = model.tensors()[t];
      std::printf("  %4zu %-28s %-15s %s\n", t, printable(tensor.name).c_str(), role_name(tensor.role), describe_desc(tensor.desc).c_str());
    }
  }
  return kExitOk;
}

// A graph as a verified model (its bytes in `storage`, which must outlive the model).
Result<Model> model_of(const graph::Graph& graph, Bytes* storage) {
  *storage = graph::serialize(graph);
  return Model::load_bytes(storage->data(), storage->size());
}

// A model from a .pfb file, or from an ONNX file converted in memory (its bytes in `storage`).
Result<Model> load_model(const std::string& path, const graph::OnnxImportOptions& onnx, Bytes* storage) {
  if (!graph::is_onnx_path(path)) return Model::load_file(path.c_str());
  Result<graph::Graph> imported = graph::import_onnx(path, onnx);
  if (!imported.is_ok()) return imported.status();
  return model_of(*imported, storage);
}

// ---- ops-for ----
// The ops the nodes of a model's methods use (all methods, or those named), in the enum's order,
// joined by ';': a CMake list for -DPREFLIGHT_OPS="..." (docs/devices.md).
int ops_for(const std::string& path, const std::vector<std::string>& methods, const graph::OnnxImportOptions& onnx) {
  Bytes storage;
  Result<Model> model = load_model(path, onnx, &storage);
  if (!model.is_ok()) return report(model.status().with_context("%s: ", path.c_str()));
  std::vector<bool> used(static_cast<size_t>(fb::OpType::MAX) + 1, false);
  for (const std::string& name : methods) {
    if (model->find_method(name.c_str()) < 0) {
      std::string known;
      for (const MethodInfo& m : model->methods()) known += (known.empty() ? "" : ", ") + std::string(m.name);
      return report(Status::error(Error::kNotFound, "%s has no method '%s' (it has: %s)", path.c_str(), name.c_str(),
                                  known.c_str()));
    }
  }
  for (const MethodInfo& method : model->methods()) {
    if (!methods.empty() && std::find(methods.begin(), methods.end(), method.name) == methods.end()) continue;
    for (int n : method.nodes) used[static_cast<size_t>(model->nodes()[static_cast<size_t>(n)].op->type)] = true;
  }
  std::string list;
  for (size_t op = 0; op < used.size(); ++op) {
    if (used[op]) list += (list.empty() ? "" : ";") + std::string(fb::EnumNameOpType(static_cast<fb::OpType>(op)));
  }
  std::printf("%s\n", list.c_str());
  return kExitOk;
}

// ---- run ----
// Loads `path`; inputs of the model's shapes run as they are, and when the batched inputs' batch
// differs from the model's, the model is re-planned for it (Model::batch_for, Model::set_batch).
// An ONNX model with a dynamic batch takes the inputs' batch.
Result<Session> open_for_inputs(const std::string& path, const std::string& method_name,
                                const std::vector<NpyArray>& inputs, graph::OnnxImportOptions onnx, const Backend* backend,
                                Bytes* storage) {
  SessionOptions options;
  options.backend = backend;
  if (!inputs.empty() && inputs[0].desc.rank >= 1) onnx.default_batch = inputs[0].desc.dims[0];
  Result<Model> model = load_model(path, onnx, storage);
  if (!model.is_ok()) return model.status();
  const int m = model->find_method(method_name.c_str());
  PF_CHECK(m >= 0, Error::kNotFound, "%s: the model has no method '%s'", path.c_str(), method_name.c_str());
  std::vector<TensorDesc> descs;
  for (const NpyArray& input : inputs) descs.push_back(input.desc);
  PF_CHECK(inputs.size() == model->methods()[static_cast<size_t>(m)].inputs.size(), Error::kInvalidArgument,
           "method '%s' takes %zu inputs, got %zu --input files", method_name.c_str(),
           model->methods()[static_cast<size_t>(m)].inputs.size(), inputs.size());
  Result<int64_t> batch = model->batch_for(m, descs.data(), descs.size());
  if (!batch.is_ok()) return batch.status();
  if (*batch != model->batch(m)) {
    PF_RETURN_IF_ERROR(model->set_batch(*batch).with_context("re-planning for batch %lld: ", static_cast<long long>(*batch)));
  }
  return Session::open(std::move(model).value(), options);
}

void print_summary(const char* name, const TensorDesc& desc, const float* values) {
  std::printf("%s %s\n", printable(name).c_str(), describe_desc(desc).c_str());
  if (desc.dtype != DType::F32 || desc.rank != 2) return;
  for (int64_t r = 0; r < desc.dims[0]; ++r) {
    const float* row = values + r * desc.dims[1];
    int64_t best = 0;
    for (int64_t c = 1; c < desc.dims[1]; ++c) best = row[c] > row[best] ? c : best;
    std::printf("  row %lld: argmax %lld  [", static_cast<long long>(r), static_cast<long long>(best));
    for (int64_t c = 0; c < desc.dims[1] && c < 10; ++c) std::printf(c ? " %.4f" : "%.4f", static_cast<double>(row[c]));
    std::printf(desc.dims[1] > 10 ? " ...]\n" : "]\n");
  }
}

const char* const kBackendHelp =
    "reference | xnnpack | onednn | opencl | cuda | auto (auto: per node the faster of oneDNN and XNNPACK, timed when "
    "the model is opened; nodes a backend does not run fall back to the reference; opencl and cuda run every node on "
    "the GPU, PREFLIGHT_OPENCL_DEVICE=N or PREFLIGHT_CUDA_DEVICE=N picks one)";

// The backend named by --backend; an error lists the ones this build has.
Result<const Backend*> backend_named(const std::string& name) {
  const Backend* backend = find_backend(name.c_str());
  PF_CHECK(backend != nullptr, Error::kInvalidArgument, "--backend %s: unknown or not in this build (this build has: %s)",
           name.c_str(), backend_names());
  return backend;
}

int run(const std::string& path, const std::string& method_name, const std::vector<std::string>& input_paths,
        const std::vector<std::string>& output_paths, const graph::OnnxImportOptions& onnx, const std::string& backend_name,
        bool check_numerics) {
  Result<const Backend*> backend = backend_named(backend_name);
  if (!backend.is_ok()) return report(backend.status());
  std::vector<NpyArray> inputs;
  for (const std::string& input_path : input_paths) {
    Result<NpyArray> array = read_npy(input_path);
    if (!array.is_ok()) return report(array.status());
    inputs.push_back(std::move(array).value());
  }
  Bytes storage;
  Result<Session> session = open_for_inputs(path, method_name, inputs, onnx, *backend, &storage);
  if (!session.is_ok()) return report(session.status());
  session->set_check_numerics(check_numerics);
  const Model& model = session->model();
  const MethodInfo& method = model.methods()[static_cast<size_t>(model.find_method(method_name.c_str()))];
  if (!output_paths.empty() && output_paths.size() != method.outputs.size()) {
    return report(Status::error(Error::kInvalidArgument, "method '%s' has %zu outputs, got %zu --output files",
                                method_name.c_str(), method.outputs.size(), output_paths.size()));
  }
  std::vector<TensorView> in_views(inputs.size()), out_views(method.outputs.size());
  std::vector<std::vector<uint8_t>> out_data(method.outputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) in_views[i] = TensorView{inputs[i].desc, inputs[i].data.data()};
  for (size_t i = 0; i < method.outputs.size(); ++i) {
    const TensorDesc& desc = model.tensors()[static_cast<size_t>(method.outputs[i])].desc;
    out_data[i].resize(desc.num_bytes());
    out_views[i] = TensorView{desc, out_data[i].data()};
  }
  const Status status = session->run(method_name.c_str(), in_views.data(), static_cast<int>(in_views.size()),
                                     out_views.data(), static_cast<int>(out_views.size()));
  if (!status.is_ok()) return report(status);
  for (size_t i = 0; i < out_views.size(); ++i) {
    if (output_paths.empty()) {
      print_summary(model.tensors()[static_cast<size_t>(method.outputs[i])].name, out_views[i].desc,
                    out_views[i].f32());
    } else {
      const Status written = write_npy(output_paths[i], out_views[i].desc, out_views[i].data);
      if (!written.is_ok()) return report(written);
      std::printf("wrote %s %s\n", output_paths[i].c_str(), describe_desc(out_views[i].desc).c_str());
    }
  }
  return kExitOk;
}

// ---- build-model, to-json, from-json ----
int write_model(const Bytes& bytes, const std::string& out) {
  const Status status = write_file_atomic(out.c_str(), bytes.data(), bytes.size());
  if (!status.is_ok()) return report(status);
  std::printf("wrote %s (%s)\n", out.c_str(), human_bytes(bytes.size()).c_str());
  return kExitOk;
}

struct ExportFlags {
  bool train = false;
  std::string optimizer = "adam";
  std::string loss = "cross_entropy";
  std::string trainable = "all";
  bool nesterov = false;
  bool clip_grad_norm = false;
};

// The training export the flags ask for (parsed: an unknown optimizer or loss is an error).
Result<graph::TrainingOptions> training_options(const ExportFlags& flags) {
  graph::TrainingOptions options;
  Result<graph::OptimizerKind> optimizer = graph::parse_optimizer(flags.optimizer);
  if (!optimizer.is_ok()) return optimizer.status();
  Result<graph::LossKind> loss = graph::parse_loss(flags.loss);
  if (!loss.is_ok()) return loss.status();
  options.optimizer = *optimizer;
  options.loss = *loss;
  options.trainable = flags.trainable;
  options.nesterov = flags.nesterov;
  options.clip_grad_norm = flags.clip_grad_norm;
  return options;
}

// Adds train_step and eval as the flags say.
Status add_training(graph::Graph* graph, const ExportFlags& flags) {
  Result<graph::TrainingOptions> options = training_options(flags);
  if (!options.is_ok()) return options.status();
  return graph::add_training_methods(graph, *options);
}

int build_model(const std::string& name, int64_t batch, uint64_t seed, const ExportFlags& flags, const std::string& out) {
  Result<graph::Graph> graph = models::build_model(name, batch, seed);
  if (!graph.is_ok()) return report(graph.status());
  if (flags.train) {
    const Status status = add_training(&*graph, flags);
    if (!status.is_ok()) return report(status);
  }
  return write_model(graph::serialize(*graph), out);
}

// ---- train ----
struct TrainFlags {
  std::string data, labels, validation_data, checkpoint, resume, out;
  std::string backend = "reference";
  float scale = 1.0f;
  double validation_fraction = 0.2;
  bool regression = false;
  bool standardize = false;
  bool init_bias = false;
};

// Prints what the data loaders noticed (to stderr: stdout may be JSON).
void print_notes(const RunData& data) {
  for (const std::string& note : data.notes) std::fprintf(stderr, "preflight: note: %s\n", printable(note).c_str());
}

int train(const std::string& path, const ExportFlags& export_flags, const TrainFlags& flags, TrainConfig config) {
  Result<Model> model = Model::load_file(path.c_str());
  if (!model.is_ok()) return report(model.status());
  graph::Graph graph = graph::read_graph(*model);
  // The batch of the run: re-plan every method for it.
  Status status = graph::set_batch(&graph, config.batch);
  if (status.is_ok() && graph.find_method("train_step") < 0) {
    std::printf("%s has no train_step: exporting it (optimizer %s, loss %s, trainable %s)\n", path.c_str(),
                export_flags.optimizer.c_str(), export_flags.loss.c_str(), export_flags.trainable.c_str());
    status = add_training(&graph, export_flags);
  }
  if (!status.is_ok()) return report(status.with_context("%s: ", path.c_str()));

  RunDataOptions data_options;
  data_options.data = flags.data;
  data_options.validation = flags.validation_data;
  data_options.load.labels_path = flags.labels;
  data_options.load.regression = flags.regression;
  data_options.scale = flags.scale;
  data_options.validation_fraction = flags.validation_fraction;
  data_options.seed = config.seed;
  data_options.standardize = flags.standardize;
  data_options.init_bias = flags.init_bias;
  Result<RunData> data = load_run_data(data_options, &graph);
  if (!data.is_ok()) return report(data.status());
  print_notes(*data);
  const Dataset& train_split = data->train;
  const Dataset& validation_split = data->validation;
  Result<const Backend*> backend = backend_named(flags.backend);
  if (!backend.is_ok()) return report(backend.status());
  SessionOptions session_options;
  session_options.backend = *backend;
  Result<std::unique_ptr<Trainer>> trainer = Trainer::create(std::move(graph), session_options);
  if (!trainer.is_ok()) return report(trainer.status());
  std::printf("backend %s, %d thread%s\n", (*backend)->name, num_threads(), num_threads() == 1 ? "" : "s");
  std::printf("data: %s: %lld train rows, %lld validation rows\n", flags.data.c_str(),
              static_cast<long long>(train_split.rows), static_cast<long long>(validation_split.rows));
  if (!flags.resume.empty()) {
    status = (*trainer)->resume(flags.resume);
    if (!status.is_ok()) return report(status);
  }
  config.progress = stdout;
  Result<TrainReport> result = (*trainer)->fit(train_split, validation_split, config);
  if (!result.is_ok()) return report(result.status());
  if (result->best_epoch > 0) {
    std::printf("best validation loss %.4f at epoch %d%s\n", result->best_validation_loss, result->best_epoch,
                result->stopped_early ? " (stopped early)" : "");
  } else {
    std::printf("no epoch was validated\n");
  }
  if (!flags.out.empty()) {
    Result<graph::Graph> trained = (*trainer)->trained_graph();
    if (!trained.is_ok()) return report(trained.status());
    const int written = write_model(graph::serialize(*trained), flags.out);
    if (written != kExitOk) return written;
    // Say whose weights these are: the best epoch's (--keep-best, --patience) or the last one's.
    const bool best = result->weights_epoch == result->best_epoch && result->best_epoch > 0;
    const char* which = best                      ? " (the best)"
                        : result->best_epoch <= 0 ? " (the last)"
                        : config.keep_best        ? " (the last: the best epoch came before --resume, and a checkpoint "
                                                    "keeps the latest weights only)"
                                                  : " (the last; --keep-best writes the best epoch's)";
    std::printf("the weights of epoch %d%s\n", result->weights_epoch, which);
  }
  return kExitOk;
}

int to_json(const std::string& path, const std::string& out) {
  Result<Bytes> bytes = graph::read_file(path);
  if (!bytes.is_ok()) return report(bytes.status());
  Result<std::string> json = graph::model_to_json(bytes->data(), bytes->size());
  if (!json.is_ok()) return report(json.status().with_context("%s: ", path.c_str()));
  if (out.empty() || out == "-") {
    std::fwrite(json->data(), 1, json->size(), stdout);
    return kExitOk;
  }
  const Status status = write_file_atomic(out.c_str(), reinterpret_cast<const uint8_t*>(json->data()), json->size());
  return report(status);
}

int from_json(const std::string& path, const std::string& out) {
  Result<Bytes> text = graph::read_file(path);
  if (!text.is_ok()) return report(text.status());
  Result<Bytes> bytes = graph::model_from_json(std::string(text->begin(), text->end()));
  if (!bytes.is_ok()) return report(bytes.status().with_context("%s: ", path.c_str()));
  return write_model(*bytes, out);
}

// ---- check ----
struct CheckFlags {
  std::string model, data, validation_data, labels, out = "preflight-report", config;
  std::vector<std::string> set;
  float scale = 0.0f;  // 0: 1/16 for the bundled digits, 1 otherwise
  int64_t batch = 32;
  float lr = 3e-3f;
  uint64_t seed = 0;
  bool json = false;
  bool full = false;
  bool init_bias = false;
  bool regression = false;
  bool standardize = false;
  int epochs = 0;  // 0: at least 30 epochs and at least 1000 steps
  float full_lr = 3e-4f;
  graph::OnnxImportOptions onnx;
  std::string backend = "reference";
};

// Exit 1 means a check failed; any error before or after the checks (bad data, a model that does
// not load, a report that cannot be written) is exit 2.
int refuse(const Status& status) {
  report(status);
  return kExitBadInput;
}

int check(const CheckFlags& flags, ExportFlags export_flags) {
  const std::string data_path = flags.data.empty() ? std::string(PREFLIGHT_BUNDLED_DATA) + "/digits.csv.gz" : flags.data;
  const float scale = flags.scale > 0 ? flags.scale : (flags.data.empty() ? 1.0f / 16.0f : 1.0f);
  DataOptions options;
  options.labels_path = flags.labels;
  options.regression = flags.regression;
  options.allow_non_finite = true;  // data.finite reports them
  if (flags.regression) export_flags.loss = "mse";

  RecipeOptions recipe;
  Result<const Backend*> backend = backend_named(flags.backend);
  if (!backend.is_ok()) return refuse(backend.status());
  recipe.backend = *backend;
  if (!flags.config.empty()) {
    const Status status = apply_threshold_file(&recipe, flags.config);
    if (!status.is_ok()) return refuse(status);
  }
  for (const std::string& assignment : flags.set) {
    const Status status = set_threshold(&recipe, assignment);
    if (!status.is_ok()) return refuse(status);
  }

  // The model: an ONNX or .pfb file, or a reference model built for the data (check_model.h).
  CheckModelOptions model_options;
  model_options.model = flags.model;
  model_options.data = data_path;
  model_options.load = options;
  model_options.batch = flags.batch;
  model_options.seed = flags.seed;
  model_options.onnx = flags.onnx;
  Result<graph::TrainingOptions> training = training_options(export_flags);
  if (!training.is_ok()) return refuse(training.status());
  model_options.training = *training;
  Result<CheckModel> chosen = check_model(model_options);
  if (!chosen.is_ok()) return refuse(chosen.status());
  graph::Graph& graph = chosen->graph;
  const std::string& model_name = chosen->description;

  RunDataOptions data_options;
  data_options.data = data_path;
  data_options.validation = flags.validation_data;
  data_options.load = options;
  data_options.scale = scale;
  data_options.seed = flags.seed;
  data_options.standardize = flags.standardize;
  data_options.init_bias = flags.init_bias;
  Result<RunData> data = load_run_data(data_options, &graph);
  if (!data.is_ok()) return refuse(data.status());
  print_notes(*data);
  const Dataset& train_split = data->train;
  const Dataset& validation_split = data->validation;
  recipe.init_bias = flags.init_bias;
  recipe.skeleton.train.batch = flags.batch;
  recipe.skeleton.train.lr = flags.lr;
  recipe.skeleton.train.seed = flags.seed;
  recipe.gradients.seed = flags.seed;
  recipe.full = flags.full;
  recipe.training.train.batch = flags.batch;
  recipe.training.train.seed = flags.seed;
  // Small data sets take few steps per epoch: the full run gets at least 1000 steps.
  const int64_t batches = (train_split.rows + flags.batch - 1) / flags.batch;
  recipe.training.train.epochs =
      flags.epochs > 0 ? flags.epochs : static_cast<int>(std::max<int64_t>(30, (1000 + batches - 1) / batches));
  recipe.training.train.lr = flags.full_lr;
  recipe.training.optimizer = export_flags.optimizer;
  if (!flags.out.empty()) {
    if (::mkdir(flags.out.c_str(), 0755) != 0 && errno != EEXIST) {
      return refuse(Status::error(Error::kIoError, "%s: cannot create the report folder: %s", flags.out.c_str(),
                                  std::strerror(errno)));
    }
    recipe.folder = flags.out;
  }
  if (!flags.json) {
    std::printf("preflight check: %s on %s (%lld train, %lld validation rows), backend %s\n", model_name.c_str(),
                data_path.c_str(), static_cast<long long>(train_split.rows), static_cast<long long>(validation_split.rows),
                (*backend)->name);
    recipe.progress = stdout;
  }
  Report result = run_recipe(graph, train_split, validation_split, recipe);
  result.model = model_name;
  const std::string json = report_json(result);
  if (flags.json) {
    std::fwrite(json.data(), 1, json.size(), stdout);
  } else {
    std::printf("\n%s", printable_lines(report_table(result)).c_str());
  }
  if (!flags.out.empty()) {
    const std::string html = report_html(result, flags.out);
    for (const auto& file : {std::make_pair(std::string("report.json"), &json), std::make_pair(std::string("report.html"), &html)}) {
      const std::string path = flags.out + "/" + file.first;
      const Status status =
          write_file_atomic(path.c_str(), reinterpret_cast<const uint8_t*>(file.second->data()), file.second->size());
      if (!status.is_ok()) return refuse(status);
      if (!flags.json) std::printf("wrote %s\n", path.c_str());
    }
  }
  return result.failed() ? kExitFailed : kExitOk;
}

// ---- convert, verify ----
// Test vectors from an .npz holding an array per input and output of `infer`, named as they are.
Status add_test_vectors(graph::Graph* graph, const std::string& npz, float rtol, float atol) {
  const graph::Method& infer = graph->methods[static_cast<size_t>(graph->find_method("infer"))];
  graph::TestVector vector;
  vector.method = "infer";
  vector.rtol = rtol, vector.atol = atol;
  for (int side = 0; side < 2; ++side) {
    for (int t : side ? infer.outputs : infer.inputs) {
      const graph::Tensor& tensor = graph->tensors[static_cast<size_t>(t)];
      Result<NpyArray> array = load_npz_array(npz, tensor.name);
      if (!array.is_ok()) return array.status().with_context("--test-vectors: ");
      const TensorDesc& want = tensor.desc;
      bool fits = array->desc.dtype == want.dtype && array->desc.rank == want.rank;
      for (int d = 1; fits && d < want.rank; ++d) fits = array->desc.dims[d] == want.dims[d];
      PF_CHECK(fits, Error::kInvalidArgument, "--test-vectors %s: '%s' is %s, the model's is %s (any batch)", npz.c_str(),
               tensor.name.c_str(), describe_desc(array->desc).c_str(), describe_desc(want).c_str());
      (side ? vector.expected : vector.inputs).push_back(graph::TestTensor{tensor.name, array->desc, array->data});
    }
  }
  graph->test_vectors.push_back(std::move(vector));
  return Status::ok();
}

int convert(const std::string& path, const std::string& out, const graph::OnnxImportOptions& onnx,
            const ExportFlags& export_flags, const std::string& test_vectors, float rtol, float atol) {
  Result<graph::Graph> imported = graph::import_onnx(path, onnx);
  if (!imported.is_ok()) return report(imported.status());
  graph::Graph& graph = *imported;
  if (!test_vectors.empty()) {
    const Status status = add_test_vectors(&graph, test_vectors, rtol, atol);
    if (!status.is_ok()) return report(status);
  }
  if (export_flags.train) {
    const Status status = add_training(&graph, export_flags);
    if (!status.is_ok()) return report(status.with_context("%s: --train: ", path.c_str()));
  }
  const graph::Method& infer = graph.methods[static_cast<size_t>(graph.find_method("infer"))];
  for (int t : infer.inputs) {
    std::printf("input  %-16s %s\n", printable(graph.tensors[static_cast<size_t>(t)].name).c_str(),
                describe_desc(graph.tensors[static_cast<size_t>(t)].desc).c_str());
  }
  for (int t : infer.outputs) {
    std::printf("output %-16s %s\n", printable(graph.tensors[static_cast<size_t>(t)].name).c_str(),
                describe_desc(graph.tensors[static_cast<size_t>(t)].desc).c_str());
  }
  std::printf("%zu nodes, %lld parameters%s\n", infer.nodes.size(), static_cast<long long>(graph.parameter_count()),
              graph.test_vectors.empty() ? "" : ", 1 test vector");
  // The model as a device will open it: verified, every method planned within the default limits
  // (an input dim of 2^31 converts, then no session opens it: refused here instead).
  const Bytes bytes = graph::serialize(graph);
  Result<Model> opened = Model::load_bytes(bytes.data(), bytes.size());
  if (!opened.is_ok()) return report(opened.status().with_context("%s: the converted model: ", path.c_str()));
  for (size_t m = 0; m < opened->methods().size(); ++m) {
    Result<Program> planned = Program::prepare(*opened, static_cast<int>(m), *find_backend("reference"));
    if (!planned.is_ok()) return report(planned.status().with_context("%s: the converted model: ", path.c_str()));
  }
  return write_model(bytes, out);
}

// Runs every stored test vector on the backend and compares (runtime/test_vectors.h): max absolute
// and relative error per output; exit 1 beyond the tolerance, 2 when the model has none.
int verify(const std::string& path, const std::string& backend_name) {
  Result<const Backend*> backend = backend_named(backend_name);
  if (!backend.is_ok()) return report(backend.status());
  SessionOptions options;
  options.backend = *backend;
  Result<Model> model = Model::load_file(path.c_str());
  if (!model.is_ok()) return report(model.status());
  Result<std::vector<TestVectorResult>> results = run_test_vectors(*model, options);
  if (!results.is_ok()) return report(results.status().with_context("%s: ", path.c_str()));
  bool all_ok = true;
  for (size_t v = 0; v < results->size(); ++v) {
    const TestVectorResult& result = (*results)[v];
    std::printf("test vector %zu: method '%s', batch %lld, backend %s, tolerance %g relative + %g absolute\n", v,
                printable(result.method).c_str(), static_cast<long long>(result.batch), (*backend)->name,
                static_cast<double>(result.rtol), static_cast<double>(result.atol));
    for (const OutputComparison& output : result.outputs) {
      std::printf("  output %-16s max abs error %.3g, max rel error %.3g: %s\n", printable(output.name).c_str(),
                  output.max_abs_error, output.max_rel_error, output.within_tolerance ? "ok" : "BEYOND TOLERANCE");
    }
    all_ok = all_ok && result.passed();
  }
  std::printf("%s\n", all_ok ? "verified: the model computes what the framework did" : "FAILED: outputs differ beyond the tolerance");
  return all_ok ? kExitOk : kExitFailed;
}

// Every numeric flag's range, in one table: checked as the command line is parsed (exit 2, the
// message names the flag and the value). A value must parse whole as a finite number.
struct FlagRange {
  const char* flag;
  double min, max;
  bool min_open;  // min itself is refused (a learning rate > 0)
};
constexpr FlagRange kFlagRanges[] = {
    {"--epochs", 1, 1e6, false},          {"--max-steps", 0, 1e12, false},     {"--batch", 1, 1 << 20, false},
    {"--lr", 0, 1e3, true},               {"--full-lr", 0, 1e3, true},         {"--momentum", 0, 1, false},
    {"--weight-decay", 0, 1e3, false},    {"--max-grad-norm", 0, 1e9, true},   {"--patience", 0, 1e6, false},
    {"--val-fraction", 0, 0.99, true},    {"--checkpoint-every", 0, 1e12, false}, {"--scale", 0, 1e9, true},
    {"--rtol", 0, 1e6, false},            {"--atol", 0, 1e6, false},           {"--threads", 1, 256, false},
    {"--max-input-mb", 1, 1 << 22, false},
};

// The validator of a flag in kFlagRanges.
CLI::Validator flag_range(const std::string& flag) {
  const FlagRange* range = nullptr;
  for (const FlagRange& r : kFlagRanges) range = flag == r.flag ? &r : range;
  if (!range) throw std::logic_error("no range for " + flag);
  char description[96];
  std::snprintf(description, sizeof description, "%s%g, %g]", range->min_open ? "(" : "[", range->min, range->max);
  return CLI::Validator(
      [range](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double value = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && *end == '\0' && errno == 0 && std::isfinite(value);
        const bool in = number && (range->min_open ? value > range->min : value >= range->min) && value <= range->max;
        if (in) return std::string();
        char message[160];
        std::snprintf(message, sizeof message, "%s is %s %s%g, %g]", printable(text).c_str(),
                      number ? "outside" : "not a finite number in", range->min_open ? "(" : "[", range->min, range->max);
        return message;
      },
      description);
}

int run_command_line(int argc, char** argv);

}  // namespace

// The last resort: a limit refuses every input before it can exhaust memory (docs/reliability.md),
// and an allocation that fails all the same is an error, not an abort.
int main(int argc, char** argv) {
  try {
    return run_command_line(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "preflight: error: out of memory (an input is larger than this machine can hold; no limit "
                         "caught it first, which is a bug: please report the command)\n");
    return kExitBadInput;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "preflight: error: internal error: %s\n", printable(error.what()).c_str());
    return kExitFailed;
  }
}

namespace {

int run_command_line(int argc, char** argv) {
  CLI::App app{"preflight: an embedded inference and training microkernel for static-graph models (.pfb)"};
  app.set_version_flag("--version", "preflight 0.1.0 (model schema version " + std::to_string(kSchemaVersion) + ")");
  app.require_subcommand(1);

  std::string model_path, method = "infer", out_path, model_name;
  std::vector<std::string> inputs, outputs;
  bool list_tensors = false, print_plan = false;
  int64_t batch = 1;
  uint64_t seed = 0;

  std::vector<std::string> ops_methods;
  CLI::App* ops_for_cmd = app.add_subcommand(
      "ops-for", "Print the ops a model's methods use, as a CMake list for a selective build: "
                 "cmake -DPREFLIGHT_OPS=\"$(preflight ops-for model.pfb)\" (docs/devices.md)");
  ops_for_cmd->add_option("model", model_path, "Model file (.pfb or .onnx)")->required();
  ops_for_cmd->add_option("--method", ops_methods, "Only these methods (repeatable; default: all, training included)");
  CLI::App* inspect_cmd = app.add_subcommand("inspect", "Print a model's methods, tensors, parameter count and memory plan");
  inspect_cmd->add_option("model", model_path, "Model file (.pfb)")->required();
  inspect_cmd->add_flag("--tensors", list_tensors, "List every tensor with its role and shape");
  inspect_cmd->add_flag("--plan", print_plan, "Print each method's arena plan, one line per tensor");

  CLI::App* run_cmd = app.add_subcommand(
      "run", "Run a method on .npy inputs; print the outputs or write them as .npy. When the inputs' batch "
             "(dim 0) differs from the model's, the model is re-planned for that batch");
  run_cmd->add_option("model", model_path, "Model file (.pfb, or .onnx converted in memory)")->required();
  run_cmd->add_option("--input,-i", inputs, "Input .npy file, one per method input, in order (little-endian C order; float32, int64, int32 or uint8)")
      ->required();
  run_cmd->add_option("--output,-o", outputs, "Output .npy file, one per method output; omitted: print a summary");
  run_cmd->add_option("--method,-m", method, "Method to run")->capture_default_str();
  bool check_numerics = false;
  run_cmd->add_flag("--check-numerics", check_numerics,
                    "Check every value each node writes and stop at the first NaN or Inf, naming the node and tensor "
                    "(slower; train always checks)");
  graph::OnnxImportOptions onnx_options;
  std::vector<std::string> input_shapes;
  bool nhwc_io = false;
  run_cmd->add_option("--input-shape", input_shapes, "ONNX models: NAME=D0,D1,... for an input with dynamic dims (repeatable)");

  ExportFlags export_flags;
  const auto add_export_flags = [&export_flags](CLI::App* command) {
    command->add_option("--optimizer", export_flags.optimizer, "sgd | adam | adamw")->capture_default_str();
    command->add_option("--loss", export_flags.loss, "cross_entropy (labels are classes) | mse")->capture_default_str();
    command->add_option("--trainable", export_flags.trainable,
                        "all | last:N (the last N layers with parameters) | a regular expression (RE2 syntax) searched in parameter names")
        ->capture_default_str();
    command->add_flag("--nesterov", export_flags.nesterov, "SGD with Nesterov momentum");
    command->add_flag("--clip-grad-norm", export_flags.clip_grad_norm,
                      "Clip gradients to a global norm (the norm is a run-time input: train --max-grad-norm)");
  };
  CLI::App* build_cmd = app.add_subcommand("build-model", "Write one of the reference models (mlp, cnn8, cnn32, mbv2) as .pfb");
  build_cmd->add_option("name", model_name, "mlp | cnn8 | cnn32 | mbv2")->required();
  build_cmd->add_option("--out,-o", out_path, "Output .pfb file")->required();
  build_cmd->add_option("--batch", batch, "Batch size of the input")->capture_default_str()->check(flag_range("--batch"));
  build_cmd->add_option("--seed", seed, "Seed of the parameter initialisation")->capture_default_str();
  build_cmd->add_flag("--train", export_flags.train, "Also export the train_step and eval methods");
  add_export_flags(build_cmd);

  TrainFlags train_flags;
  TrainConfig config;
  CLI::App* train_cmd = app.add_subcommand(
      "train", "Train a model on a data set (exporting train_step first when the model has none), validating every "
               "epoch on a seeded split; optionally write the trained model and checkpoints");
  train_cmd->add_option("model", model_path, "Model file (.pfb)")->required();
  train_cmd->add_option("--data,-d", train_flags.data, "Data: .csv/.csv.gz (label in the last column), .npz (x, y, or "
                                                       "x_train, y_train with x_val/y_val or x_test/y_test as the validation "
                                                       "split), .npy or IDX (plain or .gz) features with --labels")->required();
  train_cmd->add_option("--labels", train_flags.labels, "Labels file (.npy, IDX, or a one-column CSV) beside the features");
  train_cmd->add_option("--scale", train_flags.scale, "Multiply every feature by this (digits: 0.0625)")->capture_default_str()
      ->check(flag_range("--scale"));
  train_cmd->add_flag("--regression", train_flags.regression, "Labels are float targets (use with --loss mse)");
  train_cmd->add_flag("--standardize", train_flags.standardize,
                      "Standardise every feature with the training split's mean and standard deviation");
  train_cmd->add_flag("--init-bias", train_flags.init_bias,
                      "Start the final bias at the log class priors of the training split (the target mean for regression)");
  train_cmd->add_option("--epochs", config.epochs, "Epochs")->capture_default_str()->check(flag_range("--epochs"));
  train_cmd->add_option("--max-steps", config.max_steps, "Stop after this many steps (0: no limit)")->capture_default_str()
      ->check(flag_range("--max-steps"));
  train_cmd->add_option("--batch", config.batch, "Batch size")->capture_default_str()->check(flag_range("--batch"));
  train_cmd->add_option("--lr", config.lr, "Learning rate")->capture_default_str()->check(flag_range("--lr"));
  train_cmd->add_option("--momentum", config.momentum, "SGD momentum")->capture_default_str()->check(flag_range("--momentum"));
  train_cmd->add_option("--weight-decay", config.weight_decay, "Weight decay")->capture_default_str()
      ->check(flag_range("--weight-decay"));
  train_cmd->add_option("--max-grad-norm", config.max_grad_norm, "Global gradient norm for models exported with --clip-grad-norm")
      ->capture_default_str()
      ->check(flag_range("--max-grad-norm"));
  train_cmd->add_option("--schedule", config.schedule, "constant | cosine | step")->capture_default_str();
  train_cmd->add_option("--patience", config.patience, "Early stopping: epochs without a better validation loss (0: off)")
      ->capture_default_str()
      ->check(flag_range("--patience"));
  train_cmd->add_flag("--keep-best", config.keep_best,
                      "Write (--out) the weights of the epoch with the best validation loss, not the last epoch's "
                      "(early stopping, --patience, always does)");
  train_cmd->add_option("--val-fraction", train_flags.validation_fraction, "Fraction of rows held out for validation")
      ->capture_default_str()
      ->check(flag_range("--val-fraction"));
  train_cmd->add_option("--val-data", train_flags.validation_data,
                        "Validation data in a file of its own (same format); then --data is all training data (else an .npz's own "
                        "validation pair, or --val-fraction of --data)");
  train_cmd->add_option("--seed", config.seed, "Seed of the split and the shuffles")->capture_default_str();
  train_cmd->add_option("--checkpoint", config.checkpoint, "Write a checkpoint here after every epoch");
  train_cmd->add_option("--checkpoint-every", config.checkpoint_every, "Also write it every this many steps (0: epochs only)")
      ->capture_default_str()
      ->check(flag_range("--checkpoint-every"));
  train_cmd->add_option("--resume", train_flags.resume, "Continue from this checkpoint");
  train_cmd->add_option("--out,-o", train_flags.out, "Write the trained model here (.pfb)");
  add_export_flags(train_cmd);

  CheckFlags check_flags;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "Run the recipe's checks (data, the end-to-end skeleton, and with --full a whole training run) on a "
               "model and its data; print a verdict table, write report.json, report.html and the evidence into "
               "--out; exit 0 when no check failed, 1 when one did, 2 on bad usage or input. With no arguments: the "
               "bundled cnn8 on the bundled digits");
  check_cmd->add_option("model", check_flags.model,
                        "Model file (.pfb, or .onnx converted in memory), or a reference model to build for the data: mlp "
                        "(any number of features), cnn8 (8x8 images); omitted: cnn8");
  check_cmd->add_option("--data,-d", check_flags.data,
                        "Data: .csv/.csv.gz (label in the last column, or in a --labels file), .npz (x, y, or x_train, "
                        "y_train with x_val/y_val or x_test/y_test as the validation split), .npy or IDX (plain or .gz) "
                        "with --labels; omitted: the bundled digits");
  check_cmd->add_option("--val", check_flags.validation_data, "Validation data in a file of its own (else an .npz's own validation pair, or 20% of --data)");
  check_cmd->add_option("--labels", check_flags.labels, "Labels file (.npy, IDX, or a one-column CSV) beside the features");
  check_cmd->add_flag("--regression", check_flags.regression, "Labels are float targets; the loss is MSE (sets --loss mse)");
  check_cmd->add_flag("--standardize", check_flags.standardize,
                      "Standardise every feature with the training split's mean and standard deviation");
  check_cmd->add_option("--scale", check_flags.scale, "Multiply every feature by this (default: 1/16 for the bundled digits, else 1)")
      ->check(flag_range("--scale"));
  check_cmd->add_option("--batch", check_flags.batch, "Batch size of the probes")->capture_default_str()->check(flag_range("--batch"));
  check_cmd->add_option("--lr", check_flags.lr, "Learning rate of the short training probes")->capture_default_str()
      ->check(flag_range("--lr"));
  check_cmd->add_option("--seed", check_flags.seed, "Seed of the split, the shuffles and the probes")->capture_default_str();
  check_cmd->add_option("--out", check_flags.out, "Folder for report.json, report.html and the evidence (empty: write nothing)")
      ->capture_default_str();
  check_cmd->add_flag("--json", check_flags.json, "Print the report as JSON instead of the table");
  check_cmd->add_flag("--full", check_flags.full, "Also train fully and check capacity, generalisation and the schedule");
  check_cmd->add_flag("--init-bias", check_flags.init_bias,
                      "Start the final bias at the log class priors (the target mean for regression) and check it");
  check_cmd->add_option("--epochs", check_flags.epochs,
                        "Epochs of the --full run (default: 30, or more to make at least 1000 steps on small data)")
      ->check(flag_range("--epochs"));
  check_cmd->add_option("--full-lr", check_flags.full_lr, "Learning rate of the --full run (the recipe's default: Adam at 3e-4)")
      ->capture_default_str()
      ->check(flag_range("--full-lr"));
  check_cmd->add_option("--set", check_flags.set, "Set a threshold, NAME=VALUE (repeatable; --list-thresholds names them)");
  check_cmd->add_option("--config", check_flags.config, "A JSON file of thresholds, {\"NAME\": VALUE, ...}");
  check_cmd->add_option("--backend", check_flags.backend, std::string(kBackendHelp) + "; the probes and checks run on it")
      ->capture_default_str();
  bool list_thresholds = false;
  check_cmd->add_flag("--list-thresholds", list_thresholds, "Print every threshold's name, meaning and default, then exit");
  add_export_flags(check_cmd);

  CLI::App* convert_cmd = app.add_subcommand(
      "convert", "Convert an ONNX model (as torch.onnx.export writes it, opsets " + std::to_string(graph::kOnnxMinOpset) +
                 " to " + std::to_string(graph::kOnnxMaxOpset) + ") to .pfb: initializers become "
                 "parameters, NCHW becomes NHWC inside with the inputs and outputs in the file's layout, shape "
                 "subgraphs are folded; docs/onnx.md lists the ops");
  convert_cmd->add_option("model", model_path, "ONNX file (.onnx)")->required();
  convert_cmd->add_option("--out,-o", out_path, "Output .pfb file")->required();
  convert_cmd->add_option("--input-shape", input_shapes,
                          "NAME=D0,D1,... for an input with dynamic dims (repeatable); a dynamic batch alone defaults to 1");
  convert_cmd->add_flag("--nhwc-io", nhwc_io, "Keep 4-D inputs and outputs NHWC (no edge transposes), for device code");
  std::vector<std::string> bound_inputs;
  convert_cmd->add_option("--bind", bound_inputs,
                          "NAME=V0,V1,...: an integer input (a shape, axes) fixed to this 1-D value; it folds like an "
                          "initializer (repeatable)");
  convert_cmd->add_flag("--train", export_flags.train, "Also export the train_step and eval methods");
  std::string test_vectors;
  float vector_rtol = 1e-4f, vector_atol = 1e-5f;
  convert_cmd->add_option("--test-vectors", test_vectors,
                          "An .npz with an array per model input and output, named as they are (the inputs and what "
                          "the framework computed): stored in the .pfb for `preflight verify`");
  convert_cmd->add_option("--rtol", vector_rtol, "Relative tolerance stored with the test vectors")->capture_default_str()
      ->check(flag_range("--rtol"));
  convert_cmd->add_option("--atol", vector_atol, "Absolute tolerance stored with the test vectors")->capture_default_str()
      ->check(flag_range("--atol"));
  add_export_flags(convert_cmd);

  std::string backend = "reference";
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "Run the test vectors stored in a model on this device's backend and print the max absolute and "
                "relative error per output; exit 1 beyond the tolerance");
  verify_cmd->add_option("model", model_path, "Model file (.pfb) with test vectors")->required();
  verify_cmd->add_option("--backend", backend, kBackendHelp)->capture_default_str();
  run_cmd->add_option("--backend", backend, kBackendHelp)->capture_default_str();
  train_cmd->add_option("--backend", train_flags.backend, kBackendHelp)->capture_default_str();
  int threads = 1;
  for (CLI::App* command : {run_cmd, verify_cmd, train_cmd, check_cmd}) {
    command->add_option("--threads", threads, "Threads for the XNNPACK and oneDNN backends (the reference backend uses one)")
        ->capture_default_str()
        ->check(flag_range("--threads"));
  }
  check_cmd->add_option("--input-shape", input_shapes, "ONNX models: NAME=D0,D1,... for an input with dynamic dims other than the batch");

  CLI::App* to_json_cmd = app.add_subcommand("to-json", "Print a model as JSON (schema: schemas/model.fbs), weights inline");
  to_json_cmd->add_option("model", model_path, "Model file (.pfb)")->required();
  to_json_cmd->add_option("--out,-o", out_path, "Write the JSON here instead of standard output");

  CLI::App* from_json_cmd = app.add_subcommand("from-json", "Turn JSON (as to-json writes it) back into a verified .pfb");
  from_json_cmd->add_option("json", model_path, "JSON file")->required();
  from_json_cmd->add_option("--out,-o", out_path, "Output .pfb file")->required();

  int64_t max_input_mb = static_cast<int64_t>(kDefaultInputBudget >> 20);
  for (CLI::App* command : {inspect_cmd, ops_for_cmd, run_cmd, verify_cmd, train_cmd, check_cmd, convert_cmd, to_json_cmd,
                            from_json_cmd}) {
    command->add_option("--max-input-mb", max_input_mb,
                        "The most MiB read or inflated from one input file (a data set, an .npz member, a gzip stream, "
                        "ONNX external data, a checkpoint); larger files are refused")
        ->capture_default_str()
        ->check(flag_range("--max-input-mb"));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  set_input_budget(static_cast<uint64_t>(max_input_mb) << 20);
  // No output may be one of the command's inputs or another output (device and inode): a
  // checkpoint written over the model it trains, a report over its data (docs/reliability.md).
  {
    std::vector<std::pair<std::string, std::string>> files;  // (flag, path); outputs first
    const auto output = [&files](const char* flag, const std::string& path) {
      if (!path.empty() && path != "-") files.emplace_back(flag, path);
    };
    size_t outputs_end = 0;
    if (train_cmd->parsed()) {
      output("--checkpoint", config.checkpoint);
      output("--out", train_flags.out);
      outputs_end = files.size();
      for (const std::string* input : {&model_path, &train_flags.data, &train_flags.labels, &train_flags.validation_data}) {
        output("an input", *input);
      }
      // --resume may be --checkpoint (going on from it and writing it again is what resuming does).
      if (!train_flags.resume.empty() && !(same_file(train_flags.resume.c_str(), config.checkpoint.c_str()))) {
        output("--resume", train_flags.resume);
      }
    } else if (run_cmd->parsed()) {
      for (const std::string& path : outputs) output("--output", path);
      outputs_end = files.size();
      output("the model", model_path);
      for (const std::string& path : inputs) output("--input", path);
    } else if (convert_cmd->parsed() || build_cmd->parsed() || to_json_cmd->parsed() || from_json_cmd->parsed()) {
      output("--out", out_path);
      outputs_end = files.size();
      if (!build_cmd->parsed()) output("the input", model_path);
      output("--test-vectors", test_vectors);
    } else if (check_cmd->parsed() && !check_flags.out.empty()) {
      output("--out", check_flags.out + "/report.json");
      output("--out", check_flags.out + "/report.html");
      outputs_end = files.size();
      for (const std::string* input : {&check_flags.model, &check_flags.data, &check_flags.labels,
                                       &check_flags.validation_data, &check_flags.config}) {
        output("an input", *input);
      }
    }
    for (size_t a = 0; a < outputs_end; ++a) {
      for (size_t b = a + 1; b < files.size(); ++b) {
        if (!same_file(files[a].second.c_str(), files[b].second.c_str())) continue;
        return report(Status::error(Error::kInvalidArgument, "%s %s is the same file as %s %s: refusing to write over it",
                                    files[a].first.c_str(), files[a].second.c_str(), files[b].first.c_str(),
                                    files[b].second.c_str()));
      }
    }
  }
  if (inspect_cmd->parsed()) return inspect(model_path, list_tensors, print_plan);
  if (ops_for_cmd->parsed()) return ops_for(model_path, ops_methods, onnx_options);
  set_num_threads(threads);
  for (const std::string& shape : input_shapes) {
    const Status status = graph::parse_input_shape(shape, &onnx_options);
    if (!status.is_ok()) return report(status);
  }
  for (const std::string& bound : bound_inputs) {
    const Status status = graph::parse_bound_input(bound, &onnx_options);
    if (!status.is_ok()) return report(status);
  }
  onnx_options.nhwc_io = nhwc_io;
  onnx_options.unsupported = &refused_onnx_nodes;
  check_flags.onnx = onnx_options;
  if (convert_cmd->parsed()) return convert(model_path, out_path, onnx_options, export_flags, test_vectors, vector_rtol, vector_atol);
  if (verify_cmd->parsed()) return verify(model_path, backend);
  if (run_cmd->parsed()) return run(model_path, method, inputs, outputs, onnx_options, backend, check_numerics);
  if (build_cmd->parsed()) return build_model(model_name, batch, seed, export_flags, out_path);
  if (train_cmd->parsed()) return train(model_path, export_flags, train_flags, config);
  if (check_cmd->parsed() && list_thresholds) {
    for (const std::string& line : threshold_names()) std::printf("%s\n", line.c_str());
    return kExitOk;
  }
  if (check_cmd->parsed()) return check(check_flags, export_flags);
  if (to_json_cmd->parsed()) return to_json(model_path, out_path);
  if (from_json_cmd->parsed()) return from_json(model_path, out_path);
  return kExitBadInput;
}

}  // namespace
