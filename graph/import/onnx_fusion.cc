// Pattern fusion, found before conversion: GELU as exporters write it before opset 20,
// x * (1 + erf(x / sqrt(2))) * 0.5, imported as one Gelu node; SiLU, Mul(x, Sigmoid(x)) (torch's
// nn.SiLU before opset 24's Swish), as one Silu node (the SIMD backends run it as one eltwise);
// layer norm over the last axis as opset-13 exports write it, mean, Sub, Pow 2, mean, Add eps,
// Sqrt, Div (then a constant scale and bias), as one LayerNormalization.
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
  std::set<std::string> initializers;
  for (const TensorProto& init : g.initializer()) initializers.insert(init.name());
  // A ReduceMean over the last axis only, keeping it (axes as an attribute, or a constant input).
  const auto mean_of_last = [&](const NodeProto& node) {
    if (node.op_type() != "ReduceMean" || attr_int(node, "keepdims", 1) == 0) return false;
    std::vector<int64_t> axes = attr_ints(node, "axes", {});
    if (node.input_size() > 1) {
      const auto axis = scalars.find(node.input(1));
      if (axis == scalars.end()) return false;
      axes = {static_cast<int64_t>(axis->second)};
    }
    return axes.size() == 1 && axes[0] == -1;
  };
  for (int r = 0; r < g.node_size(); ++r) {
    const NodeProto& mean = g.node(r);
    if (!mean_of_last(mean) || fused_parts_.count(r)) continue;
    const std::string& x = mean.input(0);
    const int sub = sole(mean.output(0), "Sub");
    if (sub < 0 || g.node(sub).input(0) != x || g.node(sub).input(1) != mean.output(0)) continue;
    const std::string& centered = g.node(sub).output(0);
    const auto readers = consumers.find(centered);
    if (readers == consumers.end() || readers->second.size() != 2 || outputs.count(centered)) continue;
    int pow = -1, div = -1;
    for (int k : readers->second) (g.node(k).op_type() == "Pow" ? pow : div) = k;
    if (pow < 0 || div < 0 || g.node(div).op_type() != "Div" || g.node(div).input(0) != centered) continue;
    if (g.node(pow).input(0) != centered || !other_is(g.node(pow), centered, 2.0)) continue;
    const int var = sole(g.node(pow).output(0), "ReduceMean");
    if (var < 0 || !mean_of_last(g.node(var))) continue;
    const int add = sole(g.node(var).output(0), "Add");
    if (add < 0 || g.node(add).input_size() != 2) continue;
    const std::string& eps_name = g.node(add).input(0) == g.node(var).output(0) ? g.node(add).input(1) : g.node(add).input(0);
    const auto eps = scalars.find(eps_name);
    if (eps == scalars.end() || !(eps->second > 0.0 && eps->second < 1.0)) continue;
    const int sqrt = sole(g.node(add).output(0), "Sqrt");
    if (sqrt < 0 || sole(g.node(sqrt).output(0), "Div") != div || g.node(div).input(1) != g.node(sqrt).output(0)) continue;
    // Then a scale and a bias, each an initializer, when they follow.
    const auto constant_other = [&](int node, const std::string& value) -> std::string {
      const NodeProto& n = g.node(node);
      if (n.input_size() != 2) return "";
      const std::string& other = n.input(0) == value ? n.input(1) : n.input(0);
      return initializers.count(other) ? other : "";
    };
    int last = div;
    std::string scale, bias;
    const int mul = sole(g.node(div).output(0), "Mul");
    if (mul >= 0 && !(scale = constant_other(mul, g.node(div).output(0))).empty()) {
      last = mul;
      const int shift = sole(g.node(mul).output(0), "Add");
      if (shift >= 0 && !(bias = constant_other(shift, g.node(mul).output(0))).empty()) last = shift;
    }
    NodeProto layer_norm;
    layer_norm.set_op_type("LayerNormalization");
    layer_norm.add_input(x);
    if (!scale.empty()) layer_norm.add_input(scale);
    if (!bias.empty()) layer_norm.add_input(bias);
    layer_norm.add_output(g.node(last).output(0));
    onnx::AttributeProto* epsilon = layer_norm.add_attribute();
    epsilon->set_name("epsilon");
    epsilon->set_type(onnx::AttributeProto::FLOAT);
    epsilon->set_f(static_cast<float>(eps->second));
    std::vector<int> parts = {r, sub, pow, var, add, sqrt, div};
    if (last != div) parts.push_back(mul);  // the scale's Mul; the bias's Add, when taken, is `last`
    for (int part : parts) {
      if (part != last) fused_parts_.insert(part);
    }
    replaced_at_[last] = layer_norm;
  }
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
