// Constant folding: ops whose inputs are all constants (the shape arithmetic exporters emit)
// are evaluated during import.
#include "graph/import/onnx_importer.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <set>
#include <string>

namespace preflight {
namespace graph {
namespace onnx_import {

namespace {

// The elementwise ops the evaluator knows, by arity. Results in double; the output is float when
// any input is, else int64 (comparisons and logic: int64 0 or 1, ONNX's bool).
const std::set<std::string>& unary_ops() {
  static const std::set<std::string> ops = {"Sqrt", "Neg", "Abs", "Exp", "Log", "Floor", "Ceil", "Reciprocal", "Not",
                                            "Sign", "Round", "Relu", "Sigmoid", "Tanh", "Erf"};
  return ops;
}
const std::set<std::string>& binary_ops() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater",
                                            "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};
  return ops;
}
const std::set<std::string>& comparison_ops() {
  static const std::set<std::string> ops = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not"};
  return ops;
}

double unary(const std::string& op, double x) {
  if (op == "Sqrt") return std::sqrt(x);
  if (op == "Neg") return -x;
  if (op == "Abs") return std::fabs(x);
  if (op == "Exp") return std::exp(x);
  if (op == "Log") return std::log(x);
  if (op == "Floor") return std::floor(x);
  if (op == "Ceil") return std::ceil(x);
  if (op == "Reciprocal") return 1.0 / x;
  if (op == "Not") return x == 0.0 ? 1.0 : 0.0;
  if (op == "Sign") return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
  if (op == "Round") return std::nearbyint(x);  // half to even, as ONNX
  if (op == "Relu") return x > 0 ? x : 0.0;
  if (op == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (op == "Tanh") return std::tanh(x);
  return std::erf(x);  // Erf
}

double binary(const std::string& op, double x, double y, bool integer, bool fmod) {
  if (op == "Add") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  // Integer division truncates toward zero (C's rule, ONNX Runtime's; onnx's test_div_int32_trunc).
  if (op == "Div") return integer ? (y != 0 ? std::trunc(x / y) : 0) : x / y;
  if (op == "Pow") return std::pow(x, y);
  if (op == "Mod") {
    if (fmod) return std::fmod(x, y);
    return y == 0 ? 0.0 : x - std::floor(x / y) * y;  // the sign of the divisor, as Python's %
  }
  if (op == "Equal") return x == y;
  if (op == "Less") return x < y;
  if (op == "Greater") return x > y;
  if (op == "LessOrEqual") return x <= y;
  if (op == "GreaterOrEqual") return x >= y;
  if (op == "And") return (x != 0) && (y != 0);
  if (op == "Or") return (x != 0) || (y != 0);
  return (x != 0) != (y != 0);  // Xor
}

// Numpy broadcasting of `shapes` into `out`; false when two dims disagree.
bool broadcast(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  out->assign(rank, 1);
  for (const auto& s : shapes) {
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t& o = (*out)[rank - s.size() + d];
      if (s[d] == o || s[d] == 1) continue;
      if (o != 1) return false;
      o = s[d];
    }
  }
  return true;
}

// The element of a tensor of `dims` that output element k of `out_dims` reads under broadcasting.
int64_t broadcast_index(const std::vector<int64_t>& out_dims, int64_t k, const std::vector<int64_t>& dims) {
  int64_t index = 0, stride = 1;
  for (size_t d = out_dims.size(); d-- > 0;) {
    const int64_t coordinate = k % out_dims[d];
    k /= out_dims[d];
    const size_t offset = out_dims.size() - dims.size();
    if (d >= offset) {
      const int64_t extent = dims[d - offset];
      if (extent != 1) index += coordinate * stride;
      stride *= extent;
    }
  }
  return index;
}

// A double as int64 without undefined behaviour: NaN is 0, values beyond the range saturate (a
// file's constants may hold anything).
int64_t to_int64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(v);
}

}  // namespace

bool can_fold(const std::string& op) {
  static const std::set<std::string> others = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "ConstantOfShape",
                                               "Slice", "Reshape", "Identity", "Dropout", "Min", "Max", "Sum", "Mean",
                                               "Where", "Expand", "Range", "Size", "Flatten"};
  return unary_ops().count(op) || binary_ops().count(op) || others.count(op);
}

// Ops on constants (the shape arithmetic exporters emit), evaluated here.
Status Importer::fold(const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  std::vector<HostTensor> in;
  for (int i = 0; i < node.input_size(); ++i) {
    if (node.input(i).empty()) {
      in.emplace_back();
      continue;
    }
    Result<Val*> v = get(node, i);
    if (!v.is_ok()) return v.status();
    PF_CHECK((*v)->is_const, Error::kUnsupported,
             "%s: node '%s' (%s): input '%s' is computed by the model; preflight folds %s only on constants",
             source_.c_str(), name.c_str(), op.c_str(), node.input(i).c_str(), op.c_str());
    in.push_back((*v)->c);
  }
  HostTensor out;
  const auto ints_of = [](const HostTensor& t) {
    std::vector<int64_t> v(static_cast<size_t>(t.count()));
    for (int64_t k = 0; k < t.count(); ++k) v[static_cast<size_t>(k)] = t.int_at(k);
    return v;
  };
  const auto same_kind = [](HostTensor* t, const HostTensor& like) {
    t->dtype = like.dtype;
    if (like.dtype == DType::F32) t->f.clear();
    else t->i.clear();
  };
  const auto push = [](HostTensor* t, double v) {
    if (t->dtype == DType::F32) t->f.push_back(static_cast<float>(v));
    else t->i.push_back(to_int64(v));
  };
  // Elementwise ops broadcast their inputs (numpy's rule); what they make is bounded like any fold.
  const auto broadcast_inputs = [&](size_t first, size_t count, std::vector<int64_t>* dims) -> Status {
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = first; i < first + count; ++i) shapes.push_back(in[i].dims);
    PF_CHECK(broadcast(shapes, dims), Error::kInvalidModel, "%s: node '%s' (%s): inputs %s and %s do not broadcast",
             source_.c_str(), name.c_str(), op.c_str(), dims_text(in[first].dims).c_str(), dims_text(in[first + count - 1].dims).c_str());
    HostTensor probe;
    probe.dims = *dims;
    PF_CHECK(probe.count() >= 0 && probe.count() <= kMaxFoldedElements, Error::kResourceLimit,
             "%s: node '%s' (%s): %s is more than the %lld elements this importer folds", source_.c_str(), name.c_str(),
             op.c_str(), dims_text(*dims).c_str(), static_cast<long long>(kMaxFoldedElements));
    return Status::ok();
  };
  const auto any_float = [&](size_t first, size_t count) {
    for (size_t i = first; i < first + count; ++i) {
      if (in[i].dtype == DType::F32) return true;
    }
    return false;
  };
  // The inputs each op reads: every one it has for the elementwise ops, Min/Max/Sum/Mean, Where,
  // Expand, Range and Size (at least one); before opset 10 Slice's starts and ends are attributes.
  const bool elementwise = unary_ops().count(op) || binary_ops().count(op) || op == "Min" || op == "Max" || op == "Sum" ||
                           op == "Mean" || op == "Where" || op == "Expand" || op == "Range" || op == "Size";
  const int needed = elementwise                                        ? std::max(1, node.input_size())
                     : op == "Gather" || op == "Reshape"                ? 2
                     : op == "Slice"                                    ? (opset_ < 10 ? 1 : 3)
                                                                        : 1;
  PF_CHECK(static_cast<int>(in.size()) >= needed, Error::kInvalidModel, "%s: node '%s' (%s): takes %d inputs, the node has %zu",
           source_.c_str(), name.c_str(), op.c_str(), needed, in.size());
  for (int i = 0; i < needed; ++i) {
    PF_CHECK(!node.input(i).empty(), Error::kInvalidModel,
             "%s: node '%s' (%s): input %d is missing", source_.c_str(), name.c_str(), op.c_str(), i);
  }
  if (unary_ops().count(op)) {
    out.dims = in[0].dims;
    out.dtype = comparison_ops().count(op) ? DType::I64 : in[0].dtype;
    if (op == "Sqrt" || op == "Exp" || op == "Log" || op == "Reciprocal" || op == "Sigmoid" || op == "Tanh" || op == "Erf") {
      out.dtype = DType::F32;
    }
    for (int64_t k = 0; k < in[0].count(); ++k) push(&out, unary(op, in[0].at(k)));
  } else if (binary_ops().count(op)) {
    PF_CHECK(in.size() == 2, Error::kInvalidModel, "%s: node '%s' (%s): takes 2 inputs, got %zu", source_.c_str(), name.c_str(),
             op.c_str(), in.size());
    PF_RETURN_IF_ERROR(broadcast_inputs(0, 2, &out.dims));
    out.dtype = comparison_ops().count(op) ? DType::I64 : (any_float(0, 2) ? DType::F32 : DType::I64);
    const bool integer = !any_float(0, 2), fmod = attr_int(node, "fmod", 0) != 0;  // Div truncates integers
    const int64_t total = out.count();  // from the dims alone, as the values are pushed
    for (int64_t k = 0; k < total; ++k) {
      const double x = in[0].at(broadcast_index(out.dims, k, in[0].dims));
      const double y = in[1].at(broadcast_index(out.dims, k, in[1].dims));
      push(&out, binary(op, x, y, integer, fmod));
    }
  } else if (op == "Min" || op == "Max" || op == "Sum" || op == "Mean") {
    PF_CHECK(!in.empty(), Error::kInvalidModel, "%s: node '%s' (%s): no inputs", source_.c_str(), name.c_str(), op.c_str());
    PF_RETURN_IF_ERROR(broadcast_inputs(0, in.size(), &out.dims));
    out.dtype = any_float(0, in.size()) || op == "Mean" ? DType::F32 : DType::I64;
    const int64_t total = out.count();
    for (int64_t k = 0; k < total; ++k) {
      double r = in[0].at(broadcast_index(out.dims, k, in[0].dims));
      for (size_t i = 1; i < in.size(); ++i) {
        const double v = in[i].at(broadcast_index(out.dims, k, in[i].dims));
        r = op == "Min" ? std::min(r, v) : op == "Max" ? std::max(r, v) : r + v;
      }
      push(&out, op == "Mean" ? r / static_cast<double>(in.size()) : r);
    }
  } else if (op == "Where") {
    PF_CHECK(in.size() == 3, Error::kInvalidModel, "%s: node '%s' (Where): takes 3 inputs", source_.c_str(), name.c_str());
    PF_RETURN_IF_ERROR(broadcast_inputs(0, 3, &out.dims));
    out.dtype = any_float(1, 2) ? DType::F32 : DType::I64;
    const int64_t total = out.count();
    for (int64_t k = 0; k < total; ++k) {
      const bool pick = in[0].at(broadcast_index(out.dims, k, in[0].dims)) != 0.0;
      const HostTensor& from = pick ? in[1] : in[2];
      push(&out, from.at(broadcast_index(out.dims, k, from.dims)));
    }
  } else if (op == "Expand") {
    PF_CHECK(in.size() == 2, Error::kInvalidModel, "%s: node '%s' (Expand): takes 2 inputs", source_.c_str(), name.c_str());
    HostTensor target;
    target.dims = ints_of(in[1]);
    for (int64_t d : target.dims) {
      PF_CHECK(d >= 0, Error::kInvalidModel, "%s: node '%s' (Expand): negative dim %lld in the shape", source_.c_str(),
               name.c_str(), static_cast<long long>(d));
    }
    const std::vector<HostTensor> pair = {in[0], target};
    in = pair;
    PF_RETURN_IF_ERROR(broadcast_inputs(0, 2, &out.dims));
    same_kind(&out, in[0]);
    const int64_t total = out.count();
    for (int64_t k = 0; k < total; ++k) push(&out, in[0].at(broadcast_index(out.dims, k, in[0].dims)));
  } else if (op == "Range") {
    PF_CHECK(in.size() == 3 && in[0].count() == 1 && in[1].count() == 1 && in[2].count() == 1, Error::kInvalidModel,
             "%s: node '%s' (Range): takes 3 scalars", source_.c_str(), name.c_str());
    const double start = in[0].at(0), limit = in[1].at(0), delta = in[2].at(0);
    PF_CHECK(delta != 0.0, Error::kInvalidModel, "%s: node '%s' (Range): delta is 0", source_.c_str(), name.c_str());
    const double steps = std::max(0.0, std::ceil((limit - start) / delta));
    PF_CHECK(steps <= static_cast<double>(kMaxFoldedElements), Error::kResourceLimit,
             "%s: node '%s' (Range): %g elements is more than the %lld this importer folds", source_.c_str(), name.c_str(),
             steps, static_cast<long long>(kMaxFoldedElements));
    same_kind(&out, in[0]);
    out.dims = {static_cast<int64_t>(steps)};
    for (int64_t k = 0; k < out.dims[0]; ++k) push(&out, start + static_cast<double>(k) * delta);
  } else if (op == "Size") {
    out.dtype = DType::I64;
    out.i = {in[0].count()};
  } else if (op == "Identity" || op == "Dropout") {
    out = in[0];
  } else if (op == "Flatten") {
    int64_t axis = attr_int(node, "axis", 1);
    const int64_t rank = static_cast<int64_t>(in[0].dims.size());
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", rank + 1, &axis));
    out = in[0];
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in[0].dims[static_cast<size_t>(d)];
    out.dims = {outer, outer ? in[0].count() / outer : 0};
  } else if (op == "Shape") {
    // Handled before fold (needs no constant input).
    return Status::error(Error::kInternal, "Shape reached fold");
  } else if (op == "Gather") {
    const HostTensor &data = in[0], &indices = in[1];
    int64_t axis = attr_int(node, "axis", 0);
    const int64_t rank = static_cast<int64_t>(data.dims.size());
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", rank, &axis));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= data.dims[static_cast<size_t>(d)];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dims[static_cast<size_t>(d)];
    const int64_t extent = data.dims[static_cast<size_t>(axis)];
    same_kind(&out, data);
    out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
    out.dims.insert(out.dims.end(), indices.dims.begin(), indices.dims.end());
    out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
    const std::vector<int64_t> idx = ints_of(indices);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j : idx) {
        if (j < 0) j += extent;
        PF_CHECK(j >= 0 && j < extent, Error::kInvalidModel, "%s: node '%s' (Gather): index out of range", source_.c_str(), name.c_str());
        for (int64_t r = 0; r < inner; ++r) push(&out, data.at((o * extent + j) * inner + r));
      }
    }
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    const HostTensor& data = in[0];
    std::vector<int64_t> axes = opset_ >= 13 ? (in.size() > 1 && !in[1].dims.empty() ? ints_of(in[1]) : std::vector<int64_t>{})
                                              : attr_ints(node, "axes", {});
    out = data;
    out.dims = squeezed_shape(op == "Unsqueeze", data.dims, axes);
  } else if (op == "Concat") {
    int64_t axis = attr_int(node, "axis", 0);
    const int64_t rank = static_cast<int64_t>(in[0].dims.size());
    if (axis < 0) axis += rank;
    PF_CHECK(rank == 1 && axis == 0, Error::kUnsupported, "%s: node '%s' (Concat): folds 1-D constants only", source_.c_str(), name.c_str());
    same_kind(&out, in[0]);
    for (const HostTensor& t : in) {
      for (int64_t k = 0; k < t.count(); ++k) push(&out, t.at(k));
    }
    out.dims = {static_cast<int64_t>(out.dtype == DType::F32 ? out.f.size() : out.i.size())};
  } else if (op == "Cast") {
    const int64_t to = attr_int(node, "to", TensorProto::FLOAT);
    out.dims = in[0].dims;
    out.dtype = to == TensorProto::FLOAT || to == TensorProto::DOUBLE ? DType::F32 : DType::I64;
    for (int64_t k = 0; k < in[0].count(); ++k) push(&out, in[0].at(k));
  } else if (op == "ConstantOfShape") {
    out.dims = ints_of(in[0]);
    // The shape comes from the file: fold it only when it is small (a constant this large is no
    // shape arithmetic, and would be allocated here).
    PF_CHECK(out.count() >= 0 && out.count() <= kMaxFoldedElements, Error::kResourceLimit,
             "%s: node '%s' (ConstantOfShape): %lld elements is more than the %lld this importer folds", source_.c_str(),
             name.c_str(), static_cast<long long>(out.count()), static_cast<long long>(kMaxFoldedElements));
    out.dtype = DType::F32;
    double value = 0.0;
    const onnx::AttributeProto* a = nullptr;
    if (attr(node, "value", &a)) {
      HostTensor v;
      PF_RETURN_IF_ERROR(read_tensor(a->t(), &v));
      out.dtype = v.dtype;
      value = v.count() ? v.at(0) : 0.0;
    }
    for (int64_t k = 0; k < out.count(); ++k) push(&out, value);
  } else if (op == "Slice") {
    const HostTensor& data = in[0];
    // Opset 10 made starts, ends (and axes, steps) inputs; before, they are attributes.
    const bool inputs = opset_ >= 10;
    const auto optional = [&](size_t i) { return in.size() > i && !node.input(static_cast<int>(i)).empty() ? ints_of(in[i]) : std::vector<int64_t>{}; };
    SliceWindow window;
    PF_RETURN_IF_ERROR(slice_window(source_, name, data.dims, inputs ? ints_of(in[1]) : attr_ints(node, "starts", {}),
                                    inputs ? ints_of(in[2]) : attr_ints(node, "ends", {}),
                                    inputs ? optional(3) : attr_ints(node, "axes", {}), inputs ? optional(4) : std::vector<int64_t>{},
                                    &window));
    same_kind(&out, data);
    out.dims = window.count;
    const int64_t total = out.count();
    for (int64_t k = 0; k < total; ++k) {
      int64_t rest = k, at = 0, stride = 1;
      for (size_t d = data.dims.size(); d-- > 0;) {
        at += (window.first[d] + (rest % window.count[d]) * window.step[d]) * stride;
        rest /= window.count[d];
        stride *= data.dims[d];
      }
      push(&out, data.at(at));
    }
  } else if (op == "Reshape") {
    out = in[0];
    std::vector<int64_t> shape = ints_of(in[1]);
    int64_t known = 1, infer = -1;
    const bool allowzero = attr_int(node, "allowzero", 0) != 0;  // then a 0 is a zero-size dim
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 0 && !allowzero && d < in[0].dims.size()) shape[d] = in[0].dims[d];
      if (shape[d] == -1) infer = static_cast<int64_t>(d);
      else known *= shape[d];
    }
    if (infer >= 0) shape[static_cast<size_t>(infer)] = known ? in[0].count() / known : 0;
    out.dims = shape;
  } else {
    return Status::error(Error::kUnsupported, "%s: node '%s' (%s): preflight cannot fold it on constants", source_.c_str(),
                         name.c_str(), op.c_str());
  }
  PF_CHECK(out.count() == static_cast<int64_t>(out.dtype == DType::F32 ? out.f.size() : out.i.size()), Error::kInvalidModel,
           "%s: node '%s' (%s): folding produced %s with the wrong number of values", source_.c_str(), name.c_str(),
           op.c_str(), dims_text(out.dims).c_str());
  Val val;
  val.is_const = true;
  val.c = std::move(out);
  set(node, 0, std::move(val));
  return Status::ok();
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
