// Pattern fusion, found before conversion: GELU as exporters write it before opset 20,
// x * (1 + erf(x / sqrt(2))) * 0.5, imported as one Gelu node; SiLU, Mul(x, Sigmoid(x)) (torch's
// nn.SiLU before opset 24's Swish), as one Silu node (the SIMD backends run it as one eltwise).
#include "graph/import/onnx_importer.h"

#include <cmath>

namespace preflight {
namespace graph {
namespace onnx_import {

void Importer::find_fusions(const onnx::GraphProto& g) {
  std::map<std::string, int> producer;
  std::map<std::string, std::vector<int>> consumers;
  std::map<std::string, double> scalars;  // single-value constants (initializers, Constant nodes)
  const auto scalar_of = [&](const TensorProto& t, const std::string& name) {
    HostTensor value;
    if (read_tensor(t, &value).is_ok() && value.count() == 1) scalars[name] = value.at(0);
  };
  for (const TensorProto& init : g.initializer()) scalar_of(init, init.name());
  std::set<std::string> outputs;
  for (const auto& output : g.output()) outputs.insert(output.name());
  for (int n = 0; n < g.node_size(); ++n) {
    const NodeProto& node = g.node(n);
    for (const std::string& out : node.output()) producer[out] = n;
    for (const std::string& in : node.input()) consumers[in].push_back(n);
    const onnx::AttributeProto* a = nullptr;
    if (node.op_type() == "Constant" && node.output_size() == 1 && attr(node, "value", &a)) scalar_of(a->t(), node.output(0));
  }
  // The one node reading `value` (which no graph output exposes), if it is `op`.
  const auto sole = [&](const std::string& value, const char* op) -> int {
    const auto found = consumers.find(value);
    if (found == consumers.end() || found->second.size() != 1 || outputs.count(value)) return -1;
    return g.node(found->second[0]).op_type() == op ? found->second[0] : -1;
  };
  // The input of binary `node` that is not `other`, as a scalar near `want`.
  const auto other_is = [&](const NodeProto& node, const std::string& other, double want) {
    if (node.input_size() != 2) return false;
    const std::string& candidate = node.input(0) == other ? node.input(1) : node.input(0);
    const auto value = scalars.find(candidate);
    return value != scalars.end() && std::fabs(value->second - want) < 1e-3;
  };
  for (int e = 0; e < g.node_size(); ++e) {
    const NodeProto& erf = g.node(e);
    if (erf.op_type() != "Erf" || erf.input_size() != 1 || !producer.count(erf.input(0))) continue;
    const int div = producer[erf.input(0)];
    const NodeProto& d = g.node(div);
    if (d.op_type() != "Div" || d.input_size() != 2 || sole(erf.input(0), "Erf") != e) continue;
    const std::string x = d.input(0);
    const auto divisor = scalars.find(d.input(1));
    if (divisor == scalars.end() || std::fabs(divisor->second - std::sqrt(2.0)) > 1e-3) continue;
    const int add = sole(erf.output(0), "Add");
    if (add < 0 || !other_is(g.node(add), erf.output(0), 1.0)) continue;
    const int mul = sole(g.node(add).output(0), "Mul");
    if (mul < 0 || g.node(mul).input_size() != 2 ||
        (g.node(mul).input(0) != x && g.node(mul).input(1) != x)) continue;
    const int half = sole(g.node(mul).output(0), "Mul");
    if (half < 0 || !other_is(g.node(half), g.node(mul).output(0), 0.5)) continue;
    fused_parts_.insert({div, e, add, mul});
    fused_at_[half] = {OpType::Gelu, x};
  }
  for (int s = 0; s < g.node_size(); ++s) {
    const NodeProto& sigmoid = g.node(s);
    if (sigmoid.op_type() != "Sigmoid" || sigmoid.input_size() != 1 || sigmoid.output_size() != 1) continue;
    const int mul = sole(sigmoid.output(0), "Mul");
    if (mul < 0 || fused_parts_.count(mul) || fused_at_.count(mul) || g.node(mul).input_size() != 2) continue;
    const NodeProto& m = g.node(mul);
    const std::string& x = sigmoid.input(0);
    if (!((m.input(0) == x && m.input(1) == sigmoid.output(0)) || (m.input(1) == x && m.input(0) == sigmoid.output(0)))) continue;
    fused_parts_.insert(s);
    fused_at_[mul] = {OpType::Silu, x};
  }
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
