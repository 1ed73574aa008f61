// A structure-aware generator of semantically bad models (docs/reliability.md): from three valid
// models (a ConvNet, and the mlp and cnn8 with their training methods, backward nodes and Adam
// included) it makes one bad model per place and kind of fault: every tensor index of every node
// set to -1 and past the end, every dim of every tensor set to -1, 0, INT32_MAX and to a size whose
// byte count overflows 64 bits, every tensor given a rank above the limit, every axis set out of
// range, every stride, kernel and group count set to 0, a tensor made both input and output of
// each node, each method given a step that names a missing node. Each must be refused with an error that names the place (the node or the
// tensor); the whole suite also runs under ASan + UBSan in CI, so none may touch memory it should
// not.
#include <climits>
#include <functional>
#include <map>
#include <set>

#include "models/models.h"
#include "flatbuffers/idl.h"
#include "graph/builder.h"
#include "graph/json.h"
#include "graph/training.h"
#include "test_util.h"

namespace preflight {

extern const char kModelSchemaText[];

namespace {

using graph::Graph;

std::vector<std::pair<std::string, Graph>> base_models() {
  std::vector<std::pair<std::string, Graph>> bases;
  graph::GraphBuilder b(1);
  graph::ConvOptions options;
  options.padding = 1;
  graph::Value x = b.input("x", DType::F32, {1, 6, 6, 2});
  graph::Value h = b.max_pool2d(b.relu(b.conv2d(x, 3, 3, options)), 2, 2);
  b.output(b.softmax(b.linear(b.flatten(h, 1), 4), -1), "probs");
  Result<Graph> convnet = b.finish();
  REQUIRE(convnet.is_ok());
  bases.emplace_back("convnet", std::move(*convnet));
  // Under qemu-user (targets/aarch64_suite.sh) the ConvNet alone: the cases test logic that does
  // not depend on the architecture, and each costs ten times more there.
  if (test::kEmulated) return bases;
  for (const char* name : {"mlp", "cnn8"}) {
    Result<Graph> g = models::build_model(name, 2, 1);
    REQUIRE(g.is_ok());
    REQUIRE(graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok());
    bases.emplace_back(std::string(name) + " with train_step", std::move(*g));
  }
  return bases;
}

// What a refusal must mention: one of these fragments.
struct Case {
  std::string what;
  Graph graph;
  std::vector<std::string> names_one_of;
};

// The nodes that read or write tensor t: an error about a bad tensor may surface at one of them.
std::vector<std::string> places_of(const Graph& g, int t) {
  std::vector<std::string> places = {"tensor " + std::to_string(t) + " '"};
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const graph::Node& node = g.nodes[n];
    bool touches = false;
    for (int i : node.inputs) touches = touches || i == t;
    for (int o : node.outputs) touches = touches || o == t;
    if (touches) places.push_back("node " + std::to_string(n) + " (");
  }
  return places;
}

std::vector<Case> generate(const std::string& base_name, const Graph& base) {
  std::vector<Case> cases;
  const auto add = [&](const std::string& what, const std::function<void(Graph&)>& mutate, std::vector<std::string> names) {
    Graph g = base;
    mutate(g);
    cases.push_back({base_name + ": " + what, std::move(g), std::move(names)});
  };
  const int tensors = static_cast<int>(base.tensors.size());
  for (size_t n = 0; n < base.nodes.size(); ++n) {
    const std::string node = "node " + std::to_string(n) + " (";
    const graph::Node& original = base.nodes[n];
    for (size_t i = 0; i < original.inputs.size(); ++i) {
      for (int bad : {-1, tensors, INT_MAX}) {
        add(node + "input " + std::to_string(i) + " = " + std::to_string(bad),
            [&](Graph& g) { g.nodes[n].inputs[i] = bad; },
            {"input " + std::to_string(i) + ": index " + std::to_string(bad) + " is out of range"});
      }
    }
    for (size_t o = 0; o < original.outputs.size(); ++o) {
      for (int bad : {-1, tensors}) {
        add(node + "output " + std::to_string(o) + " = " + std::to_string(bad), [&](Graph& g) { g.nodes[n].outputs[o] = bad; },
            {"output " + std::to_string(o) + ": index " + std::to_string(bad) + " is out of range"});
      }
    }
    if (!original.inputs.empty() && !original.outputs.empty()) {
      add(node + "its output 0 is its input 0", [&](Graph& g) { g.nodes[n].outputs[0] = g.nodes[n].inputs[0]; },
          {"is both an input and an output of the node"});
    }
    const OpAttrs& a = original.attrs;
    if (!original.backward && (a.kind == fb::Attrs::AxisAttrs || a.kind == fb::Attrs::NormAttrs)) {
      add(node + "axis 9", [&](Graph& g) {
        g.nodes[n].attrs.axis.axis = 9;
        g.nodes[n].attrs.norm.axis = 9;
      }, {"axis 9 is out of range"});
    }
    if (!original.backward && a.kind == fb::Attrs::Conv2dAttrs) {
      add(node + "stride 0", [&](Graph& g) { g.nodes[n].attrs.conv.stride_h = 0; }, {"stride_h must be >= 1, got 0"});
      add(node + "groups 0", [&](Graph& g) { g.nodes[n].attrs.conv.groups = 0; }, {"groups must be >= 1, got 0"});
      add(node + "dilation 0", [&](Graph& g) { g.nodes[n].attrs.conv.dilation_w = 0; }, {"dilation_w must be >= 1, got 0"});
    }
    if (!original.backward && a.kind == fb::Attrs::Pool2dAttrs) {
      add(node + "stride 0", [&](Graph& g) { g.nodes[n].attrs.pool.stride_w = 0; }, {"stride_w must be >= 1, got 0"});
      add(node + "kernel 0", [&](Graph& g) { g.nodes[n].attrs.pool.kernel_h = 0; }, {"kernel_h must be >= 1, got 0"});
    }
  }
  for (int t = 0; t < tensors; ++t) {
    const TensorDesc& desc = base.tensors[static_cast<size_t>(t)].desc;
    for (int d = 0; d < desc.rank; ++d) {
      const std::string where = "tensor " + std::to_string(t) + " dim " + std::to_string(d);
      add(where + " = -1", [&](Graph& g) { g.tensors[static_cast<size_t>(t)].desc.dims[d] = -1; },
          {"tensor " + std::to_string(t) + " '" });
      for (int64_t bad : {int64_t{0}, int64_t{INT32_MAX}, INT64_MAX / 2}) {
        if (desc.dims[d] == bad) continue;
        add(where + " = " + std::to_string(bad), [&](Graph& g) { g.tensors[static_cast<size_t>(t)].desc.dims[d] = bad; },
            places_of(base, t));
      }
    }
  }
  for (size_t m = 0; m < base.methods.size(); ++m) {
    const std::string method = "method '" + base.methods[m].name + "'";
    for (int bad : {-1, static_cast<int>(base.nodes.size())}) {
      add(method + " step naming node " + std::to_string(bad), [&](Graph& g) { g.methods[m].nodes.push_back(bad); },
          {method + ": step " + std::to_string(base.methods[m].nodes.size()) + ": index " + std::to_string(bad) + " is out of range"});
    }
    // The method's inputs and outputs vectors (what a flipped byte of a length or an index does):
    // emptied, truncated by one, and their first two entries swapped. Every one breaks the method's
    // contract (a method returns something; train_step and eval take features, labels, scalars and
    // return the loss and the predictions) or leaves a step reading a tensor nobody gives it.
    for (int side = 0; side < 2; ++side) {
      const std::vector<int>& list = side ? base.methods[m].outputs : base.methods[m].inputs;
      const std::string what = method + (side ? " outputs" : " inputs");
      const auto vector_of = [side, m](Graph& g) -> std::vector<int>& {
        return side ? g.methods[m].outputs : g.methods[m].inputs;
      };
      add(what + " emptied", [&](Graph& g) { vector_of(g).clear(); }, {method + ": "});
      if (list.size() >= 2) {
        add(what + " truncated", [&](Graph& g) { vector_of(g).pop_back(); }, {method + ": "});
        add(what + " 0 and 1 swapped", [&](Graph& g) { std::swap(vector_of(g)[0], vector_of(g)[1]); }, {method + ": "});
      }
    }
  }
  return cases;
}

// Rank above the limit: a graph cannot hold more than kMaxRank dims, so these are made in the
// model's JSON (parsed against the schema without verification): each tensor gets seven more dims
// (a scalar becomes rank 7).
std::vector<std::pair<std::string, Bytes>> rank_cases(const std::string& base_name, const Graph& base) {
  const Bytes bytes = graph::serialize(base);
  Result<std::string> json = graph::model_to_json(bytes.data(), bytes.size());
  REQUIRE(json.is_ok());
  const size_t begin = json->find("\"tensors\": [");
  REQUIRE(begin != std::string::npos);
  const size_t end = json->find("\n  \"", begin + 1);  // the next key at the top level
  std::vector<size_t> shapes;
  for (size_t at = json->find("\"shape\": [", begin); at < end; at = json->find("\"shape\": [", at + 1)) shapes.push_back(at);
  // Every tensor has a "shape" (empty for a scalar), in order.
  REQUIRE(shapes.size() == base.tensors.size());
  std::vector<int> shaped(base.tensors.size());
  for (size_t t = 0; t < shaped.size(); ++t) shaped[t] = static_cast<int>(t);
  std::vector<std::pair<std::string, Bytes>> cases;
  for (size_t k = 0; k < shapes.size(); ++k) {
    std::string text = *json;
    text.insert(shapes[k] + std::strlen("\"shape\": ["), " 1, 1, 1, 1, 1, 1, 1,");
    flatbuffers::Parser parser;
    REQUIRE(parser.Parse(kModelSchemaText));
    parser.opts.size_prefixed = true;
    REQUIRE_MESSAGE(parser.ParseJson(text.c_str()), parser.error_);
    const int t = shaped[k];
    cases.emplace_back(base_name + ": tensor " + std::to_string(t) + " of rank " +
                           std::to_string(base.tensors[static_cast<size_t>(t)].desc.rank + 7) + "|tensor " + std::to_string(t) + " '",
                       Bytes(parser.builder_.GetBufferPointer(), parser.builder_.GetBufferPointer() + parser.builder_.GetSize()));
  }
  return cases;
}

Status load_and_open(const Bytes& bytes) {
  Result<Model> model = Model::load_bytes(bytes.data(), bytes.size());
  if (!model.is_ok()) return model.status();
  Result<Session> session = Session::open(std::move(model).value());
  return session.is_ok() ? Status::ok() : session.status();
}

TEST_CASE("bad model generator: every generated fault is refused with an error that names its place") {
  int total = 0;
  std::map<std::string, int> per_base;
  for (const auto& base : base_models()) {
    REQUIRE_MESSAGE(load_and_open(graph::serialize(base.second)).is_ok(), base.first << " must load as it is");
    for (const Case& c : generate(base.first, base.second)) {
      ++total;
      ++per_base[base.first];
      const Status status = load_and_open(graph::serialize(c.graph));
      REQUIRE_MESSAGE(!status.is_ok(), c.what << ": accepted");
      bool named = false;
      for (const std::string& fragment : c.names_one_of) named = named || (!fragment.empty() && test::contains(status.message(), fragment.c_str()));
      CHECK_MESSAGE(named, c.what << ": the error does not name the place: " << std::string(status.message()));
      if (std::getenv("PREFLIGHT_SHOW_CASES")) std::printf("%s -> %s\n", c.what.c_str(), status.message());
    }
    for (const auto& c : rank_cases(base.first, base.second)) {
      ++total;
      ++per_base[base.first];
      const std::string what = c.first.substr(0, c.first.find('|')), place = c.first.substr(c.first.find('|') + 1);
      const Status status = load_and_open(c.second);
      REQUIRE_MESSAGE(!status.is_ok(), what << ": accepted");
      CHECK_MESSAGE(test::contains(status.message(), place.c_str()), what << ": " << std::string(status.message()));
      CHECK_MESSAGE(test::contains(status.message(), "is above the limit 6"), what << ": " << std::string(status.message()));
    }
  }
  MESSAGE(total << " generated bad models refused (convnet " << per_base["convnet"] << ", mlp with train_step "
                << per_base["mlp with train_step"] << ", cnn8 with train_step " << per_base["cnn8 with train_step"] << ")");
  CHECK(total > (test::kEmulated ? 150 : 1500));
}

}  // namespace
}  // namespace preflight
