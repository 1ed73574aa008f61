// GraphBuilder, validation and serialization: builder -> .pfb -> load -> run must equal running
// the in-memory graph directly, for every reference model.
#include "models/models.h"
#include "graph/builder.h"
#include "ops/registry.h"
#include "test_util.h"

namespace preflight {
namespace {

using graph::Graph;
using graph::GraphBuilder;
using graph::Value;

// Runs a Graph's method straight from the IR, one heap buffer per tensor: no file, no memory
// plan, no Session. The independent path the serialized model is compared against.
std::vector<std::vector<float>> interpret(const Graph& g, const std::vector<std::vector<uint8_t>>& inputs) {
  const graph::Method& method = g.methods[0];
  std::vector<std::vector<uint8_t>> buffers(g.tensors.size());
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    buffers[t] = g.tensors[t].data.empty() ? std::vector<uint8_t>(g.tensors[t].desc.num_bytes()) : g.tensors[t].data;
  }
  for (size_t i = 0; i < method.inputs.size(); ++i) buffers[static_cast<size_t>(method.inputs[i])] = inputs[i];
  for (int n : method.nodes) {
    const graph::Node& node = g.nodes[static_cast<size_t>(n)];
    std::vector<TensorView> in, out;
    for (int t : node.inputs) in.push_back(TensorView{g.tensors[static_cast<size_t>(t)].desc, buffers[static_cast<size_t>(t)].data()});
    for (int t : node.outputs) out.push_back(TensorView{g.tensors[static_cast<size_t>(t)].desc, buffers[static_cast<size_t>(t)].data()});
    REQUIRE(find_op(node.op)->forward(node.attrs, in.data(), static_cast<int>(in.size()), out.data()).is_ok());
  }
  std::vector<std::vector<float>> results;
  for (int t : method.outputs) {
    const auto& bytes = buffers[static_cast<size_t>(t)];
    results.emplace_back(reinterpret_cast<const float*>(bytes.data()),
                         reinterpret_cast<const float*>(bytes.data() + bytes.size()));
  }
  return results;
}

std::vector<uint8_t> random_input(const TensorDesc& desc, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> values(static_cast<size_t>(desc.num_elements()));
  for (float& v : values) v = rng.uniform(-1.0f, 1.0f);
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TEST_CASE("reference models: builder -> .pfb -> load -> run equals the in-memory graph") {
  for (const std::string& name : models::model_names()) {
    SUBCASE(name.c_str()) {
      const int64_t batch = name == "mbv2" ? 1 : 3;
      Result<Graph> g = models::build_model(name, batch, /*seed=*/7);
      REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
      const TensorDesc& x = g->tensors[static_cast<size_t>(g->methods[0].inputs[0])].desc;
      std::vector<uint8_t> input = random_input(x, 11);
      const auto expected = interpret(*g, {input});

      test::LoadedModel loaded = test::load_graph(*g);
      Result<Session> session = Session::open(std::move(*loaded.model));
      REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
      const auto actual = test::run_method(*session, "infer", {TensorView{x, input.data()}});
      REQUIRE(actual.size() == 1);
      REQUIRE(actual[0].size() == expected[0].size());
      CHECK(actual[0].size() == static_cast<size_t>(batch * 10));
      // Same kernels, same order: bit-identical.
      CHECK(std::memcmp(actual[0].data(), expected[0].data(), actual[0].size() * sizeof(float)) == 0);
      bool finite = true;
      for (float v : actual[0]) finite = finite && std::isfinite(v);
      CHECK(finite);
    }
  }
}

TEST_CASE("reference models: the same seed gives the same bytes, another seed other weights") {
  Result<Graph> a = models::build_model("mlp", 1, 5), b = models::build_model("mlp", 1, 5), c = models::build_model("mlp", 1, 6);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(c.is_ok());
  const Bytes bytes_a = graph::serialize(*a), bytes_b = graph::serialize(*b), bytes_c = graph::serialize(*c);
  CHECK(bytes_a == bytes_b);
  CHECK(bytes_a != bytes_c);
  CHECK(a->parameter_count() == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
}

TEST_CASE("reference models: an unknown name lists the known ones") {
  Result<Graph> g = models::build_model("resnet", 1, 0);
  REQUIRE_FALSE(g.is_ok());
  CHECK(test::contains(g.status().message(), "unknown model 'resnet' (known: mlp, cnn8, cnn32, mbv2)"));
}

TEST_CASE("builder: Kaiming-uniform bounds as PyTorch's nn.Linear") {
  GraphBuilder b(3);
  Value x = b.input("x", DType::F32, {2, 16});
  b.output(b.linear(x, 8), "y");
  Result<Graph> g = b.finish();
  REQUIRE(g.is_ok());
  const graph::Tensor& weight = g->tensors[static_cast<size_t>(g->find_tensor("linear_0.weight"))];
  const float* w = reinterpret_cast<const float*>(weight.data.data());
  float lo = 1, hi = -1;
  for (int i = 0; i < 8 * 16; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  CHECK(lo >= -0.25f);  // 1 / sqrt(16)
  CHECK(hi <= 0.25f);
  CHECK(hi - lo > 0.3f);  // spread over the range, not constant
}

TEST_CASE("builder: the first error is kept, later calls do nothing, finish() reports it") {
  GraphBuilder b;
  Value x = b.input("x", DType::F32, {2, 3});
  Value y = b.add(x, b.input("z", DType::F32, {4}));  // does not broadcast
  CHECK_FALSE(y.valid());
  b.output(b.relu(y), "out");
  Result<Graph> g = b.finish();
  REQUIRE_FALSE(g.is_ok());
  CHECK(test::contains(g.status().message(), "node 'add_0' (Add): shapes f32[2,3] and f32[4] do not broadcast"));
}

TEST_CASE("builder: a graph with no output is refused") {
  GraphBuilder b;
  b.relu(b.input("x", DType::F32, {2}));
  Result<Graph> g = b.finish();
  REQUIRE_FALSE(g.is_ok());
  CHECK(test::contains(g.status().message(), "no outputs"));
}

TEST_CASE("builder: only the nodes the outputs need are in the method") {
  GraphBuilder b;
  Value x = b.input("x", DType::F32, {2, 4});
  b.sigmoid(x);  // dead
  b.output(b.relu(x), "y");
  Result<Graph> g = b.finish();
  REQUIRE(g.is_ok());
  CHECK(g->methods[0].nodes.size() == 1);
  CHECK(g->nodes[static_cast<size_t>(g->methods[0].nodes[0])].op == OpType::Relu);
}

Graph small_graph() {
  GraphBuilder b;
  Value x = b.input("x", DType::F32, {2, 4});
  b.output(b.relu(b.linear(x, 3)), "y");
  Result<Graph> g = b.finish();
  REQUIRE(g.is_ok());
  return std::move(g).value();
}

TEST_CASE("validate: duplicate and empty names, dangling tensors, cycles") {
  Graph g = small_graph();
  SUBCASE("duplicate tensor name") {
    g.tensors[1].name = "x";
    const Status status = graph::validate(g);
    CHECK(test::contains(status.message(), "tensor 1: the name 'x' is used twice"));
  }
  SUBCASE("empty node name") {
    g.nodes[0].name = "";
    CHECK(test::contains(graph::validate(g).message(), "node 0 has no name"));
  }
  SUBCASE("dangling input: a tensor no step writes") {
    graph::Tensor orphan;
    orphan.name = "orphan";
    orphan.desc = make_desc(DType::F32, {2, 3});
    g.tensors.push_back(orphan);
    g.nodes[1].inputs[0] = static_cast<int>(g.tensors.size()) - 1;
    const Status status = graph::validate(g);
    CHECK_MESSAGE(test::contains(status.message(), "tensor 5 'orphan' is read before any step writes it"), std::string(status.message()));
  }
  SUBCASE("cycle: the order runs a node before the node that feeds it") {
    std::swap(g.methods[0].nodes[0], g.methods[0].nodes[1]);
    CHECK(test::contains(graph::validate(g).message(), "a cycle"));
  }
  SUBCASE("parameter bytes that do not match the shape") {
    g.tensors[1].data.resize(4);
    CHECK(test::contains(graph::validate(g).message(), "tensor 1 'linear_0.weight' holds 4 bytes, its shape needs 48"));
  }
}

TEST_CASE("set_batch re-infers every shape, and fails on a shape tied to the old batch") {
  Result<Graph> g = models::build_model("cnn8", 1, 0);
  REQUIRE(g.is_ok());
  REQUIRE(graph::set_batch(&*g, 5).is_ok());
  CHECK(g->tensors[static_cast<size_t>(g->find_tensor("logits"))].desc == make_desc(DType::F32, {5, 10}));
  CHECK(graph::validate(*g).is_ok());

  GraphBuilder b;
  b.output(b.reshape(b.input("x", DType::F32, {2, 6}), {2, 3, 2}), "y");
  Result<Graph> fixed = b.finish();
  REQUIRE(fixed.is_ok());
  const Status status = graph::set_batch(&*fixed, 3);
  REQUIRE_FALSE(status.is_ok());
  CHECK(test::contains(status.message(), "node 0 (Reshape 'reshape_0'): cannot reshape f32[3,6]"));
}

TEST_CASE("serialize: large weights go to the aligned segment, small ones inline; both load") {
  Result<Graph> g = models::build_model("cnn32", 1, 0);
  REQUIRE(g.is_ok());
  graph::SerializeOptions small_inline;
  small_inline.inline_limit = 1024;
  const Bytes segmented = graph::serialize(*g, small_inline);
  graph::SerializeOptions all_inline;
  all_inline.inline_limit = SIZE_MAX;
  const Bytes inlined = graph::serialize(*g, all_inline);
  Result<Model> a = Model::load_bytes(segmented.data(), segmented.size());
  Result<Model> b = Model::load_bytes(inlined.data(), inlined.size());
  REQUIRE_MESSAGE(a.is_ok(), std::string(a.status().message()));
  REQUIRE_MESSAGE(b.is_ok(), std::string(b.status().message()));
  int in_segment = 0;
  for (size_t t = 0; t < a->tensors().size(); ++t) {
    const TensorInfo& info = a->tensors()[t];
    if (!info.data) continue;
    const auto offset = static_cast<const uint8_t*>(info.data) - a->bytes();
    if (info.desc.num_bytes() > 1024) {
      CHECK(offset % 64 == 0);
      ++in_segment;
    }
    CHECK(std::memcmp(info.data, b->tensors()[t].data, info.desc.num_bytes()) == 0);
  }
  CHECK(in_segment >= 3);
  // Inline buffers are 64-byte aligned in the file too.
  for (const TensorInfo& info : b->tensors()) {
    if (info.data) CHECK((static_cast<const uint8_t*>(info.data) - b->bytes()) % 64 == 0);
  }
}

}  // namespace
}  // namespace preflight
