// Session: arguments are checked against the method's signature with clear errors; run-time data
// errors name the method and node; runs are deterministic; the file and span loaders agree.
#include "models/models.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "test_util.h"

#include <cstdlib>
#include <new>

namespace preflight {
namespace {

Session open_model(const std::string& name, int64_t batch, Bytes* storage) {
  Result<graph::Graph> g = models::build_model(name, batch, 0);
  REQUIRE(g.is_ok());
  *storage = graph::serialize(*g);
  Result<Model> model = Model::load_bytes(storage->data(), storage->size());
  REQUIRE(model.is_ok());
  Result<Session> session = Session::open(std::move(model).value());
  REQUIRE(session.is_ok());
  return std::move(session).value();
}

TEST_CASE("session: wrong arguments get errors that name the argument and both shapes") {
  Bytes storage;
  Session session = open_model("cnn8", 1, &storage);
  std::vector<float> x(64, 0.5f), wrong(128), y(10);
  TensorView input{make_desc(DType::F32, {1, 8, 8, 1}), x.data()};
  TensorView output{make_desc(DType::F32, {1, 10}), y.data()};
  SUBCASE("unknown method") {
    const Status status = session.run("train_step", &input, 1, &output, 1);
    CHECK(status.code() == Error::kNotFound);
    CHECK(test::contains(status.message(), "the model has no method 'train_step'"));
  }
  SUBCASE("wrong input shape") {
    TensorView bad{make_desc(DType::F32, {2, 8, 8, 1}), wrong.data()};
    const Status status = session.run("infer", &bad, 1, &output, 1);
    CHECK(status.code() == Error::kInvalidArgument);
    CHECK(test::contains(status.message(), "method 'infer': input 0 'x': expected f32[1,8,8,1], got f32[2,8,8,1]"));
  }
  SUBCASE("wrong output dtype") {
    TensorView bad{make_desc(DType::I64, {1, 10}), y.data()};
    const Status status = session.run("infer", &input, 1, &bad, 1);
    CHECK(test::contains(status.message(), "output 0 'logits': expected f32[1,10], got i64[1,10]"));
  }
  SUBCASE("wrong argument count") {
    const Status status = session.run("infer", &input, 0, &output, 1);
    CHECK(test::contains(status.message(), "takes 1 inputs and 1 outputs, got 0 and 1"));
  }
  SUBCASE("null data") {
    TensorView bad{input.desc, nullptr};
    CHECK(test::contains(session.run("infer", &bad, 1, &output, 1).message(), "data pointer is null"));
  }
  SUBCASE("a good call still works after bad ones, and twice gives the same bits") {
    REQUIRE(session.run("infer", &input, 1, &output, 1).is_ok());
    const std::vector<float> first = y;
    REQUIRE(session.run("infer", &input, 1, &output, 1).is_ok());
    CHECK(first == y);
  }
}

TEST_CASE("session: a data error inside a kernel names the method, node and row") {
  graph::GraphBuilder b;
  graph::Value logits = b.input("logits", DType::F32, {3, 4});
  graph::Value labels = b.input("labels", DType::I64, {3});
  b.output(b.softmax_cross_entropy(logits, labels), "loss");
  Result<graph::Graph> g = b.finish("loss");
  REQUIRE(g.is_ok());
  test::LoadedModel loaded = test::load_graph(*g);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE(session.is_ok());
  float x[12] = {0}, loss = 0;
  int64_t good[3] = {0, 1, 3}, bad[3] = {0, 4, 1};
  TensorView out{make_desc(DType::F32, {}), &loss};
  TensorView in[2] = {{make_desc(DType::F32, {3, 4}), x}, {make_desc(DType::I64, {3}), good}};
  REQUIRE(session->run("loss", in, 2, &out, 1).is_ok());
  CHECK(loss == doctest::Approx(std::log(4.0)));
  in[1].data = bad;
  const Status status = session->run("loss", in, 2, &out, 1);
  REQUIRE_FALSE(status.is_ok());
  CHECK(test::contains(status.message(),
                       "method 'loss' node 0 (SoftmaxCrossEntropy 'softmax_cross_entropy_0'): label 4 in row 1 is outside [0, 4)"));
}

TEST_CASE("session: loading from a file (mmap) and from a span give the same outputs") {
  Result<graph::Graph> g = models::build_model("cnn32", 1, 3);
  REQUIRE(g.is_ok());
  const Bytes bytes = graph::serialize(*g);
  const std::string path = std::string(PREFLIGHT_TEST_OUTPUT) + "_cnn32.pfb";
  REQUIRE(write_file_atomic(path.c_str(), bytes.data(), bytes.size()).is_ok());
  Result<Model> from_file = Model::load_file(path.c_str());
  REQUIRE_MESSAGE(from_file.is_ok(), std::string(from_file.status().message()));
  Result<Model> from_span = Model::load_bytes(bytes.data(), bytes.size());
  REQUIRE(from_span.is_ok());
  Result<Session> a = Session::open(std::move(from_file).value());
  Result<Session> c = Session::open(std::move(from_span).value());
  REQUIRE(a.is_ok());
  REQUIRE(c.is_ok());
  std::vector<float> x(32 * 32 * 3);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 17.0f;
  const std::vector<TensorView> inputs = {{make_desc(DType::F32, {1, 32, 32, 3}), x.data()}};
  CHECK(test::run_method(*a, "infer", inputs) == test::run_method(*c, "infer", inputs));
}

TEST_CASE("session: caller memory holds the arena and the trained copies; too small or misaligned is refused") {
  Result<graph::Graph> g = models::build_model("cnn8", 4, 3);
  REQUIRE(g.is_ok());
  REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
  const Bytes bytes = graph::serialize(*g);
  Result<Model> first = Model::load_bytes(bytes.data(), bytes.size());
  REQUIRE(first.is_ok());
  Result<Session> owned = Session::open(std::move(first).value());
  REQUIRE(owned.is_ok());
  const size_t needed = owned->memory_bytes();
  CHECK(needed >= owned->arena_bytes());
  alignas(64) static uint8_t memory[1 << 20];
  REQUIRE(needed <= sizeof(memory));
  SessionOptions options;
  options.memory = memory;
  options.memory_bytes = needed;
  Result<Model> second = Model::load_bytes(bytes.data(), bytes.size());
  Result<Session> placed = Session::open(std::move(second).value(), options);
  REQUIRE_MESSAGE(placed.is_ok(), std::string(placed.status().message()));
  // The trained tensors live in the caller's memory, and both sessions compute the same.
  int writable = 0;
  for (size_t t = 0; t < placed->model().tensors().size(); ++t) {
    uint8_t* data = static_cast<uint8_t*>(placed->writable_data(static_cast<int>(t)));
    if (!data) continue;
    ++writable;
    CHECK(data >= memory);
    CHECK(data < memory + needed);
  }
  CHECK(writable > 0);
  std::vector<float> x(4 * 8 * 8, 0.5f);
  const std::vector<TensorView> inputs = {{make_desc(DType::F32, {4, 8, 8, 1}), x.data()}};
  CHECK(test::run_method(*owned, "infer", inputs) == test::run_method(*placed, "infer", inputs));

  options.memory_bytes = needed - 1;
  Result<Model> third = Model::load_bytes(bytes.data(), bytes.size());
  Result<Session> small = Session::open(std::move(third).value(), options);
  REQUIRE_FALSE(small.is_ok());
  CHECK(test::contains(small.status().message(), ("this model needs " + std::to_string(needed)).c_str()));
  options.memory = memory + 8;
  options.memory_bytes = needed;
  Result<Model> fourth = Model::load_bytes(bytes.data(), bytes.size());
  Result<Session> misaligned = Session::open(std::move(fourth).value(), options);
  REQUIRE_FALSE(misaligned.is_ok());
  CHECK(test::contains(misaligned.status().message(), "must be aligned"));
}

TEST_CASE("session: zero-size tensors load, plan and run") {
  graph::GraphBuilder b;
  graph::Value empty = b.constant("empty", make_desc(DType::F32, {0, 3}), {});
  graph::Value x = b.input("x", DType::F32, {2, 3});
  b.output(b.reshape(empty, {3, -1}), "reshaped");
  b.output(b.concat({b.reshape(empty, {0, 3}), x}, 0), "joined");
  Result<graph::Graph> g = b.finish();
  REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
  test::LoadedModel loaded = test::load_graph(*g);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  float in[6] = {1, 2, 3, 4, 5, 6};
  const auto results = test::run_method(*session, "infer", {TensorView{make_desc(DType::F32, {2, 3}), in}});
  CHECK(results[0].empty());
  CHECK(results[1] == std::vector<float>(in, in + 6));
}

TEST_CASE("write_file_atomic: a failed write leaves the old file and no temporary behind") {
  const std::string path = std::string(PREFLIGHT_TEST_OUTPUT) + "_atomic.bin";
  const uint8_t first[3] = {1, 2, 3};
  REQUIRE(write_file_atomic(path.c_str(), first, 3).is_ok());
  const Status status = write_file_atomic("/nonexistent-folder/x.bin", first, 3);
  CHECK(status.code() == Error::kIoError);
  CHECK(test::contains(status.message(), "/nonexistent-folder/x.bin: cannot create a temporary file"));
  Result<Bytes> back = graph::read_file(path);
  REQUIRE(back.is_ok());
  CHECK(*back == Bytes(first, first + 3));
}

}  // namespace
}  // namespace preflight

// ---- the run path allocates nothing: global operator new counts while `counting` is set ----
namespace allocation_counter {
bool counting = false;
size_t allocations = 0;
}  // namespace allocation_counter

// Every unaligned form of new and delete is replaced, so each pair stays malloc/free (the
// sanitizer checks that an allocation is freed by its own family). g++ 12 at -O1 sees the free()
// inside a replaced delete as freeing what new returned: that is the point here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static void* counted_malloc(size_t size) {
  if (allocation_counter::counting) ++allocation_counter::allocations;
  return std::malloc(size ? size : 1);
}
void* operator new(size_t size) {
  void* p = counted_malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace preflight {
namespace {

TEST_CASE("session: run() allocates nothing (all allocation happens in open)") {
  for (const std::string& name : models::model_names()) {
    SUBCASE(name.c_str()) {
      Bytes storage;
      Session session = open_model(name, 1, &storage);
      const MethodInfo& method = session.model().methods()[0];
      const TensorDesc in = session.model().tensors()[static_cast<size_t>(method.inputs[0])].desc;
      const TensorDesc out = session.model().tensors()[static_cast<size_t>(method.outputs[0])].desc;
      std::vector<float> x(static_cast<size_t>(in.num_elements()), 0.25f), y(static_cast<size_t>(out.num_elements()));
      TensorView input{in, x.data()}, output{out, y.data()};
      using namespace allocation_counter;
      allocations = 0;
      counting = true;
      const Status status = session.run("infer", &input, 1, &output, 1);
      const Status failed = session.run("infer", &output, 1, &output, 1);  // the error path too
      counting = false;
      CHECK(status.is_ok());
      CHECK_FALSE(failed.is_ok());
      CHECK(allocations == 0);
    }
  }
  // The counter itself counts: one vector, one allocation.
  allocation_counter::allocations = 0;
  allocation_counter::counting = true;
  std::vector<int> probe(3);
  allocation_counter::counting = false;
  CHECK(allocation_counter::allocations == 1);
}

}  // namespace
}  // namespace preflight
