// ONNX import: models exported by torch.onnx.export (tests/fixtures/make_onnx_models.py) convert
// and compute what PyTorch computed; dynamic batches just work; bad files get clear errors.
#include <onnx/onnx_pb.h>

#include "graph/import/onnx_import.h"
#include "graph/serialize.h"
#include "test_util.h"

namespace preflight {
namespace {

std::string fixture(const std::string& name) { return test::source_path("tests/fixtures/onnx/" + name); }

// Runs `infer` of `graph` (re-planned for the input's batch) on `x`.
std::vector<float> run_graph(graph::Graph graph, const NpyArray& x) {
  REQUIRE(graph::set_batch(&graph, x.desc.dims[0]).is_ok());
  test::LoadedModel loaded = test::load_graph(graph);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  TensorView input{x.desc, const_cast<uint8_t*>(x.data.data())};
  return test::run_method(*session, "infer", {input})[0];
}

TEST_CASE("onnx: exported MLP, digits CNN, ResNet (BatchNorm, residuals), MobileNetV2 and a LayerNorm MLP match PyTorch to 1e-4") {
  for (const char* name : {"mlp", "cnn8", "resnet", "mbv2", "layernorm"}) {
    INFO(name);
    Result<graph::Graph> graph = graph::import_onnx(fixture(std::string(name) + ".onnx"));
    REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
    const NpyArray x = test::load_fixture("tests/fixtures/onnx/" + std::string(name) + "_x.npy");
    const NpyArray y = test::load_fixture("tests/fixtures/onnx/" + std::string(name) + "_y.npy");
    // The dynamic batch became 1; the inputs keep the file's NCHW layout.
    const graph::Method& infer = graph->methods[static_cast<size_t>(graph->find_method("infer"))];
    const TensorDesc& input = graph->tensors[static_cast<size_t>(infer.inputs[0])].desc;
    CHECK(input.dims[0] == 1);
    CHECK(input.rank == x.desc.rank);
    for (int d = 1; d < input.rank; ++d) CHECK(input.dims[d] == x.desc.dims[d]);
    const std::vector<float> out = run_graph(*graph, x);
    REQUIRE(static_cast<int64_t>(out.size()) == y.desc.num_elements());
    test::check_close(out.data(), reinterpret_cast<const float*>(y.data.data()), y.desc.num_elements(), 1e-4, 1e-5, name);
  }
}

TEST_CASE("onnx: layers map to preflight's ops; weights are parameters, batch-norm statistics buffers") {
  Result<graph::Graph> resnet = graph::import_onnx(fixture("resnet.onnx"));
  REQUIRE(resnet.is_ok());
  int batch_norms = 0, convs = 0, transposes = 0, buffers = 0;
  for (const graph::Node& node : resnet->nodes) {
    batch_norms += node.op == OpType::BatchNorm;
    convs += node.op == OpType::Conv2D;
    transposes += node.op == OpType::Transpose;
  }
  for (const graph::Tensor& tensor : resnet->tensors) buffers += tensor.role == fb::TensorRole::Buffer;
  CHECK(convs == 8);
  CHECK(batch_norms == 8);
  CHECK(buffers == 16);         // running mean and variance of each
  CHECK(transposes == 1);       // NCHW -> NHWC once at the input; global pooling needs none back
  const int weight = resnet->find_tensor("stem.0.weight");
  REQUIRE(weight >= 0);
  CHECK(resnet->tensors[static_cast<size_t>(weight)].role == fb::TensorRole::Parameter);
  CHECK(resnet->tensors[static_cast<size_t>(weight)].desc == make_desc(DType::F32, {16, 3, 3, 3}));  // OHWI
}

TEST_CASE("onnx: GELU, exported as x * (1 + erf(x / sqrt 2)) * 0.5, becomes one Gelu node; LayerNormalization a LayerNorm") {
  Result<graph::Graph> graph = graph::import_onnx(fixture("layernorm.onnx"));
  REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
  std::vector<OpType> ops;
  for (int n : graph->methods[0].nodes) ops.push_back(graph->nodes[static_cast<size_t>(n)].op);
  CHECK(ops == std::vector<OpType>{OpType::Linear, OpType::LayerNorm, OpType::Gelu, OpType::Linear});
}

TEST_CASE("onnx: --nhwc-io takes NHWC inputs with no edge transpose; an explicit input shape fixes the batch") {
  graph::OnnxImportOptions options;
  options.nhwc_io = true;
  REQUIRE(graph::parse_input_shape("x=4,1,8,8", &options).is_ok());
  Result<graph::Graph> graph = graph::import_onnx(fixture("cnn8.onnx"), options);
  REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
  // No transpose at the edge (the one before Flatten keeps the classifier's NCHW weight order).
  const int x_tensor = graph->find_tensor("x");
  for (const graph::Node& node : graph->nodes) CHECK(!(node.op == OpType::Transpose && node.inputs[0] == x_tensor));
  CHECK(graph->tensors[static_cast<size_t>(x_tensor)].desc == make_desc(DType::F32, {4, 8, 8, 1}));
  const NpyArray x = test::load_fixture("tests/fixtures/onnx/cnn8_x.npy");  // [4, 1, 8, 8] with C = 1
  NpyArray nhwc = x;
  nhwc.desc = make_desc(DType::F32, {4, 8, 8, 1});  // the same bytes when C = 1
  const NpyArray y = test::load_fixture("tests/fixtures/onnx/cnn8_y.npy");
  const std::vector<float> out = run_graph(*graph, nhwc);
  test::check_close(out.data(), reinterpret_cast<const float*>(y.data.data()), 40, 1e-4, 1e-5, "cnn8 nhwc");

  graph::OnnxImportOptions bad;
  CHECK(test::contains(graph::parse_input_shape("x=4,0,8", &bad).message(), "'0' is not a positive dimension"));
  CHECK(test::contains(graph::parse_input_shape("4,1,8,8", &bad).message(), "NAME=D0,D1"));
  graph::OnnxImportOptions wrong_rank;
  REQUIRE(graph::parse_input_shape("x=4,64", &wrong_rank).is_ok());
  CHECK(test::contains(graph::import_onnx(fixture("cnn8.onnx"), wrong_rank).status().message(), "--input-shape x has 2 dims, the input has 4"));
}

TEST_CASE("onnx: every unsupported node in one error; a truncated file; missing external data") {
  const Result<graph::Graph> unsupported = graph::import_onnx(fixture("unsupported.onnx"));
  REQUIRE(!unsupported.is_ok());
  const std::string message = unsupported.status().message();
  CHECK(test::contains(message.c_str(), "2 nodes preflight cannot import"));
  CHECK(test::contains(message.c_str(), "(MaxPool, opset 13): ceil_mode=1"));
  CHECK(test::contains(message.c_str(), "(Erf, opset 13): no such op in preflight"));

  Result<Bytes> bytes = graph::read_file(fixture("cnn8.onnx"));
  REQUIRE(bytes.is_ok());
  const Result<graph::Graph> truncated = graph::import_onnx_bytes(bytes->data(), bytes->size() / 2, ".", "half.onnx");
  REQUIRE(!truncated.is_ok());
  CHECK(test::contains(truncated.status().message(), "half.onnx: not an ONNX model"));
  CHECK(test::contains(graph::import_onnx_bytes(bytes->data(), 0, ".", "empty.onnx").status().message(), "empty"));

  const Result<graph::Graph> external = graph::import_onnx(fixture("external.onnx"));
  REQUIRE(!external.is_ok());
  CHECK(test::contains(external.status().message(), "initializer 'net.0.weight': its external data file"));
  CHECK(test::contains(external.status().message(), "external.bin' is missing"));
  CHECK(test::contains(graph::import_onnx(fixture("nonexistent.onnx")).status().message(), "nonexistent.onnx"));
}

// A one-node model built here: Relu on an input of the given dims ("" for a dynamic dim).
std::string relu_model(const std::vector<std::string>& dims, int opset) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::NodeProto* node = g->add_node();
  node->set_op_type("Relu");
  node->set_name("relu");
  node->add_input("x");
  node->add_output("y");
  for (const char* name : {"x", "y"}) {
    onnx::ValueInfoProto* value = std::string(name) == "x" ? g->add_input() : g->add_output();
    value->set_name(name);
    auto* type = value->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    for (const std::string& d : dims) {
      auto* dim = type->mutable_shape()->add_dim();
      if (d.empty() || !std::isdigit(static_cast<unsigned char>(d[0]))) dim->set_dim_param(d.empty() ? "n" : d);
      else dim->set_dim_value(std::stoll(d));
    }
  }
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  return bytes;
}

TEST_CASE("onnx: a dynamic batch defaults to 1 or the data's; other dynamic dims and old opsets are refused clearly") {
  const std::string ok = relu_model({"batch", "3"}, 13);
  Result<graph::Graph> graph = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), ".", "relu.onnx");
  REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
  CHECK(graph->tensors[static_cast<size_t>(graph->find_tensor("x"))].desc == make_desc(DType::F32, {1, 3}));
  graph::OnnxImportOptions batch;
  batch.default_batch = 16;
  Result<graph::Graph> batched = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), ".", "relu.onnx", batch);
  REQUIRE(batched.is_ok());
  CHECK(batched->tensors[static_cast<size_t>(batched->find_tensor("x"))].desc == make_desc(DType::F32, {16, 3}));

  const std::string dynamic = relu_model({"batch", "width"}, 13);
  const Result<graph::Graph> refused =
      graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(dynamic.data()), dynamic.size(), ".", "dyn.onnx");
  CHECK(test::contains(refused.status().message(), "input 'x' dimension 1 is dynamic ('width'); give its shape: --input-shape x=..."));
  graph::OnnxImportOptions given;
  REQUIRE(graph::parse_input_shape("x=2,5", &given).is_ok());
  Result<graph::Graph> shaped = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(dynamic.data()), dynamic.size(), ".", "dyn.onnx", given);
  REQUIRE(shaped.is_ok());
  CHECK(shaped->tensors[static_cast<size_t>(shaped->find_tensor("x"))].desc == make_desc(DType::F32, {2, 5}));

  const std::string old = relu_model({"1", "3"}, 9);
  CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(old.data()), old.size(), ".", "old.onnx").status().message(),
                       "ONNX opset 9; preflight imports opsets 11 to 18"));
}

TEST_CASE("onnx: --bind fixes an integer shape input; a folded output is stored and copied out") {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(14);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::NodeProto* reshape = g->add_node();
  reshape->set_op_type("Reshape");
  reshape->add_input("x");
  reshape->add_input("shape");
  reshape->add_output("y");
  onnx::NodeProto* shape = g->add_node();
  shape->set_op_type("Shape");
  shape->add_input("y");
  shape->add_output("y_shape");
  const auto add_value = [](onnx::ValueInfoProto* value, const char* name, int type, std::vector<int64_t> dims) {
    value->set_name(name);
    auto* tensor = value->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    for (int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 6});
  add_value(g->add_input(), "shape", onnx::TensorProto::INT64, {2});
  add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {3, 4});
  add_value(g->add_output(), "y_shape", onnx::TensorProto::INT64, {2});
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  CHECK(test::contains(graph::import_onnx_bytes(data, bytes.size(), ".", "r.onnx").status().message(),
                       "input 'shape' has ONNX type 7"));
  graph::OnnxImportOptions options;
  REQUIRE(graph::parse_bound_input("shape=3,-1", &options).is_ok());
  graph::OnnxImportOptions bad;
  CHECK(test::contains(graph::parse_bound_input("shape=3,x", &bad).message(), "'x' is not an integer"));
  Result<graph::Graph> graph = graph::import_onnx_bytes(data, bytes.size(), ".", "r.onnx", options);
  REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
  const graph::Method& infer = graph->methods[0];
  REQUIRE(infer.inputs.size() == 1);  // "shape" is folded away
  REQUIRE(infer.outputs.size() == 2);
  test::LoadedModel loaded = test::load_graph(*graph);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE(session.is_ok());
  std::vector<float> x(12);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  int64_t y_shape[2] = {0, 0};
  std::vector<float> y(12);
  TensorView in{make_desc(DType::F32, {2, 6}), x.data()};
  TensorView out[2] = {{make_desc(DType::F32, {3, 4}), y.data()}, {make_desc(DType::I64, {2}), y_shape}};
  REQUIRE(session->run("infer", &in, 1, out, 2).is_ok());
  CHECK(y == x);
  CHECK(y_shape[0] == 3);
  CHECK(y_shape[1] == 4);
}

TEST_CASE("test vectors: stored with the model, read back, and refused when their data does not fit") {
  Result<graph::Graph> graph = graph::import_onnx(fixture("mlp.onnx"));
  REQUIRE(graph.is_ok());
  const NpyArray x = test::load_fixture("tests/fixtures/onnx/mlp_x.npy");
  const NpyArray y = test::load_fixture("tests/fixtures/onnx/mlp_y.npy");
  graph::TestVector vector;
  vector.method = "infer";
  vector.rtol = 1e-3f;
  vector.inputs.push_back(graph::TestTensor{"x", x.desc, x.data});
  vector.expected.push_back(graph::TestTensor{"logits", y.desc, y.data});
  graph->test_vectors.push_back(vector);
  {
    test::LoadedModel loaded = test::load_graph(*graph);
    REQUIRE(loaded.model->test_vectors().size() == 1);
    const graph::Graph back = graph::read_graph(*loaded.model);
    REQUIRE(back.test_vectors.size() == 1);
    CHECK(back.test_vectors[0].method == "infer");
    CHECK(back.test_vectors[0].rtol == 1e-3f);
    CHECK(back.test_vectors[0].inputs[0].desc == x.desc);
    CHECK(back.test_vectors[0].inputs[0].data == x.data);
    CHECK(back.test_vectors[0].expected[0].data == y.data);
  }
  // Data of the wrong size, or a method the model lacks: the loader refuses the file.
  graph::Graph short_data = *graph;
  short_data.test_vectors[0].expected[0].data.resize(8);
  Bytes bytes = graph::serialize(short_data);
  Result<Model> refused = Model::load_bytes(bytes.data(), bytes.size());
  REQUIRE(!refused.is_ok());
  CHECK(test::contains(refused.status().message(), "test vector 0 'logits': 8 bytes of data for 160"));
  graph::Graph no_method = *graph;
  no_method.test_vectors[0].method = "train_step";
  const Bytes other = graph::serialize(no_method);
  const Result<Model> unknown = Model::load_bytes(other.data(), other.size());
  REQUIRE(!unknown.is_ok());
  CHECK(test::contains(unknown.status().message(), "test vector 0: no method 'train_step'"));
}

}  // namespace
}  // namespace preflight
