// The report's parts: thresholds by name, PNG evidence (decoded back with stb_image), the
// evidence checks, report.html, regression in the skeleton checks, and the tabular data path
// (a labels file beside the features, whitespace-separated rows, standardisation).
#include <stb_image.h>

#include <fstream>
#include <sys/stat.h>

#include "models/models.h"
#include "graph/training.h"
#include "runtime/file_io.h"
#include "test_util.h"
#include "trainer/checks/evidence_checks.h"
#include "trainer/checks/image.h"
#include "trainer/checks/recipe.h"
#include "trainer/checks/report_html.h"

namespace preflight {
namespace {

std::string folder(const std::string& name) {
  const std::string path = std::string(PREFLIGHT_TEST_OUTPUT) + "_report_" + name;
  ::mkdir(path.c_str(), 0755);
  return path;
}

Dataset load(const std::string& file, DataOptions options = DataOptions()) {
  Result<Dataset> data = load_dataset(test::source_path(file), options);
  REQUIRE_MESSAGE(data.is_ok(), std::string(data.status().message()));
  return std::move(data).value();
}

// The bundled digits scaled to [0, 1], split 80/20 with seed 1.
void digit_splits(Dataset* train, Dataset* validation) {
  Dataset digits = load("data/digits.csv.gz");
  for (float& v : digits.features) v /= 16.0f;
  REQUIRE(split_dataset(digits, 0.2, 1, train, validation).is_ok());
}

struct Decoded {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

Decoded decode_png(const std::string& path) {
  Result<Bytes> bytes = graph::read_file(path);
  REQUIRE_MESSAGE(bytes.is_ok(), path);
  Decoded d;
  unsigned char* pixels = stbi_load_from_memory(bytes->data(), static_cast<int>(bytes->size()), &d.width, &d.height,
                                                &d.channels, 0);
  REQUIRE_MESSAGE(pixels != nullptr, path << " is not a PNG stb_image can read");
  d.pixels.assign(pixels, pixels + d.width * d.height * d.channels);
  stbi_image_free(pixels);
  return d;
}

graph::Graph exported(const std::string& name, models::ModelShape shape, int64_t batch, const std::string& loss) {
  Result<graph::Graph> g = models::build_model(name, batch, 1, shape);
  REQUIRE(g.is_ok());
  graph::TrainingOptions options;
  Result<graph::LossKind> kind = graph::parse_loss(loss);
  REQUIRE(kind.is_ok());
  options.loss = *kind;
  REQUIRE(graph::add_training_methods(&*g, options).is_ok());
  return std::move(g).value();
}

TEST_CASE("thresholds: set by name, NAME=VALUE and a JSON file; unknown names and bad values are refused") {
  RecipeOptions options;
  CHECK(set_threshold(&options, "data.outlier_z", 8.5).is_ok());
  CHECK(options.data.outlier_z == 8.5);
  CHECK(set_threshold(&options, "skeleton.steps=40").is_ok());
  CHECK(options.skeleton.steps == 40);
  CHECK(set_threshold(&options, "skeleton.overfit_lr=0.05").is_ok());
  CHECK(options.skeleton.overfit_lr == doctest::Approx(0.05));

  const Status unknown = set_threshold(&options, "skeleton.stepz", 3);
  CHECK(!unknown.is_ok());
  CHECK(test::contains(unknown.message(), "unknown threshold 'skeleton.stepz'"));
  CHECK(test::contains(unknown.message(), "skeleton.steps"));  // lists the known names
  CHECK(test::contains(set_threshold(&options, "skeleton.steps", 2.5).message(), "whole number"));
  CHECK(test::contains(set_threshold(&options, "skeleton.steps=many").message(), "'many' is not a number"));
  CHECK(test::contains(set_threshold(&options, "skeleton.steps").message(), "NAME=VALUE"));

  const std::string good = folder("thresholds") + "/good.json", bad = folder("thresholds") + "/bad.json";
  const std::string good_text = "{\"train.capacity_target\": 0.9, \"gradients.rows\": 2}";
  const std::string bad_text = "{\"data.outlier_z\": \"six\"}";
  REQUIRE(write_file_atomic(good.c_str(), reinterpret_cast<const uint8_t*>(good_text.data()), good_text.size()).is_ok());
  REQUIRE(write_file_atomic(bad.c_str(), reinterpret_cast<const uint8_t*>(bad_text.data()), bad_text.size()).is_ok());
  CHECK(apply_threshold_file(&options, good).is_ok());
  CHECK(options.training.capacity_target == 0.9);
  CHECK(options.gradients.rows == 2);
  const Status wrong = apply_threshold_file(&options, bad);
  CHECK(test::contains(wrong.message(), "bad.json: threshold 'data.outlier_z' is not a number"));
  CHECK(test::contains(apply_threshold_file(&options, good + ".missing").message(), "cannot open"));
  CHECK(threshold_names().size() >= 20);
}

TEST_CASE("images: a tile grid encodes as a PNG that decodes to the same pixels, captions drawn") {
  Tile dark, bright;
  dark.height = bright.height = 2;
  dark.width = bright.width = 2;
  dark.values = {0, 0, 0, 0};
  bright.values = {1, 1, 1, 1};
  bright.caption = "7";
  GridOptions options;
  options.min_tile_pixels = 8;  // 2x2 tiles scaled by 4
  const Image image = tile_grid({dark, bright}, options);
  const std::string path = folder("images") + "/grid.png";
  REQUIRE(write_png(path, image).is_ok());
  const Decoded d = decode_png(path);
  CHECK(d.width == image.width);
  CHECK(d.height == image.height);
  CHECK(d.channels == 1);
  CHECK(d.pixels == image.pixels);
  // The first tile's top-left pixel is black (the low end), the second's white; the caption is
  // black pixels under the second tile.
  const int gap = 6;
  CHECK(d.pixels[static_cast<size_t>(gap * d.width + gap)] == 0);
  CHECK(d.pixels[static_cast<size_t>(gap * d.width + gap + 8 + gap)] == 255);
  int caption_black = 0;
  for (int y = gap + 8; y < d.height; ++y) {
    for (int x = gap + 8 + gap; x < d.width; ++x) caption_black += d.pixels[static_cast<size_t>(y * d.width + x)] == 0;
  }
  CHECK(caption_black > 10);
  // An empty image is refused with a message, not encoded.
  CHECK(test::contains(encode_png(Image()).status().message(), "empty"));
}

TEST_CASE("skeleton.input_view: the first batch fit() takes, as images with labels, or as a table") {
  Dataset digits = load("data/digits.csv.gz");
  for (float& v : digits.features) v /= 16.0f;
  REQUIRE(reshape_samples(&digits, make_desc(DType::F32, {8, 8, 1})).is_ok());
  TrainConfig config;
  config.batch = 16;
  config.seed = 3;
  const std::string dir = folder("input_view");
  const CheckResult view = check_input_view(digits, config, dir);
  REQUIRE_MESSAGE(view.verdict == Verdict::kPass, view.explanation);
  REQUIRE(view.evidence == std::vector<std::string>{"input_view.png"});
  const Decoded d = decode_png(dir + "/input_view.png");
  CHECK(d.width == 8 * (48 + 6) + 6);  // 8 columns of 8x8 tiles scaled by 6, with gaps
  CHECK(d.height == 2 * (48 + 14 + 6) + 6);  // 2 rows, each with a caption line
  // The rows named are those of epoch_order, the order fit() uses.
  const std::vector<int64_t> order = epoch_order(digits.rows, 3, 0);
  CHECK(test::contains(view.explanation.c_str(), ("(" + std::to_string(order[0] + 1) + ", ").c_str()));
  CHECK(test::contains(view.explanation.c_str(), "values 0 to 1"));

  const Dataset iris = load("data/iris.csv");
  const CheckResult table = check_input_view(iris, config, dir);
  REQUIRE(table.evidence == std::vector<std::string>{"input_view.csv"});
  Result<Bytes> csv = graph::read_file(dir + "/input_view.csv");
  REQUIRE(csv.is_ok());
  const std::string text(csv->begin(), csv->end());
  CHECK(text.compare(0, 23, "row,label,x1,x2,x3,x4\n" + std::string(1, text[22])) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 17);  // header + 16 rows

  CHECK(check_input_view(iris, config, "").verdict == Verdict::kSkipped);
  // Evidence that cannot be written fails, naming the path.
  const CheckResult unwritable = check_input_view(iris, config, "/nonexistent-folder");
  CHECK(unwritable.verdict == Verdict::kFail);
  CHECK(test::contains(unwritable.explanation.c_str(), "/nonexistent-folder/input_view.csv"));
}

TEST_CASE("train.first_layer: conv filters, square linear rows, or the weight matrix") {
  const std::string dir = folder("first_layer");
  Result<graph::Graph> cnn8 = models::build_model("cnn8", 1, 1);
  REQUIRE(cnn8.is_ok());
  const CheckResult filters = check_first_layer(*cnn8, "at initialisation", dir);
  REQUIRE_MESSAGE(filters.verdict == Verdict::kPass, filters.explanation);
  CHECK(test::contains(filters.explanation.c_str(), "16 filters of 3x3"));
  CHECK(filters.measured == 16);
  const Decoded d = decode_png(dir + "/first_layer.png");
  CHECK(d.width == 8 * (48 + 6) + 6);

  Result<graph::Graph> mlp = models::build_model("mlp", 1, 1);
  REQUIRE(mlp.is_ok());
  CHECK(test::contains(check_first_layer(*mlp, "", dir).explanation.c_str(), "64 of 128 units, each's 64 weights as 8x8"));
  models::ModelShape iris_shape;
  iris_shape.inputs = 4;
  iris_shape.outputs = 3;
  Result<graph::Graph> small = models::build_model("mlp", 1, 1, iris_shape);
  REQUIRE(small.is_ok());
  CHECK(test::contains(check_first_layer(*small, "", dir).explanation.c_str(), "the 128x4 matrix"));
  CHECK(check_first_layer(*small, "", "").verdict == Verdict::kSkipped);
}

TEST_CASE("svg charts: a polyline per curve, gaps at non-finite values, a log scale that skips non-positive values") {
  Curve a, b;
  a.name = "training";
  b.name = "a <b>";
  for (int i = 0; i < 10; ++i) {
    a.x.push_back(i), a.y.push_back(10.0 / (i + 1));
    b.x.push_back(i), b.y.push_back(i == 4 ? NAN : 1.0);
  }
  const std::string svg = svg_chart("loss", {a, b}, "step", "loss", true);
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++lines;
  CHECK(lines == 3);  // one for a, two for b (split at the NaN)
  CHECK(svg.find("a &lt;b&gt;") != std::string::npos);  // names are escaped
  CHECK(svg.find("(log scale)") != std::string::npos);
  const std::string empty = svg_chart("nothing", {}, "step", "loss", false);
  CHECK(empty.find("no finite values") != std::string::npos);
  CHECK(base64({'M', 'a', 'n'}) == "TWFu");
  CHECK(base64({'M', 'a'}) == "TWE=");
  CHECK(base64({'M'}) == "TQ==");
}

TEST_CASE("report.html: self-contained, every check id, the charts and the embedded images") {
  // Not under qemu-user, with the report tests that targets/aarch64_suite.sh leaves out: its
  // recipe run took 270 s there, and what it checks is text the native run checks.
  if (test::kEmulated) {
    MESSAGE("emulated: report.html is checked by the native run");
    return;
  }
  Dataset train, validation;
  digit_splits(&train, &validation);
  graph::Graph g = exported("cnn8", models::ModelShape(), 32, "cross_entropy");
  REQUIRE(reshape_samples(&train, make_desc(DType::F32, {8, 8, 1})).is_ok());
  REQUIRE(reshape_samples(&validation, make_desc(DType::F32, {8, 8, 1})).is_ok());
  RecipeOptions options;
  options.skeleton.steps = 40;
  options.skeleton.overfit_steps = 150;
  options.folder = folder("html");
  const Report report = run_recipe(g, train, validation, options);
  REQUIRE(!report.failed());
  const std::string html = report_html(report, options.folder);
  for (const CheckResult& check : report.checks) {
    CHECK_MESSAGE(html.find("id=\"check-" + check.id + "\"") != std::string::npos, check.id);
  }
  CHECK(html.find("Loss per step") != std::string::npos);
  CHECK(html.find("zero-input baseline") != std::string::npos);
  CHECK(html.find("overfit one batch") != std::string::npos);
  CHECK(html.find(">validation<") != std::string::npos);
  CHECK(html.find("Predictions on a fixed batch") != std::string::npos);
  size_t images = 0;
  for (size_t at = html.find("src=\"data:image/png;base64,"); at != std::string::npos; at = html.find("src=\"data:image/png;base64,", at + 1)) {
    ++images;
  }
  CHECK(images == 2);  // input_view.png and first_layer.png
  CHECK(html.find("<table class=\"data\">") != std::string::npos);  // data_stats.csv
  // Nothing is fetched: no external source or link, no script.
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
}

TEST_CASE("regression: the skeleton checks run on diabetes (MSE, bias at the target mean) and catch planted bugs") {
  DataOptions options;
  options.regression = true;
  options.labels_path = test::source_path("data/diabetes_target.csv.gz");
  const Dataset data = load("data/diabetes_data_raw.csv.gz", options);
  REQUIRE(data.rows == 442);
  REQUIRE(data.sample_elements() == 10);
  Dataset train, validation;
  REQUIRE(split_dataset(data, 0.2, 0, &train, &validation).is_ok());
  const FeatureScaling scaling = standardize(&train, &validation);
  CHECK(scaling.mean.size() == 10);
  models::ModelShape shape;
  shape.inputs = 10;
  shape.outputs = 1;
  graph::Graph g = exported("mlp", shape, 32, "mse");
  REQUIRE(graph::set_final_bias(&g, prior_bias(train, 0)).is_ok());
  RecipeOptions recipe;
  recipe.init_bias = true;
  const Report report = run_recipe(g, train, validation, recipe);
  for (const CheckResult& check : report.checks) {
    const bool no_labels = check.id == "data.labels" || check.id == "data.balance";
    const bool no_folder = check.id == "skeleton.input_view" || check.id == "train.first_layer";
    CHECK_MESSAGE(check.verdict == (no_labels || no_folder ? Verdict::kSkipped : Verdict::kPass),
                  check.id << ": " << check.explanation);
  }
  const TrainerFactory make = trainer_factory(g);
  // init_loss expects var(y) + (mean prediction - mean y)^2, which a final layer scaled by 1000
  // misses (its predictions spread far wider than the targets).
  graph::Graph loud = g;
  auto& weight = loud.tensors[static_cast<size_t>(loud.find_tensor("linear_4.weight"))].data;
  for (size_t i = 0; i < weight.size() / 4; ++i) reinterpret_cast<float*>(weight.data())[i] *= 1000.0f;
  const CheckResult init = check_init_loss(trainer_factory(loud), train, 0, recipe.skeleton);
  CHECK(init.verdict == Verdict::kFail);
  CHECK(test::contains(init.explanation.c_str(), "var(y) + (mean prediction - mean y)^2"));
  // Learning rate 0: the model stays at the mean predictor and does not beat it; it memorises nothing.
  SkeletonConfig frozen = recipe.skeleton;
  frozen.train.lr = 0.0f;
  frozen.overfit_lr = 0.0f;
  std::unique_ptr<Trainer> trained;
  CHECK(check_loss_decreases(make, train, frozen, &trained).verdict == Verdict::kFail);
  const CheckResult baseline = check_dumb_baseline(trained.get(), train, validation);
  CHECK(baseline.verdict == Verdict::kFail);
  CHECK(test::contains(baseline.explanation.c_str(), "always predicting the training mean"));
  CHECK(check_overfit_batch(make, train, frozen).verdict == Verdict::kFail);
  // Targets shuffled across rows carry no signal.
  Dataset shuffled = train;
  std::reverse(shuffled.targets.begin(), shuffled.targets.end());
  std::swap(shuffled.targets[3], shuffled.targets[100]);
  const CheckResult independent = check_input_independent(make, shuffled, recipe.skeleton);
  CHECK_MESSAGE(independent.verdict == Verdict::kFail, independent.explanation);
}

TEST_CASE("tabular data: a labels CSV beside the features, whitespace-separated rows, errors naming file and line") {
  DataOptions options;
  options.regression = true;
  options.labels_path = test::source_path("data/diabetes_target.csv.gz");
  const Dataset data = load("data/diabetes_data_raw.csv.gz", options);
  CHECK(data.features[0] == 59.0f);  // "59 2 32.1 ..." split at spaces
  CHECK(data.features[2] == doctest::Approx(32.1f));
  CHECK(data.targets[0] == 151.0f);

  const std::string dir = folder("tabular");
  const std::string features = dir + "/x.csv", labels = dir + "/y.csv", wide = dir + "/y2.csv";
  const std::string x = "1 2\n3 4\n5 6\n", y = "0\n1\n", y2 = "0,1\n1,0\n0,0\n";
  REQUIRE(write_file_atomic(features.c_str(), reinterpret_cast<const uint8_t*>(x.data()), x.size()).is_ok());
  REQUIRE(write_file_atomic(labels.c_str(), reinterpret_cast<const uint8_t*>(y.data()), y.size()).is_ok());
  REQUIRE(write_file_atomic(wide.c_str(), reinterpret_cast<const uint8_t*>(y2.data()), y2.size()).is_ok());
  DataOptions classes;
  classes.labels_path = labels;
  Result<Dataset> short_labels = load_dataset(features, classes);
  CHECK(test::contains(short_labels.status().message(), "y.csv has 2 rows of labels"));
  classes.labels_path = wide;
  CHECK(test::contains(load_dataset(features, classes).status().message(), "y2.csv:1: the row has more than 1 column, expected 1 (a labels file has one column)"));

  // Standardisation uses the training split's statistics for both splits; constant features are centred.
  Dataset train, validation;
  train.rows = 2, validation.rows = 1;
  train.sample = validation.sample = make_desc(DType::F32, {2});
  train.features = {1, 5, 3, 5};
  validation.features = {2, 7};
  const FeatureScaling s = standardize(&train, &validation);
  CHECK(s.mean == std::vector<float>{2, 5});
  CHECK(s.std == std::vector<float>{1, 1});
  CHECK(train.features == std::vector<float>{-1, 0, 1, 0});
  CHECK(validation.features == std::vector<float>{0, 2});
}

TEST_CASE("train.prediction_dynamics: the true class's probability of fixed validation rows, every tenth of the run") {
  Dataset train, validation;
  digit_splits(&train, &validation);
  graph::Graph g = exported("mlp", models::ModelShape(), 32, "cross_entropy");
  SkeletonConfig config;
  config.steps = 50;
  CheckResult dynamics;
  const CheckResult decreases = check_loss_decreases(trainer_factory(g), train, config, nullptr, &validation, &dynamics);
  REQUIRE(decreases.verdict == Verdict::kPass);
  REQUIRE(decreases.curves.size() == 2);  // training (every step) and validation (every 5 steps, from step 0)
  CHECK(decreases.curves[0].x.size() == 50);
  CHECK(decreases.curves[1].x == std::vector<double>{0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50});
  REQUIRE(dynamics.id == "train.prediction_dynamics");
  REQUIRE(dynamics.curves.size() == 8);
  const std::string first_label = std::to_string(validation.labels[0]);
  CHECK(dynamics.curves[0].name == "row 1 (label " + first_label + ")");
  double start = 0.0, end = 0.0;
  for (const Curve& curve : dynamics.curves) {
    REQUIRE(curve.y.size() == 11);
    for (double p : curve.y) CHECK((p >= 0.0 && p <= 1.0));
    start += curve.y.front(), end += curve.y.back();
  }
  CHECK(start / 8 < 0.2);  // near 1/10 at initialisation
  CHECK(end / 8 > 0.5);    // learned
}

}  // namespace
}  // namespace preflight
