#include "trainer/checks/check_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "graph/serialize.h"
#include "models/models.h"

namespace preflight {

namespace {

bool is_file(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

}  // namespace

Result<CheckModel> check_model(const CheckModelOptions& options) {
  CheckModel chosen;
  chosen.description = options.model.empty() ? "cnn8" : options.model;
  const std::vector<std::string>& names = models::model_names();
  const bool reference_name = std::find(names.begin(), names.end(), options.model) != names.end();
  if (!options.model.empty() && graph::is_onnx_path(options.model)) {
    graph::OnnxImportOptions onnx = options.onnx;
    onnx.default_batch = options.batch;
    Result<graph::Graph> imported = graph::import_onnx(options.model, onnx);
    if (!imported.is_ok()) return imported.status();
    chosen.graph = std::move(imported).value();
  } else if (!options.model.empty() && (is_file(options.model) || !reference_name)) {
    // A file (even one named like a reference model), or a name that is none: the load error says which.
    Result<Model> model = Model::load_file(options.model.c_str());
    if (!model.is_ok()) return model.status();
    chosen.graph = graph::read_graph(*model);
  } else {
    Result<Dataset> peek = load_dataset(options.data, options.load);
    if (!peek.is_ok()) return peek.status();
    models::ModelShape shape;
    if (chosen.description == "mlp") shape.inputs = peek->sample_elements();
    shape.outputs = options.load.regression ? 1 : std::max<int64_t>(2, peek->num_classes());
    Result<graph::Graph> built = models::build_model(chosen.description, options.batch, options.seed, shape);
    if (!built.is_ok()) return built.status();
    chosen.graph = std::move(built).value();
    chosen.description += options.model.empty() ? " (bundled)" : " (reference model, built for the data)";
  }
  Status status = graph::set_batch(&chosen.graph, options.batch);
  if (status.is_ok() && chosen.graph.find_method("train_step") < 0) {
    status = graph::add_training_methods(&chosen.graph, options.training);
  }
  if (!status.is_ok()) return status.with_context("%s: ", chosen.description.c_str());
  return chosen;
}

}  // namespace preflight
