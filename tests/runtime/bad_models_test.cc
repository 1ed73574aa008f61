// A corpus of hand-made bad models: each is refused by the loader with its own error, naming the
// place (tensor, node, method) and the expected vs actual value. None may crash (the suite also
// runs under AddressSanitizer and UndefinedBehaviorSanitizer in CI).
#include <climits>
#include <functional>

#include "flatbuffers/idl.h"
#include "graph/builder.h"
#include "graph/json.h"
#include "test_util.h"

namespace preflight {

extern const char kModelSchemaText[];

namespace {

using graph::Graph;

// x[1,6,6,2] -> conv3x3 3 (pad 1) -> relu -> flatten -> linear 4 -> softmax "probs".
// Tensors: 0 x, 1 conv w, 2 conv b, 3 conv out, 4 relu out, 5 flatten out, 6 lin w, 7 lin b,
// 8 linear out, 9 probs. Nodes: 0 conv, 1 relu, 2 flatten, 3 linear, 4 softmax.
Graph base_graph() {
  graph::GraphBuilder b(1);
  graph::ConvOptions options;
  options.padding = 1;
  graph::Value x = b.input("x", DType::F32, {1, 6, 6, 2});
  graph::Value h = b.flatten(b.relu(b.conv2d(x, 3, 3, options)), 1);
  b.output(b.softmax(b.linear(h, 4), -1), "probs");
  Result<Graph> g = b.finish();
  REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
  return std::move(g).value();
}

// Parses schema JSON into .pfb bytes without any verification: the way to write the bad files
// that a Graph cannot express (unknown enum values, a missing buffer, a version from the future).
Bytes unverified_from_json(const std::string& json) {
  flatbuffers::Parser parser;
  REQUIRE(parser.Parse(kModelSchemaText));
  parser.opts.size_prefixed = true;
  REQUIRE_MESSAGE(parser.ParseJson(json.c_str()), parser.error_);
  return Bytes(parser.builder_.GetBufferPointer(), parser.builder_.GetBufferPointer() + parser.builder_.GetSize());
}

std::string base_json() {
  const Bytes bytes = graph::serialize(base_graph());
  Result<std::string> json = graph::model_to_json(bytes.data(), bytes.size());
  REQUIRE(json.is_ok());
  return *json;
}

std::string replace_first(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "pattern not found: " << from);
  return text.replace(at, from.size(), to);
}

Status load_status(const Bytes& bytes, const LoadLimits& limits = LoadLimits()) {
  Result<Model> model = Model::load_bytes(bytes.data(), bytes.size(), limits);
  if (!model.is_ok()) return model.status();
  Result<Session> session = Session::open(std::move(model).value());
  return session.is_ok() ? Status::ok() : session.status();
}

struct BadCase {
  const char* name;
  std::function<Bytes()> make;
  Error code;
  const char* message;  // a part of the expected message that names the place
  LoadLimits limits;
};

Bytes mutated(const std::function<void(Graph&)>& mutate) {
  Graph g = base_graph();
  mutate(g);
  return graph::serialize(g);
}

Bytes json_mutated(const std::string& from, const std::string& to) { return unverified_from_json(replace_first(base_json(), from, to)); }

std::vector<BadCase> bad_cases() {
  const Error invalid = Error::kInvalidModel;
  LoadLimits few_tensors;
  few_tensors.max_tensors = 5;
  LoadLimits small_arena;
  small_arena.max_arena_bytes = 100;
  LoadLimits shallow;
  shallow.max_flatbuffer_depth = 2;
  return {
      {"empty file", [] { return Bytes(); }, invalid, "model is truncated: 0 bytes", {}},
      {"truncated to half", [] { Bytes b = graph::serialize(base_graph()); b.resize(b.size() / 2); return b; },
       invalid, "model is truncated: the size prefix says", {}},
      {"wrong identifier", [] { Bytes b = graph::serialize(base_graph()); std::memcpy(b.data() + 8, "ONNX", 4); return b; },
       invalid, "wrong file identifier: expected 'PFLT', found 'ONNX'", {}},
      {"corrupt root offset", [] { Bytes b = graph::serialize(base_graph()); b[4] = 0xff; b[5] = 0xff; b[6] = 0xff; b[7] = 0x7f; return b; },
       invalid, "FlatBuffers verification failed", {}},
      {"nesting deeper than the limit", [] { return graph::serialize(base_graph()); }, invalid,
       "FlatBuffers verification failed", shallow},
      {"schema version from the future", [] { return json_mutated("\"schema_version\": 1", "\"schema_version\": 99"); },
       invalid, "schema version 99 is not supported (this build reads version 1)", {}},
      {"no methods", [] { return mutated([](Graph& g) { g.methods.clear(); }); }, invalid, "model has no methods", {}},
      {"unknown dtype", [] { return mutated([](Graph& g) { g.tensors[0].desc.dtype = static_cast<DType>(42); }); },
       invalid, "tensor 0 'x': unknown dtype 42", {}},
      {"unknown role", [] { return mutated([](Graph& g) { g.tensors[3].role = static_cast<fb::TensorRole>(77); }); },
       invalid, "tensor 3 'conv2d_0.out': unknown role 77", {}},
      {"negative dim", [] { return mutated([](Graph& g) { g.tensors[3].desc.dims[1] = -6; }); }, invalid,
       "tensor 3 'conv2d_0.out': dim 1 is negative (-6)", {}},
      {"rank above the limit", [] { return json_mutated("\"shape\": [\n        1,\n        6,", "\"shape\": [\n        1, 1, 1, 1, 6,"); },
       invalid, "tensor 0 'x': rank 7 is above the limit 6", {}},
      {"element count overflows", [] { return mutated([](Graph& g) { g.tensors[3].desc.dims[1] = INT64_MAX / 2; }); },
       Error::kResourceLimit, "tensor 3 'conv2d_0.out': element count exceeds the limit max_tensor_elements", {}},
      {"buffer smaller than its shape", [] { return mutated([](Graph& g) { g.tensors[1].data.resize(8); }); }, invalid,
       "tensor 1 'conv2d_0.weight': buffer 0 holds 8 bytes, the shape needs 216", {}},
      {"buffer index out of range", [] { return json_mutated("\"buffer\": 0", "\"buffer\": 99"); }, invalid,
       "tensor 1 'conv2d_0.weight': buffer index 99 is out of range [0, 4)", {}},
      {"parameter without a buffer", [] { return json_mutated(",\n      \"buffer\": 0", ""); }, invalid,
       "tensor 1 'conv2d_0.weight' (Parameter) has no buffer", {}},
      {"activation with a buffer", [] { return json_mutated("\"name\": \"conv2d_0.out\",", "\"name\": \"conv2d_0.out\", \"buffer\": 1,"); },
       invalid, "tensor 3 'conv2d_0.out' (Activation) must not have a buffer", {}},
      {"segment bytes past the end of the file", [] {
         graph::SerializeOptions options;
         options.inline_limit = 64;
         Bytes b = graph::serialize(base_graph(), options);
         b.resize(b.size() - 16);
         return b;
       }, invalid, "run past the end of the file", {}},
      {"unknown op", [] { return mutated([](Graph& g) { g.nodes[1].op = static_cast<OpType>(999); }); }, invalid,
       "node 1 (unknown op 'relu_1'): unknown op 999", {}},
      {"input index out of range", [] { return mutated([](Graph& g) { g.nodes[1].inputs[0] = 99; }); }, invalid,
       "node 1 (Relu 'relu_1'): input 0: index 99 is out of range [0, 10)", {}},
      {"negative output index", [] { return mutated([](Graph& g) { g.nodes[1].outputs[0] = -1; }); }, invalid,
       "node 1 (Relu 'relu_1'): output 0: index -1 is out of range", {}},
      {"wrong arity", [] { return mutated([](Graph& g) { g.nodes[1].inputs.push_back(0); }); }, invalid,
       "node 1 (Relu 'relu_1'): Relu takes 1 to 1 inputs, the node has 2", {}},
      {"tensor both input and output of a node", [] { return mutated([](Graph& g) { g.nodes[1].outputs[0] = 3; }); },
       invalid, "node 1 (Relu 'relu_1'): tensor 3 'conv2d_0.out' is both an input and an output", {}},
      {"node writes a parameter", [] { return mutated([](Graph& g) { g.nodes[1].outputs[0] = 1; }); }, invalid,
       "node 1 (Relu 'relu_1'): output tensor 1 'conv2d_0.weight' has role Parameter", {}},
      {"attributes of another op", [] { return mutated([](Graph& g) { g.nodes[0].attrs.kind = fb::Attrs::Pool2dAttrs; }); },
       invalid, "node 0 (Conv2D 'conv2d_0'): Conv2D reads attributes Conv2dAttrs, the node has Pool2dAttrs", {}},
      {"required attributes missing", [] { return mutated([](Graph& g) { g.nodes[2].attrs.kind = fb::Attrs::NONE; }); },
       invalid, "node 2 (Flatten 'flatten_2'): Flatten needs attributes AxisAttrs, the node has none", {}},
      {"stride 0", [] { return mutated([](Graph& g) { g.nodes[0].attrs.conv.stride_h = 0; }); }, invalid,
       "node 0 (Conv2D 'conv2d_0'): stride_h must be >= 1, got 0", {}},
      {"groups that do not divide the channels", [] { return mutated([](Graph& g) { g.nodes[0].attrs.conv.groups = 2; }); },
       invalid, "node 0 (Conv2D 'conv2d_0'): groups 2 must divide input channels 2 and output channels 3", {}},
      {"softmax axis out of range", [] { return mutated([](Graph& g) { g.nodes[4].attrs.axis.axis = 3; }); }, invalid,
       "node 4 (Softmax 'softmax_4'): axis 3 is out of range for rank 2", {}},
      {"declared shape differs from inference", [] { return mutated([](Graph& g) { g.tensors[4].desc.dims[3] = 5; }); },
       invalid, "node 1 (Relu 'relu_1'): output 0 tensor 4 'relu_1.out' is declared f32[1,6,6,5], shape inference gives f32[1,6,6,3]", {}},
      {"cycle: a step reads what a later step writes", [] {
         return mutated([](Graph& g) { std::swap(g.methods[0].nodes[0], g.methods[0].nodes[1]); });
       }, invalid, "method 'infer': step 0 node 1 (Relu 'relu_1'): input 0 tensor 3 'conv2d_0.out' is read before any step writes it (a cycle", {}},
      {"method step out of range", [] { return mutated([](Graph& g) { g.methods[0].nodes.push_back(50); }); }, invalid,
       "method 'infer': step 5: index 50 is out of range [0, 5)", {}},
      {"node twice in one method", [] { return mutated([](Graph& g) { g.methods[0].nodes.push_back(4); }); }, invalid,
       "method 'infer': step 5: node 4 'softmax_4' appears twice", {}},
      {"method input that is not an Input", [] { return mutated([](Graph& g) { g.methods[0].inputs[0] = 3; }); }, invalid,
       "method 'infer': input 0 tensor 3 'conv2d_0.out' has role Activation, expected Input", {}},
      {"method output never written", [] {
         return mutated([](Graph& g) {
           graph::Tensor ghost;
           ghost.name = "ghost";
           ghost.desc = make_desc(DType::F32, {2});
           g.tensors.push_back(ghost);
           g.methods[0].outputs.push_back(static_cast<int>(g.tensors.size()) - 1);
         });
       }, invalid, "method 'infer': output 1 tensor 10 'ghost' is never written", {}},
      {"two methods with one name", [] { return mutated([](Graph& g) { g.methods.push_back(g.methods[0]); }); }, invalid,
       "methods 0 and 1 are both called 'infer'", {}},
      {"over the tensor limit", [] { return graph::serialize(base_graph()); }, Error::kResourceLimit,
       "tensor count 10 is above the limit max_tensors = 5", few_tensors},
      {"over the arena limit", [] { return graph::serialize(base_graph()); }, Error::kResourceLimit,
       "method 'infer': arena of", small_arena},
  };
}

TEST_CASE("bad models: each is refused with its specific error") {
  const std::vector<BadCase> cases = bad_cases();
  REQUIRE(cases.size() >= 20);
  for (const BadCase& bad : cases) {
    SUBCASE(bad.name) {
      const Bytes bytes = bad.make();
      const Status status = load_status(bytes, bad.limits);
      REQUIRE_FALSE_MESSAGE(status.is_ok(), bad.name << " was accepted");
      CHECK_MESSAGE(status.code() == bad.code, bad.name << ": code " << error_name(status.code()));
      CHECK_MESSAGE(test::contains(status.message(), bad.message),
                    bad.name << "\n  got:      " << status.message() << "\n  expected: " << bad.message);
    }
  }
}

TEST_CASE("bad models: the base model itself loads and runs") {
  CHECK(load_status(graph::serialize(base_graph())).is_ok());
  CHECK(load_status(unverified_from_json(base_json())).is_ok());
}

TEST_CASE("load: a misaligned byte span and a missing file are refused clearly") {
  const Bytes bytes = graph::serialize(base_graph());
  Bytes shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  Result<Model> misaligned = Model::load_bytes(shifted.data() + 1, bytes.size());
  REQUIRE_FALSE(misaligned.is_ok());
  CHECK(misaligned.status().code() == Error::kInvalidArgument);
  CHECK(test::contains(misaligned.status().message(), "16-byte aligned"));

  Result<Model> missing = Model::load_file("/nonexistent/model.pfb");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == Error::kNotFound);
  CHECK(test::contains(missing.status().message(), "/nonexistent/model.pfb: cannot open"));
}

}  // namespace
}  // namespace preflight
