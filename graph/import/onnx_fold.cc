// Constant folding: ops whose inputs are all constants (the shape arithmetic exporters emit)
// are evaluated during import.
#include "graph/import/onnx_importer.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

namespace preflight {
namespace graph {
namespace onnx_import {

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
    for (int64_t k = 0; k < t.count(); ++k) v[static_cast<size_t>(k)] = static_cast<int64_t>(t.at(k));
    return v;
  };
  const auto same_kind = [](HostTensor* t, const HostTensor& like) {
    t->dtype = like.dtype;
    if (like.dtype == DType::F32) t->f.clear();
    else t->i.clear();
  };
  const auto push = [](HostTensor* t, double v) {
    if (t->dtype == DType::F32) t->f.push_back(static_cast<float>(v));
    else t->i.push_back(static_cast<int64_t>(v));
  };
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    const HostTensor &a = in[0], &b = in[1];
    PF_CHECK(a.count() == b.count() || a.count() == 1 || b.count() == 1, Error::kUnsupported,
             "%s: node '%s' (%s): folds constants of equal size or a scalar, got %s and %s", source_.c_str(), name.c_str(),
             op.c_str(), dims_text(a.dims).c_str(), dims_text(b.dims).c_str());
    const HostTensor& big = a.count() >= b.count() ? a : b;
    out.dims = big.dims;
    out.dtype = a.dtype == DType::F32 || b.dtype == DType::F32 ? DType::F32 : DType::I64;
    for (int64_t k = 0; k < big.count(); ++k) {
      const double x = a.at(a.count() == 1 ? 0 : k), y = b.at(b.count() == 1 ? 0 : k);
      const double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y
                     : out.dtype == DType::I64 ? (y != 0 ? std::floor(x / y) : 0) : x / y;
      push(&out, r);
    }
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
    PF_CHECK(data.dims.size() == 1, Error::kUnsupported, "%s: node '%s' (Slice): folds 1-D constants only", source_.c_str(), name.c_str());
    const int64_t size = data.dims[0];
    int64_t start = ints_of(in[1]).at(0), end = ints_of(in[2]).at(0);
    const int64_t step = in.size() > 4 && !in[4].dims.empty() ? ints_of(in[4]).at(0) : 1;
    PF_CHECK(step == 1, Error::kUnsupported, "%s: node '%s' (Slice): steps other than 1", source_.c_str(), name.c_str());
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = std::max<int64_t>(0, std::min(start, size));
    end = std::max<int64_t>(start, std::min(end, size));
    same_kind(&out, data);
    for (int64_t k = start; k < end; ++k) push(&out, data.at(k));
    out.dims = {end - start};
  } else if (op == "Reshape") {
    out = in[0];
    std::vector<int64_t> shape = ints_of(in[1]);
    int64_t known = 1, infer = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 0 && d < in[0].dims.size()) shape[d] = in[0].dims[d];
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
