// ONNX import: models exported by torch.onnx.export (tests/fixtures/make_onnx_models.py) convert
// and compute what PyTorch computed; dynamic batches just work; bad files get clear errors.
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <functional>

#include "graph/import/onnx_import.h"
#include "graph/serialize.h"
#include "runtime/file_io.h"
#include "test_util.h"

namespace preflight {
namespace {

std::string fixture(const std::string& name) { return test::source_path("tests/fixtures/onnx/" + name); }

// Names `value` (a graph input or output) a tensor of ONNX element type `type` and fixed `dims`.
void add_value(onnx::ValueInfoProto* value, const std::string& name, int type, const std::vector<int64_t>& dims) {
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  for (int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
}

// Runs `infer` of `graph` (re-planned for the input's batch) on `x`, on `backend` (the reference
// when null).
std::vector<float> run_graph(graph::Graph graph, const NpyArray& x, const Backend* backend = nullptr) {
  REQUIRE(graph::set_batch(&graph, x.desc.dims[0]).is_ok());
  test::LoadedModel loaded = test::load_graph(graph);
  SessionOptions options;
  if (backend) options.backend = backend;
  Result<Session> session = Session::open(std::move(*loaded.model), options);
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  TensorView input{x.desc, const_cast<uint8_t*>(x.data.data())};
  return test::run_method(*session, "infer", {input})[0];
}

TEST_CASE("onnx: exported MLP, digits CNN, ResNet (BatchNorm, residuals), MobileNetV2 and a LayerNorm MLP match PyTorch to 1e-4") {
  for (const char* name : {"mlp", "cnn8", "resnet", "mbv2", "layernorm", "reductions", "split"}) {
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

TEST_CASE("onnx: SiLU (Mul of x and Sigmoid(x)) and opset 13's layer-norm chain become one node each; look-alikes stay") {
  const auto count = [](const graph::Graph& g, OpType op) {
    return std::count_if(g.nodes.begin(), g.nodes.end(), [&](const graph::Node& n) { return n.op == op; });
  };
  Result<graph::Graph> split = graph::import_onnx(fixture("split.onnx"));
  REQUIRE(split.is_ok());
  CHECK(count(*split, OpType::Silu) == 1);
  CHECK(count(*split, OpType::Sigmoid) == 0);
  CHECK(count(*split, OpType::Mul) == 0);
  Result<graph::Graph> se = graph::import_onnx(fixture("reductions.onnx"));  // y * sigmoid(mean(y)): not a SiLU
  REQUIRE(se.is_ok());
  CHECK(count(*se, OpType::Silu) == 0);
  CHECK(count(*se, OpType::Sigmoid) == 1);
  // convnext's layer norms at opset 13 (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add):
  // one LayerNorm each (its outputs match ORT in the zoo test); the reductions model's ReduceMean
  // over H and W is no layer norm.
  Result<graph::Graph> convnext = graph::import_onnx(test::source_path("tests/fixtures/zoo/convnext.onnx"));
  REQUIRE(convnext.is_ok());
  CHECK(count(*convnext, OpType::LayerNorm) == 7);  // one per Sqrt of the export (7)
  CHECK(count(*convnext, OpType::ReduceMean) == 0);
  CHECK(count(*convnext, OpType::Sqrt) == 0);
  CHECK(count(*se, OpType::LayerNorm) == 0);
}

// The zoo's architectures, narrow (tests/fixtures/make_zoo_fixtures.py: torchvision's classes as
// torch.onnx.export writes them, ONNX Runtime's outputs), on every host backend of the build.
TEST_CASE("onnx zoo: torchvision's architectures, narrow, convert and match ONNX Runtime to 1e-4 of the output scale") {
  const char* names[] = {"resnet_basic", "resnet_bottleneck", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                         "squeezenet1_1", "shufflenet_v2", "efficientnet_b0", "mnasnet", "regnet_y", "densenet",
                         "googlenet", "convnext"};
  std::vector<const Backend*> backends = {&reference_backend()};
  for (const char* name : {"xnnpack", "onednn", "auto"}) {
    if (const Backend* b = find_backend(name)) backends.push_back(b);
  }
  for (const char* name : names) {
    INFO(name);
    const std::string base = "tests/fixtures/zoo/" + std::string(name);
    Result<graph::Graph> graph = graph::import_onnx(test::source_path(base + ".onnx"));
    REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
    const NpyArray x = test::load_fixture(base + "_x.npy");
    const NpyArray y = test::load_fixture(base + "_ort.npy");
    const float* expected = reinterpret_cast<const float*>(y.data.data());
    double scale = 0.0;
    for (int64_t k = 0; k < y.desc.num_elements(); ++k) scale = std::max(scale, std::fabs(static_cast<double>(expected[k])));
    for (const Backend* backend : backends) {
      INFO(backend->name);
      const std::vector<float> out = run_graph(*graph, x, backend);
      REQUIRE(static_cast<int64_t>(out.size()) == y.desc.num_elements());
      double worst = 0.0;
      for (size_t k = 0; k < out.size(); ++k) worst = std::max(worst, std::fabs(static_cast<double>(out[k]) - expected[k]));
      const std::string what = std::string(name) + " on " + backend->name + ": max |difference| " + std::to_string(worst) +
                               ", output scale " + std::to_string(scale);
      CHECK_MESSAGE(worst <= 1e-4 * scale, what);
    }
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
  CHECK(test::contains(message.c_str(), "2 nodes of 2 kinds preflight cannot import"));
  CHECK(test::contains(message.c_str(), "(MaxPool, opset 13): pooling with dilations"));
  CHECK(test::contains(message.c_str(), "(Sin, opset 13): no such op in preflight"));

  Result<Bytes> bytes = graph::read_file(fixture("cnn8.onnx"));
  REQUIRE(bytes.is_ok());
  const Result<graph::Graph> truncated = graph::import_onnx_bytes(bytes->data(), bytes->size() / 2, ".", "half.onnx");
  REQUIRE(!truncated.is_ok());
  CHECK(test::contains(truncated.status().message(), "half.onnx: not an ONNX model"));
  CHECK(test::contains(graph::import_onnx_bytes(bytes->data(), 0, ".", "empty.onnx").status().message(), "empty"));

  const Result<graph::Graph> external = graph::import_onnx(fixture("external.onnx"));
  REQUIRE(!external.is_ok());
  CHECK(test::contains(external.status().message(), "initializer 'net.0.weight': external data 'external.bin'"));
  CHECK(test::contains(external.status().message(), "No such file"));
  CHECK(test::contains(graph::import_onnx(fixture("nonexistent.onnx")).status().message(), "nonexistent.onnx"));
}

// A one-node model built here: Relu (or `op`) on an input of the given dims ("" for a dynamic dim).
std::string relu_model(const std::vector<std::string>& dims, int opset, const char* op = "Relu") {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::NodeProto* node = g->add_node();
  node->set_op_type(op);
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

// A chain of refused nodes, `count` of each kind, on one input: op types preflight lacks, a
// refused attribute value, a foreign domain.
std::string refused_model(int count) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  std::string last = "x";
  int made = 0;
  for (const char* op : {"Tan", "Round", "Mod", "MaxPool", "Equal", "Custom", "Sin", "Cos", "Floor", "Ceil", "Sign", "Acos"}) {
    for (int i = 0; i < count; ++i) {
      onnx::NodeProto* node = g->add_node();
      node->set_op_type(op);
      if (std::string(op) == "Custom") node->set_domain("com.example");
      if (std::string(op) == "MaxPool") {
        for (const auto& [name, value] : {std::make_pair("storage_order", 1), std::make_pair("kernel_shape", 2)}) {
          onnx::AttributeProto* a = node->add_attribute();
          a->set_name(name);
          if (std::string(name) == "storage_order") {
            a->set_type(onnx::AttributeProto::INT);
            a->set_i(value);
          } else {
            a->set_type(onnx::AttributeProto::INTS);
            a->add_ints(value), a->add_ints(value);
          }
        }
      }
      if (i != 1) node->set_name(std::string(op) + "_" + std::to_string(i));  // node 1 of each kind unnamed
      node->add_input(last);
      last = "v" + std::to_string(made++);
      node->add_output(last);
    }
  }
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 2, 8, 8});
  add_value(g->add_output(), last, onnx::TensorProto::FLOAT, {1, 2, 8, 8});
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  return bytes;
}

TEST_CASE("onnx: every refused node is reported, grouped by kind with counts and the first names; the message summarises") {
  for (int count : {1, 2, 5}) {
    CAPTURE(count);
    const std::string bytes = refused_model(count);
    std::vector<graph::UnsupportedNodes> refused;
    graph::OnnxImportOptions options;
    options.unsupported = &refused;
    const Status status =
        graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "chain.onnx", options).status();
    REQUIRE(status.code() == Error::kUnsupported);
    const std::string message = status.message();
    CHECK(test::contains(message.c_str(), ("chain.onnx: " + std::to_string(12 * count) + " nodes of 12 kinds preflight cannot import").c_str()));
    CHECK(test::contains(message.c_str(), "more kinds (the full list follows)"));
    REQUIRE(refused.size() == 12);
    const char* ops[] = {"Tan", "Round", "Mod", "MaxPool", "Equal", "Custom", "Sin", "Cos", "Floor", "Ceil", "Sign", "Acos"};
    for (size_t k = 0; k < refused.size(); ++k) {
      CAPTURE(k);
      CHECK(refused[k].op == ops[k]);
      CHECK(refused[k].count == count);
      CHECK(refused[k].first_nodes.size() == std::min<size_t>(count, 3));
      CHECK(refused[k].first_nodes[0] == std::string(ops[k]) + "_0");
      if (count > 1) CHECK(refused[k].first_nodes[1] == "#" + std::to_string(k * static_cast<size_t>(count) + 1));
      const std::string line = graph::describe(refused[k]);
      if (count == 5) CHECK(test::contains(line.c_str(), "and 2 more"));
    }
    CHECK(refused[3].reason == "storage_order=1");
    CHECK(test::contains(refused[5].reason.c_str(), "domain 'com.example' is not ONNX's"));
    CHECK(test::contains(graph::describe(refused[0]).c_str(), std::string(std::to_string(count) + (count == 1 ? " node" : " nodes") + " (Tan, opset 13): no such op in preflight: 'Tan_0'").c_str()));
  }
}

// A graph of shape arithmetic on ops preflight does not run (Sqrt, Mod, Equal, Where, Expand,
// Range, Max, Pow, Less, Not): every one folds at import, and the results are checked against
// values worked out by hand (numpy's broadcasting, Python's modulo, ONNX's fmod).
TEST_CASE("onnx: every node whose inputs are all constant folds, whatever its op; a constant path never blocks the model") {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  const auto node = [&](const char* op, std::vector<std::string> inputs, const std::string& output) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const std::string& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  };
  const auto constant = [&](const std::string& output, bool is_float, std::vector<int64_t> dims, std::vector<double> values) {
    onnx::NodeProto* n = node("Constant", {}, output);
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    onnx::TensorProto* t = a->mutable_t();
    t->set_data_type(is_float ? onnx::TensorProto::FLOAT : onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (double v : values) is_float ? t->add_float_data(static_cast<float>(v)) : t->add_int64_data(static_cast<int64_t>(v));
  };
  const auto int_attr = [](onnx::NodeProto* n, const char* name, int64_t value) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  };
  // The target shape [2, 3, 4] of x [2, 12], computed the long way round.
  node("Shape", {"x"}, "s");
  constant("zero", false, {}, {0});
  constant("one", false, {}, {1});
  int_attr(node("Gather", {"s", "zero"}, "d0"), "axis", 0);  // 2
  constant("sixteen", true, {}, {16});
  node("Sqrt", {"sixteen"}, "four_f");
  int_attr(node("Cast", {"four_f"}, "four"), "to", onnx::TensorProto::INT64);  // 4
  constant("two", false, {}, {2});
  node("Equal", {"d0", "two"}, "is_two");  // true
  constant("three", false, {}, {3});
  constant("seven", false, {}, {7});
  node("Where", {"is_two", "three", "seven"}, "middle");  // 3
  constant("axes", false, {1}, {0});
  node("Unsqueeze", {"d0", "axes"}, "u0");
  node("Unsqueeze", {"middle", "axes"}, "u1");
  node("Unsqueeze", {"four", "axes"}, "u2");
  int_attr(node("Concat", {"u0", "u1", "u2"}, "shape"), "axis", 0);
  node("Reshape", {"x", "shape"}, "y");
  // Folded outputs, copied out as they are.
  constant("row", false, {1, 2}, {1, 2});
  constant("expand_to", false, {2}, {3, 2});
  node("Expand", {"row", "expand_to"}, "expanded");  // [[1, 2], [1, 2], [1, 2]]
  constant("r0", false, {}, {0});
  constant("r1", false, {}, {10});
  constant("r2", false, {}, {3});
  node("Range", {"r0", "r1", "r2"}, "range");  // [0, 3, 6, 9]
  constant("a", false, {1, 2}, {1, 5});
  constant("b", false, {2, 1}, {3, 2});
  node("Max", {"a", "b"}, "max");  // [[3, 5], [2, 5]]
  constant("minus7", false, {2}, {-7, 7});
  node("Mod", {"minus7", "three"}, "mod");  // Python's: [2, 1]
  constant("minus7f", true, {2}, {-7, 7});
  constant("threef", true, {}, {3});
  int_attr(node("Mod", {"minus7f", "threef"}, "fmod"), "fmod", 1);  // C's: [-1, 1]
  node("Pow", {"threef", "threef"}, "pow");  // 27
  node("Less", {"a", "b"}, "less");  // [[1, 0], [1, 0]]
  node("Not", {"less"}, "not");      // [[0, 1], [0, 1]]
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 12});
  add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {2, 3, 4});
  const std::vector<std::pair<std::string, std::vector<int64_t>>> folded = {
      {"expanded", {3, 2}}, {"range", {4}}, {"max", {2, 2}}, {"mod", {2}}, {"less", {2, 2}}, {"not", {2, 2}}};
  for (const auto& [name, dims] : folded) add_value(g->add_output(), name, onnx::TensorProto::INT64, dims);
  add_value(g->add_output(), "fmod", onnx::TensorProto::FLOAT, {2});
  add_value(g->add_output(), "pow", onnx::TensorProto::FLOAT, {});
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  Result<graph::Graph> graph = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "f.onnx");
  REQUIRE_MESSAGE(graph.is_ok(), std::string(graph.status().message()));
  const graph::Method& infer = graph->methods[0];
  REQUIRE(infer.outputs.size() == 9);
  for (int n : infer.nodes) CHECK(graph->nodes[static_cast<size_t>(n)].op == OpType::Reshape);  // nothing else runs
  // A folded output is stored as "<name>.value" and copied out by a Reshape (the only nodes).
  const auto values = [&](const std::string& name) {
    const int id = graph->find_tensor(name + ".value");
    REQUIRE_MESSAGE(id >= 0, name);
    const graph::Tensor& t = graph->tensors[static_cast<size_t>(id)];
    REQUIRE_MESSAGE(t.data.size() == t.desc.num_bytes(), t.name << ": " << t.data.size() << " bytes for " << t.desc.num_bytes());
    std::vector<double> v;
    for (int64_t k = 0; k < t.desc.num_elements(); ++k) {
      if (t.desc.dtype == DType::I64) v.push_back(static_cast<double>(reinterpret_cast<const int64_t*>(t.data.data())[k]));
      else v.push_back(reinterpret_cast<const float*>(t.data.data())[k]);
    }
    return v;
  };
  CHECK(graph->tensors[static_cast<size_t>(infer.outputs[0])].desc == make_desc(DType::F32, {2, 3, 4}));
  CHECK(values("expanded") == std::vector<double>{1, 2, 1, 2, 1, 2});
  CHECK(values("range") == std::vector<double>{0, 3, 6, 9});
  CHECK(values("max") == std::vector<double>{3, 5, 2, 5});
  CHECK(values("mod") == std::vector<double>{2, 1});
  CHECK(values("less") == std::vector<double>{1, 0, 1, 0});
  CHECK(values("not") == std::vector<double>{0, 1, 0, 1});
  CHECK(values("fmod") == std::vector<double>{-1, 1});
  CHECK(values("pow") == std::vector<double>{27});

  // An op the evaluator does not know, on constants, is refused saying so; on an activation, as before.
  onnx::ModelProto unknown = model;
  onnx::NodeProto* odd = unknown.mutable_graph()->add_node();
  odd->set_op_type("Det");
  odd->add_input("a");
  odd->add_output("det");
  REQUIRE(unknown.SerializeToString(&bytes));
  const Status refused = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "f.onnx").status();
  CHECK(test::contains(refused.message(), "(Det, opset 13): no such op in preflight, and the import cannot fold it on constants"));
  // A broadcast that does not fit, and a fold too large to make, are errors naming the node.
  onnx::ModelProto bad = model;
  onnx::NodeProto* clash = bad.mutable_graph()->add_node();
  clash->set_op_type("Max");
  clash->set_name("clash");
  clash->add_input("range");
  clash->add_input("expanded");
  clash->add_output("clash_out");
  REQUIRE(bad.SerializeToString(&bytes));
  CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "f.onnx").status().message(),
                       "node 'clash' (Max): inputs [4] and [3,2] do not broadcast"));
  // A fold with fewer inputs than its op reads is refused, not read out of bounds.
  for (const char* op : {"Gather", "Slice", "Reshape", "Where", "Expand", "Range"}) {
    onnx::ModelProto short_of = model;
    onnx::NodeProto* n = short_of.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name("short");
    n->add_input("range");
    n->add_output("short_out");
    REQUIRE(short_of.SerializeToString(&bytes));
    CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "f.onnx").status().message(),
                         (std::string("node 'short' (") + op + "): takes").c_str()));
  }
  onnx::ModelProto huge = model;
  onnx::GraphProto* hg = huge.mutable_graph();
  for (onnx::NodeProto& n : *hg->mutable_node()) {
    if (n.output(0) == "r1") n.mutable_attribute(0)->mutable_t()->set_int64_data(0, int64_t{1} << 40);
  }
  REQUIRE(huge.SerializeToString(&bytes));
  CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "f.onnx").status().message(),
                       "node 'range' (Range)"));
}

TEST_CASE("onnx: opsets 7 to 10: Slice's starts and ends as attributes fold; BatchNormalization spatial=0 is refused") {
  for (const int opset : {7, 9, 10, 13}) {
    CAPTURE(opset);
    onnx::ModelProto model;
    model.set_ir_version(opset < 9 ? 3 : 7);
    model.add_opset_import()->set_version(opset);
    onnx::GraphProto* g = model.mutable_graph();
    // y = Reshape(x, Slice(Shape(x) ++ [-1], 1, 3)): the shape [6, -1] taken from x [2, 6, 2] by a Slice.
    onnx::NodeProto* shape = g->add_node();
    shape->set_op_type("Shape");
    shape->add_input("x");
    shape->add_output("s");
    onnx::TensorProto* tail = g->add_initializer();
    tail->set_name("tail");
    tail->set_data_type(onnx::TensorProto::INT64);
    tail->add_dims(1);
    tail->add_int64_data(-1);
    onnx::NodeProto* concat = g->add_node();
    concat->set_op_type("Concat");
    concat->add_input("s");
    concat->add_input("tail");
    concat->add_output("st");
    onnx::AttributeProto* axis = concat->add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(0);
    onnx::NodeProto* slice = g->add_node();
    slice->set_op_type("Slice");
    slice->add_input("st");
    if (opset < 10) {
      for (const auto& [name, value] : {std::make_pair("starts", 1), std::make_pair("ends", 4)}) {
        onnx::AttributeProto* a = slice->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        a->add_ints(value);
      }
    } else {
      for (const auto& [name, value] : {std::make_pair("starts", 1), std::make_pair("ends", 4)}) {
        onnx::TensorProto* t = g->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::INT64);
        t->add_dims(1);
        t->add_int64_data(value);
        slice->add_input(name);
      }
    }
    slice->add_output("target");  // [6, 2, -1]
    onnx::NodeProto* reshape = g->add_node();
    reshape->set_op_type("Reshape");
    reshape->add_input("x");
    reshape->add_input("target");
    reshape->add_output("y");
    add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 6, 2});
    add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {6, 2, 2});
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    Result<graph::Graph> imported = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "s.onnx");
    REQUIRE_MESSAGE(imported.is_ok(), std::string(imported.status().message()));
    CHECK(imported->tensors[static_cast<size_t>(imported->methods[0].outputs[0])].desc == make_desc(DType::F32, {6, 2, 2}));
  }
  onnx::ModelProto bn;
  bn.set_ir_version(3);
  bn.add_opset_import()->set_version(7);
  onnx::GraphProto* g = bn.mutable_graph();
  onnx::NodeProto* node = g->add_node();
  node->set_op_type("BatchNormalization");
  node->set_name("bn");
  for (const char* input : {"x", "scale", "bias", "mean", "var"}) node->add_input(input);
  node->add_output("y");
  onnx::AttributeProto* spatial = node->add_attribute();
  spatial->set_name("spatial");
  spatial->set_type(onnx::AttributeProto::INT);
  spatial->set_i(0);
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 2, 3, 3});
  add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 2, 3, 3});
  std::string bytes;
  REQUIRE(bn.SerializeToString(&bytes));
  CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "bn.onnx").status().message(),
                       "(BatchNormalization, opset 7): spatial=0"));
}

TEST_CASE("onnx: Reshape with allowzero=1 (torch's dynamo exporter) imports when the shape has no 0, and says why when it has") {
  for (const bool zero : {false, true}) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.add_opset_import()->set_version(14);
    onnx::GraphProto* g = model.mutable_graph();
    onnx::TensorProto* shape = g->add_initializer();
    shape->set_name("shape");
    shape->set_data_type(onnx::TensorProto::INT64);
    shape->add_dims(2);
    shape->add_int64_data(zero ? 0 : 3);
    shape->add_int64_data(-1);
    onnx::NodeProto* reshape = g->add_node();
    reshape->set_op_type("Reshape");
    reshape->set_name("reshape");
    reshape->add_input("x");
    reshape->add_input("shape");
    reshape->add_output("y");
    onnx::AttributeProto* a = reshape->add_attribute();
    a->set_name("allowzero");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
    add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 6});
    add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {3, 4});
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    Result<graph::Graph> g2 = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "r.onnx");
    if (zero) {
      CHECK(test::contains(g2.status().message(), "node 'reshape' (Reshape): allowzero=1 with a 0 in the shape"));
    } else {
      REQUIRE_MESSAGE(g2.is_ok(), std::string(g2.status().message()));
      CHECK(g2->tensors[static_cast<size_t>(g2->methods[0].outputs[0])].desc == make_desc(DType::F32, {3, 4}));
    }
  }
}

TEST_CASE("onnx: HardSwish from opset 14 on, HardSigmoid with its alpha and beta (or ONNX's defaults)") {
  const std::string old = relu_model({"2", "3"}, 13, "HardSwish");
  const Status refused = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(old.data()), old.size(), ".", "m.onnx").status();
  CHECK(test::contains(refused.message(), "(HardSwish, opset 13): HardSwish is an ONNX op from opset 14 on"));
  const std::string swish = relu_model({"2", "3"}, 14, "HardSwish");
  Result<graph::Graph> g = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(swish.data()), swish.size(), ".", "m.onnx");
  REQUIRE_MESSAGE(g.is_ok(), std::string(g.status().message()));
  CHECK(g->nodes.back().op == OpType::HardSwish);
  for (const bool given : {false, true}) {
    onnx::ModelProto model;
    const std::string plain = relu_model({"2", "3"}, 13, "HardSigmoid");
    REQUIRE(model.ParseFromString(plain));
    if (given) {
      for (const auto& [name, value] : {std::make_pair("alpha", 1.0f / 6.0f), std::make_pair("beta", 0.25f)}) {
        onnx::AttributeProto* a = model.mutable_graph()->mutable_node(0)->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(value);
      }
    }
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    Result<graph::Graph> h = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "m.onnx");
    REQUIRE_MESSAGE(h.is_ok(), std::string(h.status().message()));
    const graph::Node& node = h->nodes.back();
    CHECK(node.op == OpType::HardSigmoid);
    CHECK(node.attrs.hard_sigmoid.alpha == (given ? 1.0f / 6.0f : 0.2f));
    CHECK(node.attrs.hard_sigmoid.beta == (given ? 0.25f : 0.5f));
  }
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

  const std::string old = relu_model({"1", "3"}, 6);
  CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(old.data()), old.size(), ".", "old.onnx").status().message(),
                       "ONNX opset 6; preflight imports opsets 7 to 28"));
  const std::string oldest = relu_model({"1", "3"}, 7);
  CHECK(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(oldest.data()), oldest.size(), ".", "old.onnx").is_ok());
  const std::string newer = relu_model({"1", "3"}, 29);
  CHECK(test::contains(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(newer.data()), newer.size(), ".", "new.onnx").status().message(),
                       "ONNX opset 29; preflight imports opsets 7 to 28"));
  const std::string newest = relu_model({"1", "3"}, 28);
  CHECK(graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(newest.data()), newest.size(), ".", "new.onnx").is_ok());
}

// ceil_mode=1 is extra padding at the bottom and right; an average that counts the padding cannot
// count that extra as ONNX does, so it is refused when the last window reaches it.
TEST_CASE("onnx: pooling with ceil_mode rounds the output up; an average counting padding into the extra is refused") {
  for (const char* op : {"MaxPool", "AveragePool"}) {
    for (int count_pad : {0, 1}) {
      CAPTURE(op);
      CAPTURE(count_pad);
      onnx::ModelProto model;
      REQUIRE(model.ParseFromString(relu_model({"1", "2", "5", "5"}, 13, op)));
      onnx::NodeProto* node = model.mutable_graph()->mutable_node(0);
      const auto ints = [&](const char* name, std::initializer_list<int64_t> values) {
        onnx::AttributeProto* a = node->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : values) a->add_ints(v);
      };
      const auto one = [&](const char* name, int64_t value) {
        onnx::AttributeProto* a = node->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(value);
      };
      ints("kernel_shape", {2, 2});
      ints("strides", {2, 2});
      one("ceil_mode", 1);
      if (std::string(op) == "AveragePool") one("count_include_pad", count_pad);
      model.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
      std::string bytes;
      REQUIRE(model.SerializeToString(&bytes));
      const Result<graph::Graph> g = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "ceil.onnx");
      if (std::string(op) == "AveragePool" && count_pad == 1) {
        CHECK(test::contains(g.status().message(), "node 'relu' (AveragePool): ceil_mode=1 with count_include_pad=1"));
        continue;
      }
      REQUIRE_MESSAGE(g.is_ok(), g.status().message());
      const graph::Method& infer = g->methods[static_cast<size_t>(g->find_method("infer"))];
      // 5 rounds up to 3 windows of 2 (the floor gives 2)
      CHECK(g->tensors[static_cast<size_t>(infer.outputs[0])].desc == make_desc(DType::F32, {1, 2, 3, 3}));
    }
  }
}

TEST_CASE("onnx: a Pad of zeros is the identity (densenet's exports); a Pad that pads is refused naming the node") {
  for (int64_t pad : {0, 1}) {
    CAPTURE(pad);
    onnx::ModelProto model;
    REQUIRE(model.ParseFromString(relu_model({"2", "3"}, 13, "Pad")));
    onnx::GraphProto* g = model.mutable_graph();
    g->mutable_node(0)->add_input("pads");
    onnx::TensorProto* pads = g->add_initializer();
    pads->set_name("pads");
    pads->set_data_type(onnx::TensorProto::INT64);
    pads->add_dims(4);
    for (int64_t v : {int64_t{0}, pad, int64_t{0}, int64_t{0}}) pads->add_int64_data(v);
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    Result<graph::Graph> imported = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ".", "pad.onnx");
    if (pad != 0) {
      CHECK(test::contains(imported.status().message(), "pad.onnx: node 'relu' (Pad): pads that are not 0 (preflight has no Pad op yet)"));
      continue;
    }
    REQUIRE_MESSAGE(imported.is_ok(), imported.status().message());
    const std::vector<float> x = {1, -2, 3, -4, 5, -6};
    NpyArray input;
    input.desc = make_desc(DType::F32, {2, 3});
    input.data.resize(x.size() * sizeof(float));
    std::memcpy(input.data.data(), x.data(), input.data.size());
    CHECK(run_graph(*imported, input) == x);
  }
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

// y = x + w, x [1, 4] an input, w [4] an initializer: the base of the structural cases below.
onnx::ModelProto add_model() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  onnx::NodeProto* node = g->add_node();
  node->set_op_type("Add");
  node->set_name("add");
  node->add_input("x");
  node->add_input("w");
  node->add_output("y");
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  for (float v : {1.0f, 2.0f, 3.0f, 4.0f}) w->add_float_data(v);
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 4});
  add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 4});
  return model;
}

Status import_model(const onnx::ModelProto& model, const std::string& folder = ".", const std::string& name = "case.onnx") {
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  Result<graph::Graph> graph = graph::import_onnx_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), folder, name);
  return graph.is_ok() ? Status::ok() : graph.status();
}

// w's 16 bytes in external data at `location` (offset and length as strings; empty: not given).
onnx::ModelProto external_model(const std::string& location, const std::string& offset = "", const std::string& length = "") {
  onnx::ModelProto model = add_model();
  onnx::TensorProto* w = model.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  const auto entry = [w](const char* key, const std::string& value) {
    auto* e = w->add_external_data();
    e->set_key(key);
    e->set_value(value);
  };
  entry("location", location);
  if (!offset.empty()) entry("offset", offset);
  if (!length.empty()) entry("length", length);
  return model;
}

TEST_CASE("onnx: external data is read only from a regular file in the model's folder, never through a link") {
  const std::string folder = std::string(PREFLIGHT_TEST_OUTPUT) + "_external_links", outside = folder + "_outside";
  REQUIRE(std::system(("rm -rf '" + folder + "' '" + outside + "' && mkdir -p '" + folder + "/sub' '" + outside + "'").c_str()) == 0);
  const float weights[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  std::ofstream(folder + "/w.bin", std::ios::binary).write(reinterpret_cast<const char*>(weights), sizeof weights);
  std::ofstream(folder + "/sub/w.bin", std::ios::binary).write(reinterpret_cast<const char*>(weights), sizeof weights);
  std::ofstream(outside + "/secret", std::ios::binary) << "0123456789abcdef";
  REQUIRE(::symlink((outside + "/secret").c_str(), (folder + "/file_link").c_str()) == 0);
  REQUIRE(::symlink("/etc/passwd", (folder + "/passwd").c_str()) == 0);
  REQUIRE(::symlink(outside.c_str(), (folder + "/folder_link").c_str()) == 0);
  REQUIRE(::symlink("/dev/zero", (folder + "/zero").c_str()) == 0);
  REQUIRE(::symlink("w.bin", (folder + "/inside_link").c_str()) == 0);
  REQUIRE(::mkfifo((folder + "/fifo").c_str(), 0600) == 0);
  // The class: links to files (inside and outside), to folders, to devices; FIFOs, folders, escapes.
  struct Case {
    std::string location, expected;
  };
  for (const Case& c : {Case{"file_link", "'file_link' is a symlink"}, Case{"passwd", "'passwd' is a symlink"},
                        Case{"folder_link/secret", "'folder_link' is a symlink"}, Case{"zero", "'zero' is a symlink"},
                        Case{"inside_link", "'inside_link' is a symlink"}, Case{"fifo", "'fifo' is a FIFO"},
                        Case{"sub", "'sub' is a folder"}, Case{"../" + outside.substr(outside.rfind('/') + 1) + "/secret", "is not a file beside the model"},
                        Case{outside + "/secret", "is not a file beside the model"}, Case{"missing.bin", "No such file"}}) {
    const Status status = import_model(external_model(c.location), folder);
    CHECK_MESSAGE(test::contains(status.message(), c.expected.c_str()), c.location << ": " << status.message());
    CHECK(test::contains(status.message(), "initializer 'w'"));
  }
  CHECK(import_model(external_model("w.bin"), folder).is_ok());
  CHECK(import_model(external_model("sub/w.bin", "0", "16"), folder).is_ok());
  // Offsets and lengths: whole numbers inside the file; "the whole file" only when no length is given.
  for (const Case& c : {Case{"-1", "not a whole number >= 0"}, Case{"x", "not a whole number >= 0"},
                        Case{"17", "runs past the end"}, Case{"99999999999999999999", "not a whole number >= 0"}}) {
    const Status status = import_model(external_model("w.bin", "0", c.location), folder);
    CHECK_MESSAGE(test::contains(status.message(), c.expected.c_str()), "length " << c.location << ": " << status.message());
  }
  CHECK(test::contains(import_model(external_model("w.bin", "20"), folder).message(), "offset 20 is beyond the end"));
  CHECK(test::contains(import_model(external_model("w.bin", "-4"), folder).message(), "not a whole number >= 0"));
  CHECK(test::contains(import_model(external_model("w.bin", "8", "8"), folder).message(), "8 bytes of data"));
  // External data over the input budget (a sparse file of 3 GiB behind a tensor that big) is
  // refused before it is read.
  onnx::ModelProto big = external_model("sparse.bin");
  big.mutable_graph()->mutable_initializer(0)->set_dims(0, int64_t{3} << 28);  // 3 GiB of floats
  std::ofstream(folder + "/sparse.bin").close();
  REQUIRE(::truncate((folder + "/sparse.bin").c_str(), int64_t{3} << 30) == 0);
  const Status budget = import_model(big, folder);
  CHECK(budget.code() == Error::kResourceLimit);
  CHECK_MESSAGE(test::contains(budget.message(), "sparse.bin: the external data is above the input limit of 1024 MiB"), budget.message());
  ::unlink((folder + "/sparse.bin").c_str());
}

TEST_CASE("onnx: invalid graphs are refused naming the node and field, not silently imported") {
  struct Case {
    std::string what;
    std::function<void(onnx::ModelProto&)> mutate;
    std::string expected;
  };
  const auto add_node = [](onnx::ModelProto& m, const char* op, const char* out) {
    onnx::NodeProto* n = m.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(std::string(op) + "_" + out);
    n->add_input("x");
    n->add_output(out);
    return n;
  };
  const std::vector<Case> cases = {
      {"two nodes write y", [&](onnx::ModelProto& m) { add_node(m, "Relu", "y"); }, "'y' is defined twice: by node 'add' (Add) and by node 'Relu_y' (Relu)"},
      {"a node writes an input", [&](onnx::ModelProto& m) { add_node(m, "Relu", "x"); }, "'x' is defined twice: by a graph input and by node 'Relu_x' (Relu)"},
      {"duplicate initializers", [](onnx::ModelProto& m) { *m.mutable_graph()->add_initializer() = m.graph().initializer(0); },
       "'w' is defined twice: by an initializer and by an initializer"},
      {"duplicate graph inputs", [](onnx::ModelProto& m) { *m.mutable_graph()->add_input() = m.graph().input(0); }, "graph input 'x' is listed twice"},
      {"an input without a shape", [](onnx::ModelProto& m) { m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape(); },
       "input 'x' has no shape (not even a rank)"},
      {"ir_version 1", [](onnx::ModelProto& m) { m.set_ir_version(1); }, "ONNX IR version 1"},
      {"an int attribute of 2^40", [&](onnx::ModelProto& m) {
         auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
         a->set_name("axis"), a->set_type(onnx::AttributeProto::INT), a->set_i(int64_t{1} << 40);
       }, "node 'add' (Add): attribute axis = 1099511627776 is outside the 32-bit range"},
      {"pads of 2^40", [&](onnx::ModelProto& m) {
         onnx::NodeProto* pool = add_node(m, "MaxPool", "pooled");
         auto* k = pool->add_attribute();
         k->set_name("kernel_shape"), k->set_type(onnx::AttributeProto::INTS), k->add_ints(1), k->add_ints(1);
         auto* a = pool->add_attribute();
         a->set_name("pads"), a->set_type(onnx::AttributeProto::INTS);
         for (int i = 0; i < 4; ++i) a->add_ints(i == 2 ? int64_t{1} << 40 : 0);
       }, "node 'MaxPool_pooled' (MaxPool): attribute pads[2] = 1099511627776 is outside the 32-bit range"},
      {"dilations of 2^62", [&](onnx::ModelProto& m) {
         onnx::NodeProto* pool = add_node(m, "MaxPool", "pooled");
         auto* a = pool->add_attribute();
         a->set_name("dilations"), a->set_type(onnx::AttributeProto::INTS), a->add_ints(int64_t{1} << 62), a->add_ints(1);
       }, "attribute dilations[0] = 4611686018427387904 is outside the 32-bit range"},
      {"Gemm alpha NaN", [&](onnx::ModelProto& m) {
         onnx::NodeProto* gemm = add_node(m, "Gemm", "g");
         auto* a = gemm->add_attribute();
         a->set_name("alpha"), a->set_type(onnx::AttributeProto::FLOAT), a->set_f(std::nanf(""));
       }, "node 'Gemm_g' (Gemm): attribute alpha = nan is not finite"},
      {"Softmax axis -100", [&](onnx::ModelProto& m) {
         onnx::NodeProto* softmax = add_node(m, "Softmax", "p");
         auto* a = softmax->add_attribute();
         a->set_name("axis"), a->set_type(onnx::AttributeProto::INT), a->set_i(-100);
         *m.mutable_graph()->mutable_output(0)->mutable_name() = "p";
       }, "node 'Softmax_p' (Softmax): axis -100 is outside [-2, 2)"},
      {"Transpose perm 7", [&](onnx::ModelProto& m) {
         onnx::NodeProto* t = add_node(m, "Transpose", "t");
         auto* a = t->add_attribute();
         a->set_name("perm"), a->set_type(onnx::AttributeProto::INTS), a->add_ints(7), a->add_ints(0);
         *m.mutable_graph()->mutable_output(0)->mutable_name() = "t";
       }, "node 'Transpose_t' (Transpose): perm entry 7 is outside [-2, 2)"},
  };
  REQUIRE(import_model(add_model()).is_ok());
  for (const Case& c : cases) {
    onnx::ModelProto model = add_model();
    c.mutate(model);
    const Status status = import_model(model);
    CHECK_MESSAGE(!status.is_ok(), c.what << ": accepted");
    CHECK_MESSAGE(test::contains(status.message(), c.expected.c_str()), c.what << ": " << status.message());
  }
}

}  // namespace
}  // namespace preflight
