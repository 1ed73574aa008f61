// Graph validation: the checks only a host graph needs (names), then the runtime's own loader on
// the serialized graph, so the builder and the device agree on what a valid model is.
#include <set>

#include "graph/serialize.h"
#include "runtime/model.h"

namespace preflight {
namespace graph {
namespace {

Status check_names(const char* what, const std::vector<std::string>& names) {
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    PF_CHECK(!names[i].empty(), Error::kInvalidModel, "%s %zu has no name", what, i);
    PF_CHECK(seen.insert(names[i]).second, Error::kInvalidModel, "%s %zu: the name '%s' is used twice", what, i,
             names[i].c_str());
  }
  return Status::ok();
}

}  // namespace

Status validate(const Graph& graph) {
  std::vector<std::string> names;
  for (const Tensor& t : graph.tensors) names.push_back(t.name);
  PF_RETURN_IF_ERROR(check_names("tensor", names));
  names.clear();
  for (const Node& n : graph.nodes) names.push_back(n.name);
  PF_RETURN_IF_ERROR(check_names("node", names));
  names.clear();
  for (const Method& m : graph.methods) names.push_back(m.name);
  PF_RETURN_IF_ERROR(check_names("method", names));
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    const bool persistent = tensor.role == fb::TensorRole::Parameter || tensor.role == fb::TensorRole::Constant ||
                            tensor.role == fb::TensorRole::OptimizerState || tensor.role == fb::TensorRole::Buffer;
    if (persistent) {
      PF_CHECK(tensor.data.size() == tensor.desc.num_bytes(), Error::kInvalidModel,
               "tensor %zu '%s' holds %zu bytes, its shape needs %zu", t, tensor.name.c_str(), tensor.data.size(),
               tensor.desc.num_bytes());
    }
  }
  const Bytes bytes = serialize(graph);
  const Result<Model> model = Model::load_bytes(bytes.data(), bytes.size());
  return model.is_ok() ? Status::ok() : model.status();
}

}  // namespace graph
}  // namespace preflight
