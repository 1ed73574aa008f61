// What `preflight train` and `check` read, called as a library: the run's data (load_run_data)
// and the model a check builds or loads (check_model).
#include "graph/serialize.h"
#include "models/models.h"
#include "runtime/file_io.h"
#include "test_util.h"
#include "trainer/checks/check_model.h"
#include "trainer/run_data.h"

#include <unistd.h>

namespace preflight {
namespace {

graph::Graph trainable(const std::string& name, const models::ModelShape& shape = models::ModelShape()) {
  Result<graph::Graph> g = models::build_model(name, 4, 0, shape);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  return std::move(g).value();
}

TEST_CASE("run data: the digits split, scaled and shaped like cnn8's samples") {
  graph::Graph g = trainable("cnn8");
  CHECK(sample_shape(g) == make_desc(DType::F32, {8, 8, 1}));
  RunDataOptions options;
  options.data = test::source_path("data/digits.csv.gz");
  options.scale = 1.0f / 16.0f;
  options.validation_fraction = 0.25;
  Result<RunData> data = load_run_data(options, &g);
  REQUIRE_MESSAGE(data.is_ok(), std::string(data.status().message()));
  CHECK(data->train.rows + data->validation.rows == 1797);
  CHECK(data->validation.rows == doctest::Approx(1797 * 0.25).epsilon(0.01));
  CHECK(data->train.sample == make_desc(DType::F32, {8, 8, 1}));
  float largest = 0.0f;
  for (float v : data->train.features) largest = std::max(largest, v);
  CHECK(largest == 1.0f);  // 16 / 16
  // The same seed splits the same way; another seed does not.
  Result<RunData> again = load_run_data(options, &g);
  REQUIRE(again.is_ok());
  CHECK(again->train.labels == data->train.labels);
  options.seed = 9;
  Result<RunData> other = load_run_data(options, &g);
  REQUIRE(other.is_ok());
  CHECK(other->train.labels != data->train.labels);
}

TEST_CASE("run data: a separate validation file, standardised features, the prior as the final bias") {
  models::ModelShape shape;
  shape.inputs = 4;
  shape.outputs = 3;
  graph::Graph g = trainable("mlp", shape);
  RunDataOptions options;
  options.data = test::source_path("data/iris.csv");
  options.validation = test::source_path("data/iris.csv");
  options.standardize = true;
  options.init_bias = true;
  Result<RunData> data = load_run_data(options, &g);
  REQUIRE_MESSAGE(data.is_ok(), std::string(data.status().message()));
  CHECK(data->train.rows == 150);
  CHECK(data->validation.rows == 150);
  double mean = 0.0;
  for (int64_t r = 0; r < 150; ++r) mean += data->train.features[static_cast<size_t>(r * 4)];
  CHECK(mean / 150 == doctest::Approx(0.0).epsilon(1e-5));
  // iris has 50 rows of each class: the prior bias is log(1/3) + c for every class, all equal.
  const graph::Node& last = g.nodes[static_cast<size_t>(g.methods[0].nodes.back())];
  const graph::Tensor& bias = g.tensors[static_cast<size_t>(last.inputs.back())];
  const float* b = reinterpret_cast<const float*>(bias.data.data());
  CHECK(b[0] == doctest::Approx(b[1]));
  CHECK(b[1] == doctest::Approx(b[2]));
}

TEST_CASE("run data: errors name the file and what does not fit") {
  graph::Graph g = trainable("cnn8");
  RunDataOptions options;
  options.data = test::source_path("data/iris.csv");  // 4 features, cnn8 takes 64
  Status status = load_run_data(options, &g).status();
  REQUIRE_FALSE(status.is_ok());
  CHECK(test::contains(status.message(), "iris.csv"));
  options.data = test::source_path("data/no_such_file.csv");
  CHECK(test::contains(load_run_data(options, &g).status().message(), "no_such_file.csv"));
  Result<graph::Graph> inference_only = models::build_model("cnn8", 4, 0);
  REQUIRE(inference_only.is_ok());
  options.data = test::source_path("data/digits.csv.gz");
  CHECK(test::contains(load_run_data(options, &*inference_only).status().message(), "has no train_step"));
}

TEST_CASE("check model: the bundled cnn8, a reference model built for the data, a .pfb file, a bad name") {
  CheckModelOptions options;
  options.data = test::source_path("data/digits.csv.gz");
  options.batch = 16;
  Result<CheckModel> bundled = check_model(options);
  REQUIRE_MESSAGE(bundled.is_ok(), std::string(bundled.status().message()));
  CHECK(bundled->description == "cnn8 (bundled)");
  CHECK(bundled->graph.find_method("train_step") >= 0);
  const graph::Method& train = bundled->graph.methods[static_cast<size_t>(bundled->graph.find_method("train_step"))];
  CHECK(bundled->graph.tensors[static_cast<size_t>(train.inputs[0])].desc == make_desc(DType::F32, {16, 8, 8, 1}));

  options.model = "mlp";
  options.data = test::source_path("data/wine_data.csv");
  Result<CheckModel> mlp = check_model(options);
  REQUIRE_MESSAGE(mlp.is_ok(), std::string(mlp.status().message()));
  CHECK(mlp->description == "mlp (reference model, built for the data)");
  const graph::Method& infer = mlp->graph.methods[static_cast<size_t>(mlp->graph.find_method("infer"))];
  CHECK(mlp->graph.tensors[static_cast<size_t>(infer.inputs[0])].desc == make_desc(DType::F32, {16, 13}));
  CHECK(mlp->graph.tensors[static_cast<size_t>(infer.outputs[0])].desc == make_desc(DType::F32, {16, 3}));

  options.load.regression = true;
  options.training.loss = graph::LossKind::kMse;
  options.data = test::source_path("data/diabetes_data_raw.csv.gz");
  options.load.labels_path = test::source_path("data/diabetes_target.csv.gz");
  Result<CheckModel> regression = check_model(options);
  REQUIRE_MESSAGE(regression.is_ok(), std::string(regression.status().message()));
  const graph::Method& r = regression->graph.methods[static_cast<size_t>(regression->graph.find_method("infer"))];
  CHECK(regression->graph.tensors[static_cast<size_t>(r.outputs[0])].desc == make_desc(DType::F32, {16, 1}));

  // A .pfb file at batch 1: set to the check's batch, training exported.
  Result<graph::Graph> file_model = models::build_model("cnn8", 1, 0);
  REQUIRE(file_model.is_ok());
  const Bytes bytes = graph::serialize(*file_model);
  char path[] = "/tmp/preflight_check_model_XXXXXX.pfb";
  const int fd = ::mkstemps(path, 4);
  REQUIRE(fd >= 0);
  ::close(fd);
  REQUIRE(write_file_atomic(path, bytes.data(), bytes.size()).is_ok());
  CheckModelOptions from_file;
  from_file.model = path;
  from_file.batch = 8;
  Result<CheckModel> loaded = check_model(from_file);
  ::unlink(path);
  REQUIRE_MESSAGE(loaded.is_ok(), std::string(loaded.status().message()));
  CHECK(loaded->description == path);
  CHECK(loaded->graph.find_method("train_step") >= 0);
  const graph::Method& li = loaded->graph.methods[static_cast<size_t>(loaded->graph.find_method("infer"))];
  CHECK(loaded->graph.tensors[static_cast<size_t>(li.inputs[0])].desc == make_desc(DType::F32, {8, 8, 8, 1}));

  CheckModelOptions unknown;
  unknown.model = "resnet9000";
  const Status status = check_model(unknown).status();
  REQUIRE_FALSE(status.is_ok());
  CHECK(test::contains(status.message(), "resnet9000"));
}

}  // namespace
}  // namespace preflight
