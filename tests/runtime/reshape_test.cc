// The runtime's reshape (Model::set_batch, Model::batch_for) and the stored test vectors run
// through it (run_test_vectors): the same shapes as graph::set_batch on every reference model
// and its training methods, the same results row for row, errors that name the node or input and
// leave the model as it was.
#include "graph/builder.h"
#include "graph/training.h"
#include "models/models.h"
#include "runtime/test_vectors.h"
#include "test_util.h"

namespace preflight {
namespace {

Model load(const Bytes& bytes, const LoadLimits& limits = LoadLimits()) {
  Result<Model> model = Model::load_bytes(bytes.data(), bytes.size(), limits);
  REQUIRE_MESSAGE(model.is_ok(), std::string(model.status().message()));
  return std::move(model).value();
}

std::vector<TensorDesc> descs_of(const Model& model) {
  std::vector<TensorDesc> descs;
  for (const TensorInfo& t : model.tensors()) descs.push_back(t.desc);
  return descs;
}

TEST_CASE("reshape: Model::set_batch gives every tensor the shape graph::set_batch gives, training methods too") {
  for (const std::string& name : models::model_names()) {
    CAPTURE(name);
    Result<graph::Graph> g = models::build_model(name, 2, 0);
    REQUIRE(g.is_ok());
    REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
    const Bytes bytes = graph::serialize(*g);
    for (int64_t batch : {1, 5, 2}) {
      CAPTURE(batch);
      graph::Graph planned = *g;
      REQUIRE(graph::set_batch(&planned, batch).is_ok());
      const Bytes planned_bytes = graph::serialize(planned);
      const Model want = load(planned_bytes);
      Model model = load(bytes);
      REQUIRE(model.set_batch(batch).is_ok());
      for (size_t t = 0; t < model.tensors().size(); ++t) {
        CAPTURE(model.tensors()[t].name);
        CHECK(model.tensors()[t].desc == want.tensors()[t].desc);
      }
      for (size_t m = 0; m < model.methods().size(); ++m) CHECK(model.batch(static_cast<int>(m)) == batch);
      CHECK(Session::open(std::move(model)).is_ok());
    }
  }
}

TEST_CASE("reshape: a model re-planned for batch 4 computes each row as the batch-1 model does") {
  Result<graph::Graph> g = models::build_model("cnn8", 1, 3);
  REQUIRE(g.is_ok());
  const Bytes bytes = graph::serialize(*g);
  Model four = load(bytes);
  REQUIRE(four.set_batch(4).is_ok());
  Result<Session> batched = Session::open(std::move(four));
  Result<Session> single = Session::open(load(bytes));
  REQUIRE(batched.is_ok());
  REQUIRE(single.is_ok());
  const std::vector<float> x = test::random_floats(4 * 64, 7, 0.0f, 1.0f);
  std::vector<float> y(4 * 10), row(10);
  TensorView in{make_desc(DType::F32, {4, 8, 8, 1}), const_cast<float*>(x.data())};
  TensorView out{make_desc(DType::F32, {4, 10}), y.data()};
  REQUIRE(batched->run("infer", &in, 1, &out, 1).is_ok());
  for (int r = 0; r < 4; ++r) {
    TensorView one{make_desc(DType::F32, {1, 8, 8, 1}), const_cast<float*>(x.data() + r * 64)};
    TensorView one_out{make_desc(DType::F32, {1, 10}), row.data()};
    REQUIRE(single->run("infer", &one, 1, &one_out, 1).is_ok());
    for (int c = 0; c < 10; ++c) CHECK(y[static_cast<size_t>(r * 10 + c)] == row[static_cast<size_t>(c)]);
  }
}

TEST_CASE("reshape: errors name the node or tensor and leave the model unchanged") {
  SUBCASE("a shape tied to the old batch") {
    graph::GraphBuilder b;
    b.output(b.reshape(b.input("x", DType::F32, {2, 6}), {2, 3, 2}), "y");
    Result<graph::Graph> fixed = b.finish();
    REQUIRE(fixed.is_ok());
    const Bytes bytes = graph::serialize(*fixed);
    Model model = load(bytes);
    const std::vector<TensorDesc> before = descs_of(model);
    const Status status = model.set_batch(3);
    REQUIRE_FALSE(status.is_ok());
    CHECK(test::contains(status.message(), "batch 3: method 'infer', node 0 (Reshape 'reshape_0'): cannot reshape f32[3,6]"));
    CHECK(descs_of(model) == before);
  }
  SUBCASE("a batch over max_tensor_elements, and a batch that overflows int64") {
    Result<graph::Graph> g = models::build_model("mlp", 1, 0);
    REQUIRE(g.is_ok());
    const Bytes bytes = graph::serialize(*g);
    LoadLimits limits;
    limits.max_tensor_elements = 1 << 16;
    Model model = load(bytes, limits);
    const std::vector<TensorDesc> before = descs_of(model);
    const Status over = model.set_batch(1025);  // the input alone: 1025 x 64
    CHECK(over.code() == Error::kResourceLimit);
    CHECK(test::contains(over.message(), "batch 1025: input tensor"));
    CHECK(test::contains(over.message(), "max_tensor_elements = 65536"));
    CHECK(model.set_batch(int64_t{1} << 62).code() == Error::kResourceLimit);
    CHECK(descs_of(model) == before);
    CHECK(model.set_batch(2).is_ok());
  }
  SUBCASE("batch below 1") {
    Result<graph::Graph> g = models::build_model("mlp", 1, 0);
    REQUIRE(g.is_ok());
    const Bytes bytes = graph::serialize(*g);
    Model model = load(bytes);
    CHECK(test::contains(model.set_batch(0).message(), "batch must be >= 1, got 0"));
  }
}

TEST_CASE("reshape: batch_for accepts the model's shapes and a new batch, and refuses anything else") {
  graph::GraphBuilder b;
  const graph::Value x = b.input("x", DType::F32, {2, 3});
  const graph::Value w = b.input("w", DType::F32, {3, 4});  // not batched: its dim 0 is not x's
  b.output(b.matmul(x, w), "y");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  const Bytes bytes = graph::serialize(*g);
  const Model model = load(bytes);
  CHECK(model.is_batched_input(0, 0));
  CHECK_FALSE(model.is_batched_input(0, 1));
  const TensorDesc w_desc = make_desc(DType::F32, {3, 4});
  {
    const TensorDesc same[2] = {make_desc(DType::F32, {2, 3}), w_desc};
    Result<int64_t> batch = model.batch_for(0, same, 2);
    REQUIRE(batch.is_ok());
    CHECK(*batch == 2);
  }
  {
    const TensorDesc more[2] = {make_desc(DType::F32, {7, 3}), w_desc};
    Result<int64_t> batch = model.batch_for(0, more, 2);
    REQUIRE(batch.is_ok());
    CHECK(*batch == 7);
  }
  {
    const TensorDesc wide[2] = {make_desc(DType::F32, {7, 4}), w_desc};
    CHECK(test::contains(model.batch_for(0, wide, 2).status().message(),
                         "input 0 'x': the model expects f32[2,3] (any batch), the file holds f32[7,4]"));
    const TensorDesc w_batched[2] = {make_desc(DType::F32, {2, 3}), make_desc(DType::F32, {5, 4})};
    CHECK(test::contains(model.batch_for(0, w_batched, 2).status().message(),
                         "input 1 'w': the model expects f32[3,4], the file holds f32[5,4]"));
    CHECK(test::contains(model.batch_for(0, wide, 1).status().message(), "takes 2 inputs, got 1"));
  }
}

TEST_CASE("reshape: batch_for refuses batched inputs that disagree on the batch") {
  graph::GraphBuilder b;
  b.output(b.add(b.input("a", DType::F32, {2, 3}), b.input("b", DType::F32, {2, 3})), "y");
  Result<graph::Graph> g = b.finish();
  REQUIRE(g.is_ok());
  const Bytes bytes = graph::serialize(*g);
  const Model model = load(bytes);
  const TensorDesc two_batches[2] = {make_desc(DType::F32, {4, 3}), make_desc(DType::F32, {5, 3})};
  CHECK(test::contains(model.batch_for(0, two_batches, 2).status().message(), "input 1 has batch 5, input 0 has batch 4"));
  const TensorDesc one_old[2] = {make_desc(DType::F32, {4, 3}), make_desc(DType::F32, {2, 3})};
  CHECK(test::contains(model.batch_for(0, one_old, 2).status().message(), "input 1 has batch 2, input 0 has batch 4"));
}

// cnn8 with one test vector of `rows` rows, its expected outputs computed by the reference backend
// (then changed by `bias` to plant a wrong one).
Bytes with_test_vector(int64_t rows, float bias) {
  Result<graph::Graph> g = models::build_model("cnn8", rows, 5);
  REQUIRE(g.is_ok());
  const Bytes plain = graph::serialize(*g);
  Result<Session> session = Session::open(load(plain));
  REQUIRE(session.is_ok());
  std::vector<float> x = test::random_floats(rows * 64, 11, 0.0f, 1.0f), y(static_cast<size_t>(rows * 10));
  TensorView in{make_desc(DType::F32, {rows, 8, 8, 1}), x.data()};
  TensorView out{make_desc(DType::F32, {rows, 10}), y.data()};
  REQUIRE(session->run("infer", &in, 1, &out, 1).is_ok());
  y[3] += bias;
  Result<graph::Graph> model = models::build_model("cnn8", 1, 5);  // stored at batch 1: the vector re-plans it
  REQUIRE(model.is_ok());
  graph::TestVector vector;
  vector.method = "infer";
  const uint8_t* xb = reinterpret_cast<const uint8_t*>(x.data());
  const uint8_t* yb = reinterpret_cast<const uint8_t*>(y.data());
  vector.inputs.push_back(graph::TestTensor{"x", in.desc, std::vector<uint8_t>(xb, xb + x.size() * 4)});
  vector.expected.push_back(graph::TestTensor{"logits", out.desc, std::vector<uint8_t>(yb, yb + y.size() * 4)});
  model->test_vectors.push_back(vector);
  return graph::serialize(*model);
}

TEST_CASE("test vectors: run at their own batch, within tolerance, and a planted wrong output is found") {
  const Bytes good = with_test_vector(3, 0.0f);
  Result<std::vector<TestVectorResult>> results = run_test_vectors(load(good), SessionOptions());
  REQUIRE_MESSAGE(results.is_ok(), std::string(results.status().message()));
  REQUIRE(results->size() == 1);
  CHECK((*results)[0].batch == 3);
  REQUIRE((*results)[0].outputs.size() == 1);
  CHECK((*results)[0].outputs[0].name == "logits");
  CHECK((*results)[0].outputs[0].max_abs_error == 0.0);
  CHECK((*results)[0].passed());

  const Bytes bad = with_test_vector(3, 0.5f);
  Result<std::vector<TestVectorResult>> planted = run_test_vectors(load(bad), SessionOptions());
  REQUIRE(planted.is_ok());
  CHECK_FALSE((*planted)[0].passed());
  CHECK((*planted)[0].outputs[0].max_abs_error == doctest::Approx(0.5).epsilon(1e-4));

  Result<graph::Graph> none = models::build_model("cnn8", 1, 5);
  REQUIRE(none.is_ok());
  const Bytes plain = graph::serialize(*none);
  CHECK(test::contains(run_test_vectors(load(plain), SessionOptions()).status().message(), "the model has no test vectors"));
}

}  // namespace
}  // namespace preflight
